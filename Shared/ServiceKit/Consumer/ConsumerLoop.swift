import ExchangeProtocol
import Foundation
import Logging
import Messaging
import Metrics
import ServiceLifecycle
import Synchronization

/// Runs an `EventProcessor` over its input topics: applies records in order, appends outputs with
/// deterministic event ids, snapshots state with the positions consumed, resumes from the newest
/// snapshot, drops replayed duplicates, and dead-letters records it cannot decode.
///
/// Order of effects per batch: outputs are durable before the positions that produced them are
/// snapshotted or committed, so a crash at any point replays from the last snapshot and re-emits
/// the same ids, which consumers drop. Nothing is skipped.
public final class ConsumerLoop<Processor: EventProcessor>: Service {
    /// What the loop reads and how often it snapshots.
    public struct Configuration: Sendable {
        public var groupID: String
        public var topics: [String]
        public var partitions: PartitionSelection
        /// Names this instance in envelopes' `producer`.
        public var instance: String
        /// Snapshot after this many records applied...
        public var snapshotEveryRecords: Int
        /// ...or this long after the last snapshot, whichever comes first (if anything changed).
        public var snapshotInterval: Duration
        public var maxBatch: Int

        public init(
            groupID: String, topics: [String], partitions: PartitionSelection = .group, instance: String,
            snapshotEveryRecords: Int = 10_000, snapshotInterval: Duration = .seconds(10), maxBatch: Int = 500
        ) {
            self.groupID = groupID
            self.topics = topics
            self.partitions = partitions
            self.instance = instance
            self.snapshotEveryRecords = snapshotEveryRecords
            self.snapshotInterval = snapshotInterval
            self.maxBatch = maxBatch
        }
    }

    let configuration: Configuration
    let eventLog: any EventLog
    let store: SnapshotStore
    let health: HealthState
    let logger: Logger
    let clock: @Sendable () -> Int64
    let effects: SideEffects?
    let prepare: @Sendable (inout Processor) -> Void
    private let progress: LoopProgress

    /// A planner and the sink its effects go to.
    public struct SideEffects: Sendable {
        public var planner: any SideEffectPlanner<Processor>
        public var sink: any SideEffectSink
        public init(planner: any SideEffectPlanner<Processor>, sink: any SideEffectSink) {
            self.planner = planner
            self.sink = sink
        }
    }

    public init(
        configuration: Configuration, eventLog: any EventLog, store: SnapshotStore, health: HealthState,
        logger: Logger, effects: SideEffects? = nil,
        prepare: @escaping @Sendable (inout Processor) -> Void = { _ in },
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.configuration = configuration
        self.eventLog = eventLog
        self.store = store
        self.health = health
        self.logger = logger
        self.effects = effects
        self.prepare = prepare
        self.clock = clock
        self.progress = LoopProgress()
    }

    /// Records applied, duplicates dropped and dead letters, since start (for tests and /health).
    public var counters: LoopProgress.Counters { progress.counters }

    public func run() async throws {
        let healthName = "consumer.\(configuration.groupID)"
        health.set(healthName, ready: false, detail: "starting")
        var state = try Self.restore(from: store.loadNewest(), logger: logger)
        // Configuration the state does not hold (catalogues): given after every restore.
        prepare(&state.processor)
        logger.info("consumer loop starting", metadata: [
            "exchange.group": "\(configuration.groupID)", "exchange.snapshot": "\(state.sequence)",
            "exchange.positions": "\(state.positions.count)",
        ])
        let startPositions = state.positions
        let consumer = try await retrying("create consumer", healthName) {
            try await self.eventLog.makeConsumer(ConsumerConfiguration(
                groupID: self.configuration.groupID, topics: self.configuration.topics,
                partitions: self.configuration.partitions, clientID: self.configuration.instance,
                onAssign: { partitions in startPositions.filter { partitions.contains($0.key) } }))
        }
        let producer = try await retrying("create producer", healthName) { try await self.eventLog.makeProducer() }
        health.set(healthName, ready: true, detail: "consuming")

        let applied = Counter(label: "exchange.consumer.records", dimensions: [("group", configuration.groupID)])
        let duplicates = Counter(label: "exchange.consumer.duplicates", dimensions: [("group", configuration.groupID)])
        let deadLetters = Counter(label: "exchange.deadletter.records", dimensions: [("group", configuration.groupID)])
        let failedEffects = Counter(label: "exchange.consumer.side_effects.failed", dimensions: [("group", configuration.groupID)])
        var planner = effects?.planner
        var sinceSnapshot = 0
        var lastSnapshot = ContinuousClock.now

        var aborted = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let records: [ConsumedRecord]
            do {
                records = try await consumer.poll(maxRecords: configuration.maxBatch, timeout: .milliseconds(200))
                health.set(healthName, ready: true, detail: "consuming")
            } catch {
                health.set(healthName, ready: false, detail: "poll failed: \(error)")
                logger.warning("poll failed, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
                continue
            }
            var outputs: [OutgoingRecord] = []
            var stamped: [ProcessorOutput] = []
            var consumed: [TopicPartition: Int64] = [:]
            for record in records {
                consumed[record.topicPartition] = record.offset + 1
                let envelope: Exchange_V1_Envelope
                do {
                    envelope = try EnvelopeCodec.decode(record.value)
                } catch {
                    outputs.append(deadLetter(record, reason: error.reason))
                    deadLetters.increment()
                    progress.add(deadLetters: 1)
                    logger.error("undecodable record dead-lettered", metadata: [
                        "exchange.topic": "\(record.topicPartition)", "exchange.offset": "\(record.offset)",
                        "error": "\(error.reason)",
                    ])
                    continue
                }
                guard state.duplicates.admit(envelope, at: record.topicPartition) else {
                    duplicates.increment()
                    progress.add(duplicates: 1)
                    continue
                }
                let produced = state.processor.apply(ProcessorInput(record: record, envelope: envelope))
                for (index, output) in produced.enumerated() {
                    var out = output.envelope
                    out.schemaVersion = exchangeSchemaVersion
                    out.eventID = Exchange_V1_EventID(
                        sourceTopic: record.topicPartition.topic, sourcePartition: record.topicPartition.partition,
                        sourceOffset: record.offset, index: UInt32(index))
                    if out.producer.isEmpty { out.producer = configuration.instance }
                    outputs.append(OutgoingRecord(topic: output.topic, key: output.key, value: EnvelopeCodec.encode(out)))
                    if planner != nil { stamped.append(ProcessorOutput(topic: output.topic, key: output.key, envelope: out)) }
                }
                applied.increment()
                progress.add(applied: 1)
            }
            if !outputs.isEmpty {
                // Positions advance only once outputs are durable; until then keep retrying the
                // same records (same event ids) so downstream de-duplication holds.
                guard await sendUntilDurable(outputs, producer: producer, healthName: healthName) else {
                    aborted = true
                    break
                }
            }
            if var current = planner, let sink = effects?.sink {
                let planned = current.plan(durable: stamped, processor: state.processor, nowMs: clock())
                if !planned.isEmpty {
                    do { try await sink.apply(planned) } catch {
                        current.failed(planned)
                        failedEffects.increment()
                        logger.warning("side effects failed (outputs are durable; effects are redone or lost)", metadata: ["error": "\(error)"])
                    }
                }
                planner = current
            }
            state.positions.merge(consumed) { _, new in new }
            sinceSnapshot += records.count
            let due = sinceSnapshot >= configuration.snapshotEveryRecords
                || (sinceSnapshot > 0 && ContinuousClock.now - lastSnapshot >= configuration.snapshotInterval)
            if due {
                takeSnapshot(&state)
                await commitQuietly(state.positions, consumer: consumer)
                sinceSnapshot = 0
                lastSnapshot = .now
            }
        }
        // A batch whose outputs never became durable is not snapshotted: a restart replays it.
        if sinceSnapshot > 0 && !aborted {
            takeSnapshot(&state)
            await commitQuietly(state.positions, consumer: consumer)
        }
        await consumer.close()
        await producer.close()
        health.set(healthName, ready: false, detail: "stopped")
    }

    struct LoopState {
        var sequence: UInt64
        var positions: [TopicPartition: Int64]
        var duplicates: DuplicateFilter
        var processor: Processor
    }

    static func restore(from snapshot: Snapshot?, logger: Logger) throws -> LoopState {
        guard let snapshot else {
            return LoopState(sequence: 0, positions: [:], duplicates: DuplicateFilter(), processor: Processor())
        }
        let bytes = snapshot.state
        guard bytes.count >= 4 else { throw SnapshotError("loop state too short") }
        let length = Int(bytes.readLittleEndian(UInt32.self, at: 0))
        guard 4 + length <= bytes.count else { throw SnapshotError("loop state truncated") }
        let duplicates = try JSONDecoder().decode(DuplicateFilter.self, from: Data(bytes[4..<4 + length]))
        let processor = try Processor(state: Array(bytes[(4 + length)...]))
        return LoopState(sequence: snapshot.sequence, positions: snapshot.positions, duplicates: duplicates, processor: processor)
    }

    static func encode(_ state: LoopState) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let filter = (try? encoder.encode(state.duplicates)).map { [UInt8]($0) } ?? Array("{}".utf8)
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(filter.count))
        bytes += filter
        bytes += state.processor.encodeState()
        return bytes
    }

    private func takeSnapshot(_ state: inout LoopState) {
        state.sequence += 1
        do {
            try store.save(Snapshot(sequence: state.sequence, positions: state.positions, state: Self.encode(state), createdAtMs: clock()))
        } catch {
            // A missed snapshot only lengthens the next replay; the log still has everything.
            logger.error("snapshot failed", metadata: ["error": "\(error)"])
        }
    }

    private func commitQuietly(_ positions: [TopicPartition: Int64], consumer: any EventConsumer) async {
        do { try await consumer.commit(positions) } catch {
            logger.warning("commit failed (snapshot positions still hold)", metadata: ["error": "\(error)"])
        }
    }

    private func sendUntilDurable(_ outputs: [OutgoingRecord], producer: any EventProducer, healthName: String) async -> Bool {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                _ = try await producer.send(outputs)
                return true
            } catch {
                health.set(healthName, ready: false, detail: "append failed: \(error)")
                logger.warning("append failed, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff.next())
            }
        }
        return false
    }

    private func deadLetter(_ record: ConsumedRecord, reason: String) -> OutgoingRecord {
        var letter = Exchange_V1_DeadLetter()
        letter.sourceTopic = record.topicPartition.topic
        letter.sourcePartition = record.topicPartition.partition
        letter.sourceOffset = record.offset
        letter.consumerGroup = configuration.groupID
        letter.reason = reason
        letter.key = Data(record.key)
        letter.value = Data(record.value)
        letter.time = record.timestampMs
        let envelope = Exchange_V1_Envelope(
            payload: .deadLetter(letter),
            eventID: Exchange_V1_EventID(
                sourceTopic: record.topicPartition.topic, sourcePartition: record.topicPartition.partition,
                sourceOffset: record.offset, index: 0),
            createdAtMs: record.timestampMs, emittedAtMs: record.timestampMs, producer: configuration.instance)
        return OutgoingRecord(topic: Topics.deadLetters.name, key: record.topicPartition.topic, value: EnvelopeCodec.encode(envelope))
    }

    private func retrying<T>(_ what: String, _ healthName: String, _ body: () async throws -> T) async throws -> T {
        var backoff = Backoff()
        while true {
            do { return try await body() } catch {
                if Task.isCancelled { throw error }
                health.set(healthName, ready: false, detail: "\(what) failed: \(error)")
                logger.warning("\(what) failed, retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: backoff.next())
            }
        }
    }
}

/// Counters a loop exposes to tests and health details.
public final class LoopProgress: Sendable {
    public struct Counters: Sendable, Equatable {
        public var applied = 0
        public var duplicates = 0
        public var deadLetters = 0
        public init(applied: Int = 0, duplicates: Int = 0, deadLetters: Int = 0) {
            self.applied = applied
            self.duplicates = duplicates
            self.deadLetters = deadLetters
        }
    }
    private let state = Mutex(Counters())
    public var counters: Counters { state.withLock { $0 } }
    func add(applied: Int = 0, duplicates: Int = 0, deadLetters: Int = 0) {
        state.withLock {
            $0.applied += applied
            $0.duplicates += duplicates
            $0.deadLetters += deadLetters
        }
    }
}
