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
        /// One state for everything consumed, or one per input partition (moves with the partition).
        public var stateScope: StateScope

        public init(
            groupID: String, topics: [String], partitions: PartitionSelection = .group, instance: String,
            snapshotEveryRecords: Int = 100_000, snapshotInterval: Duration = .seconds(10), maxBatch: Int = 500,
            stateScope: StateScope = .whole
        ) {
            self.groupID = groupID
            self.topics = topics
            self.partitions = partitions
            self.instance = instance
            self.snapshotEveryRecords = snapshotEveryRecords
            self.snapshotInterval = snapshotInterval
            self.maxBatch = maxBatch
            self.stateScope = stateScope
        }
    }

    /// How a processor's state divides.
    public enum StateScope: Sendable, Equatable {
        /// One state over all input partitions, snapshotted in the loop's store. Partitions must
        /// not move between instances (static assignment, or one instance per group).
        case whole
        /// A processor per input partition, snapshotted in `<store>/<topic>-<partition>`: when a
        /// rebalance moves a partition, the old owner snapshots it on revocation and the new owner
        /// restores that snapshot (or the newest periodic one, if the old owner died) and replays
        /// from its positions. Needs a processor whose state of one partition never depends on
        /// another's (matching: a symbol's book lives in its symbol's partition), and a snapshot
        /// directory every instance of the group can read.
        case perPartition
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
        let units = UnitTable()
        let scope = configuration.stateScope
        var restoredPositions: [TopicPartition: Int64] = [:]
        if scope == .whole {
            var state = try Self.restore(from: store.loadNewest(), logger: logger)
            // Configuration the state does not hold (catalogues): given after every restore.
            prepare(&state.processor)
            logger.info("consumer loop starting", metadata: [
                "exchange.group": "\(configuration.groupID)", "exchange.snapshot": "\(state.sequence)",
                "exchange.positions": "\(state.positions.count)",
            ])
            restoredPositions = state.positions
            units.withLock { $0[Self.wholeKey] = state }
        } else {
            logger.info("consumer loop starting; state per input partition, restored on assignment", metadata: [
                "exchange.group": "\(configuration.groupID)", "exchange.snapshots": "\(store.directory)",
            ])
        }
        let startPositions = restoredPositions
        let consumer = try await retrying("create consumer", healthName) {
            try await self.eventLog.makeConsumer(ConsumerConfiguration(
                groupID: self.configuration.groupID, topics: self.configuration.topics,
                partitions: self.configuration.partitions, clientID: self.configuration.instance,
                onAssign: { partitions in
                    // A partition without a snapshot starts at offset 0: a state rebuilt from the
                    // whole log, never from wherever the group's commit happens to be.
                    if scope == .whole {
                        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, startPositions[$0] ?? 0) })
                    }
                    return self.adopt(partitions, units: units)
                },
                onRevoke: { partitions in
                    if scope == .perPartition { self.release(partitions, units: units) }
                }))
        }
        let producer = try await retrying("create producer", healthName) { try await self.eventLog.makeProducer() }
        health.set(healthName, ready: true, detail: "consuming")

        let applied = Counter(label: "exchange.consumer.records", dimensions: [("group", configuration.groupID)])
        let duplicates = Counter(label: "exchange.consumer.duplicates", dimensions: [("group", configuration.groupID)])
        let deadLetters = Counter(label: "exchange.deadletter.records", dimensions: [("group", configuration.groupID)])
        let failedEffects = Counter(label: "exchange.consumer.side_effects.failed", dimensions: [("group", configuration.groupID)])
        var pipeline = EffectsPipeline(planner: effects?.planner)
        let stageTimers = StageTimers(group: configuration.groupID)
        var lastSnapshot = ContinuousClock.now

        // A consumer without rebalance callbacks (Redis Streams) reads the next batch while the
        // loop works on this one, and the loop applies a batch while the previous one is appended;
        // one whose poll can revoke partitions (Kafka) must not poll while a batch is applied and
        // not yet durable, so there each batch is durable before the next poll.
        let prefetch = consumer.pollsAheadSafely
        let maxBatch = configuration.maxBatch
        var prefetched: ReadAhead?
        /// The last batch applied, while its outputs are appended (at most one: appends stay in order).
        var appending: AppendingBatch?
        var aborted = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let tStart = ContinuousClock.now
            let records: [ConsumedRecord]
            var append = Duration.zero, plan = Duration.zero
            do {
                if let next = prefetched {
                    // Nothing new has arrived yet: finish the batch in flight now. Waiting for the
                    // poll first would hold its outcomes until the next record or the poll's
                    // timeout (up to 200 ms at a low rate).
                    if !next.done.value.load(ordering: .acquiring),
                       !(await completeInFlight(&appending, units: units, pipeline: &pipeline, failures: failedEffects, append: &append, plan: &plan)) {
                        aborted = true
                        break  // the read-ahead is still in `prefetched`: awaited below
                    }
                    prefetched = nil
                    records = try await next.task.value
                } else {
                    records = try await consumer.poll(maxRecords: maxBatch, timeout: .milliseconds(200))
                }
                if prefetch && !Task.isShuttingDownGracefully {
                    // The next batch is read while this one is applied and appended.
                    let done = ReadAhead.Flag()
                    prefetched = ReadAhead(task: Task {
                        defer { done.value.store(true, ordering: .releasing) }
                        return try await consumer.poll(maxRecords: maxBatch, timeout: .milliseconds(200))
                    }, done: done)
                }
                health.set(healthName, ready: true, detail: "consuming")
            } catch {
                health.set(healthName, ready: false, detail: "poll failed: \(error)")
                logger.warning("poll failed, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
                continue
            }
            let tPoll = ContinuousClock.now
            /// Time spent finishing the previous batch before the poll returned (under its stages).
            let early = append + plan
            var outputs: [OutgoingRecord] = []
            var stamped: [ProcessorOutput] = []
            var consumed: [TopicPartition: Int64] = [:]
            // Records of one unit are applied together with the unit's state moved out of the
            // table (one lookup per unit and batch, and no copy-on-write of the state).
            var groups: [(key: TopicPartition, records: [ConsumedRecord])] = []
            for record in records {
                let key = unitKey(record.topicPartition)
                if groups.last?.key == key { groups[groups.count - 1].records.append(record) } else { groups.append((key, [record])) }
            }
            var tally = LoopProgress.Counters()
            let keepStamped = pipeline.planner != nil
            // Rebalance callbacks run only inside poll/close, so the lock is never contended here.
            units.withLock { table in
                for group in groups {
                    // Revoked while this poll was collecting: another member owns it now.
                    guard var state = table.removeValue(forKey: group.key) else { continue }
                    // Counted as consumed (also duplicates and dead letters: positions move on).
                    state.sinceSnapshot += group.records.count
                    for record in group.records {
                        consumed[record.topicPartition] = record.offset + 1
                        apply(record, to: &state, outputs: &outputs, stamped: &stamped, keepStamped: keepStamped, tally: &tally)
                    }
                    table[group.key] = state
                }
            }
            applied.increment(by: Int64(tally.applied))
            duplicates.increment(by: Int64(tally.duplicates))
            deadLetters.increment(by: Int64(tally.deadLetters))
            progress.add(applied: tally.applied, duplicates: tally.duplicates, deadLetters: tally.deadLetters)
            let tApply = ContinuousClock.now
            // The previous batch: its positions advance and its effects are planned only once its
            // outputs are durable. This batch's append starts after that, so appends stay in order.
            guard await completeInFlight(&appending, units: units, pipeline: &pipeline, failures: failedEffects, append: &append, plan: &plan)
            else {
                aborted = true
                break
            }
            // Positions only advance once outputs are durable; until then the append retries the
            // same records (same event ids) so downstream de-duplication holds.
            let batch = AppendingBatch(
                append: outputs.isEmpty ? nil : Task { await self.sendUntilDurable(outputs, producer: producer, healthName: healthName) },
                stamped: stamped, consumed: consumed, records: records)
            if prefetch {
                appending = batch
            } else {
                let completed = await complete(batch, units: units, pipeline: &pipeline, failures: failedEffects, append: &append, plan: &plan)
                Self.releaseElsewhere(batch)
                guard completed else {
                    aborted = true
                    break
                }
            }
            let intervalDue = ContinuousClock.now - lastSnapshot >= configuration.snapshotInterval
            let snapshotDue = units.withLock { table in
                table.values.contains { $0.sinceSnapshot > 0 && ($0.sinceSnapshot >= configuration.snapshotEveryRecords || intervalDue) }
            }
            if snapshotDue {
                // A snapshot holds everything applied, so everything applied must be durable and its
                // positions recorded; and it moves the restart point past those batches, so their
                // effects are applied (or their failure handed to the planner) first: a crash never
                // loses them.
                guard await completeInFlight(&appending, units: units, pipeline: &pipeline, failures: failedEffects, append: &append, plan: &plan)
                else {
                    aborted = true
                    break
                }
                await pipeline.settle(failures: failedEffects, logger: logger)
            }
            let snapshotted = units.withLock { table -> Bool in
                var any = false
                for key in Array(table.keys) where table[key]!.sinceSnapshot > 0
                    && (table[key]!.sinceSnapshot >= configuration.snapshotEveryRecords || intervalDue) {
                    takeSnapshot(&table[key]!, store: store(for: key))
                    any = true
                }
                return any
            }
            if snapshotted {
                await commitQuietly(units.withLock { Self.positions(of: $0) }, consumer: consumer)
            }
            if intervalDue { lastSnapshot = .now }
            if !records.isEmpty {
                let end = ContinuousClock.now
                stageTimers.poll.record(tPoll - tStart - early)
                stageTimers.apply.record(tApply - tPoll)
                stageTimers.append.record(append)
                stageTimers.effects.record(plan)
                // Everything else after the apply: launching the append, snapshots, commits.
                stageTimers.snapshot.record(end - tApply - (append + plan - early))
            }
        }
        // The batch still being appended: made durable (or, if that fails, nothing after the last
        // durable batch reaches a snapshot).
        if !aborted {
            var append = Duration.zero, plan = Duration.zero
            aborted = !(await completeInFlight(&appending, units: units, pipeline: &pipeline, failures: failedEffects, append: &append, plan: &plan))
        }
        // Records read ahead and not applied are read again after a restart (positions only move
        // with applied batches).
        _ = try? await prefetched?.task.value
        await pipeline.settle(failures: failedEffects, logger: logger)
        // A batch whose outputs never became durable is not snapshotted: a restart replays it.
        if !aborted {
            let positions = units.withLock { table -> [TopicPartition: Int64] in
                for key in Array(table.keys) where table[key]!.sinceSnapshot > 0 {
                    takeSnapshot(&table[key]!, store: store(for: key))
                }
                return Self.positions(of: table)
            }
            await commitQuietly(positions, consumer: consumer)
        } else {
            // Nothing of the failed batch may reach a snapshot, also not through a revoke on close.
            units.withLock { $0.removeAll() }
        }
        await consumer.close()
        await producer.close()
        health.set(healthName, ready: false, detail: "stopped")
    }

    /// The next poll, started while the loop works on the current batch.
    struct ReadAhead {
        final class Flag: Sendable {
            /// Set once the poll has returned (records or an error).
            let value = Atomic<Bool>(false)
        }
        var task: Task<[ConsumedRecord], any Error>
        var done: Flag
    }

    /// A batch applied, its outputs being appended: what happens once they are durable.
    struct AppendingBatch {
        /// Until the outputs are durable (false: cancelled first); nil when there were none.
        var append: Task<Bool, Never>?
        var stamped: [ProcessorOutput]
        /// The next position of every partition the batch read.
        var consumed: [TopicPartition: Int64]
        /// The records it was applied from: held so that they are freed with the rest of the
        /// batch (`releaseElsewhere`).
        var records: [ConsumedRecord]
    }

    /// Drops a completed batch on another thread. Its last references free its records and
    /// outputs, several allocations each: at 45k commands/s about 20,000 frees per batch, which
    /// took 1-2 ms of the loop's ~20 ms per batch when they ran here (perf).
    static func releaseElsewhere(_ batch: AppendingBatch) {
        Task.detached(priority: .utility) { withExtendedLifetime(batch) {} }
    }

    /// The planner and the effects of the last completed batch still being applied (at most one
    /// batch: effects overlap the next batches' polls, applies and appends, never each other).
    struct EffectsPipeline {
        var planner: (any SideEffectPlanner<Processor>)?
        var inFlight: (planned: [SideEffect], task: Task<String?, Never>)?

        /// Waits for the effects in flight, if any; a failure is counted, logged and handed to the
        /// planner (which keeps what it must redo for its next plan).
        mutating func settle(failures: Counter, logger: Logger) async {
            guard let pending = inFlight else { return }
            inFlight = nil
            if let failure = await pending.task.value {
                planner?.failed(pending.planned)
                failures.increment()
                logger.warning("side effects failed (outputs are durable; effects are redone or lost)", metadata: ["error": "\(failure)"])
            }
        }
    }

    /// Completes the batch in `appending`, if any, and clears it (see `complete`). False if the
    /// loop was cancelled before its outputs were durable.
    private func completeInFlight(
        _ appending: inout AppendingBatch?, units: UnitTable, pipeline: inout EffectsPipeline, failures: Counter,
        append: inout Duration, plan: inout Duration
    ) async -> Bool {
        guard let batch = appending else { return true }
        appending = nil
        let completed = await complete(batch, units: units, pipeline: &pipeline, failures: failures, append: &append, plan: &plan)
        Self.releaseElsewhere(batch)
        return completed
    }

    /// Waits until `batch`'s outputs are durable (time in `append`), then advances its positions
    /// and plans and starts its side effects (time in `plan`). False if the loop was cancelled first.
    ///
    /// The planner sees the processors as they are now, which may already include the next batch
    /// (applied while this one was appended): their depth snapshots, klines and audits are of a
    /// state a replay of durable inputs reproduces exactly; replies and projections come from the
    /// durable outputs only.
    private func complete(
        _ batch: AppendingBatch, units: UnitTable, pipeline: inout EffectsPipeline, failures: Counter,
        append: inout Duration, plan: inout Duration
    ) async -> Bool {
        let start = ContinuousClock.now
        if let task = batch.append {
            let durable = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
            guard durable else { return false }
        }
        let planStart = ContinuousClock.now
        append += planStart - start
        units.withLock { table in
            for (partition, next) in batch.consumed {
                table[unitKey(partition)]?.positions[partition] = next
            }
        }
        if pipeline.planner != nil, let sink = effects?.sink {
            // The previous batch's effects ran meanwhile; their outcome is known before this
            // batch's are planned, so a planner redoes failed writes ahead of newer ones, in order.
            await pipeline.settle(failures: failures, logger: logger)
            var current = pipeline.planner!
            let planned = units.withLock { table in
                current.plan(durable: batch.stamped, processors: table.values.map(\.processor), nowMs: clock())
            }
            if !planned.isEmpty {
                pipeline.inFlight = (planned, Task { () -> String? in
                    do {
                        try await sink.apply(planned)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                })
            }
            pipeline.planner = current
        }
        plan += ContinuousClock.now - planStart
        return true
    }

    /// Decodes, de-duplicates and applies one record, stamping and encoding its outputs.
    private func apply(
        _ record: ConsumedRecord, to state: inout LoopState, outputs: inout [OutgoingRecord],
        stamped: inout [ProcessorOutput], keepStamped: Bool, tally: inout LoopProgress.Counters
    ) {
        let envelope: Exchange_V1_Envelope
        do throws(DecodeFailure) {
            envelope = try EnvelopeCodec.decode(record.value)
        } catch {
            outputs.append(deadLetter(record, reason: error.reason))
            tally.deadLetters += 1
            logger.error("undecodable record dead-lettered", metadata: [
                "exchange.topic": "\(record.topicPartition)", "exchange.offset": "\(record.offset)", "error": "\(error.reason)",
            ])
            return
        }
        guard state.duplicates.admit(envelope, at: record.topicPartition) else {
            tally.duplicates += 1
            return
        }
        let produced = ProcessorOutput.stampAndEncode(
            state.processor.apply(ProcessorInput(record: record, envelope: envelope)), from: record, producer: configuration.instance)
        for output in produced {
            if let bytes = output.encoded {
                outputs.append(OutgoingRecord(topic: output.topic, key: output.key, value: bytes))
            }
            if keepStamped { stamped.append(output) }
        }
        tally.applied += 1
    }

    /// The key of the single state of `.whole` scope.
    static var wholeKey: TopicPartition { TopicPartition("", -1) }

    /// The state unit a partition's records belong to.
    func unitKey(_ partition: TopicPartition) -> TopicPartition {
        configuration.stateScope == .whole ? Self.wholeKey : partition
    }

    /// Every unit's positions together (what the group commits).
    static func positions(of table: [TopicPartition: LoopState]) -> [TopicPartition: Int64] {
        table.values.reduce(into: [:]) { $0.merge($1.positions) { _, new in new } }
    }

    /// Where a state unit's snapshots live: the loop's store, or one directory per partition in it.
    func store(for key: TopicPartition) -> SnapshotStore {
        key == Self.wholeKey ? store : SnapshotStore(directory: "\(store.directory)/\(key.topic)-\(key.partition)", keep: store.keep)
    }

    /// Takes over partitions (per-partition scope): each one's newest snapshot, or a fresh state
    /// replayed from offset 0. Returns where to start reading each.
    func adopt(_ partitions: [TopicPartition], units: UnitTable) -> [TopicPartition: Int64] {
        var starts: [TopicPartition: Int64] = [:]
        for partition in partitions {
            if let owned = units.withLock({ $0[partition] }) {
                starts[partition] = owned.positions[partition] ?? 0
                continue
            }
            do {
                var state = try Self.restore(from: store(for: partition).loadNewest(), logger: logger)
                prepare(&state.processor)
                state.sinceSnapshot = 0
                starts[partition] = state.positions[partition] ?? 0
                units.withLock { $0[partition] = state }
                logger.info("partition adopted", metadata: [
                    "exchange.partition": "\(partition)", "exchange.snapshot": "\(state.sequence)", "exchange.from": "\(starts[partition]!)",
                ])
            } catch {
                // Unreadable snapshots: rebuild from the log rather than guess.
                logger.error("partition snapshot unreadable; replaying from offset 0", metadata: [
                    "exchange.partition": "\(partition)", "error": "\(error)",
                ])
                var state = LoopState(sequence: 0, positions: [:], duplicates: DuplicateFilter(), processor: Processor())
                prepare(&state.processor)
                units.withLock { $0[partition] = state }
                starts[partition] = 0
            }
        }
        return starts
    }

    /// Hands partitions back (per-partition scope): their state is snapshotted with the positions
    /// applied (everything applied is durable: revocation happens inside poll, between batches),
    /// so the next owner continues exactly there.
    func release(_ partitions: [TopicPartition], units: UnitTable) {
        units.withLock { table in
            for partition in partitions {
                guard var state = table.removeValue(forKey: partition) else { continue }
                if state.sinceSnapshot > 0 { takeSnapshot(&state, store: store(for: partition)) }
                logger.info("partition released", metadata: ["exchange.partition": "\(partition)"])
            }
        }
    }

    struct LoopState: Sendable {
        var sequence: UInt64
        var positions: [TopicPartition: Int64]
        var duplicates: DuplicateFilter
        var processor: Processor
        /// Records consumed since the last snapshot (not part of the snapshot).
        var sinceSnapshot = 0
    }

    /// The loop's states by unit (one for `.whole`, one per owned partition otherwise), shared
    /// with the rebalance callbacks.
    final class UnitTable: Sendable {
        private let table = Mutex<[TopicPartition: LoopState]>([:])
        func withLock<T>(_ body: (inout [TopicPartition: LoopState]) throws -> T) rethrows -> T {
            try table.withLock { try body(&$0) }
        }
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

    private func takeSnapshot(_ state: inout LoopState, store: SnapshotStore) {
        state.sequence += 1
        do {
            try store.save(Snapshot(sequence: state.sequence, positions: state.positions, state: Self.encode(state), createdAtMs: clock()))
            state.sinceSnapshot = 0
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

    /// Appends `outputs`, retrying until they are durable. Always makes one attempt, also when the
    /// loop is already cancelled (a batch applied just before a stop is appended, not dropped);
    /// cancellation only ends the retries. False: cancelled before an attempt succeeded.
    private func sendUntilDurable(_ outputs: [OutgoingRecord], producer: any EventProducer, healthName: String) async -> Bool {
        var backoff = Backoff()
        repeat {
            do {
                _ = try await producer.send(outputs)
                return true
            } catch {
                health.set(healthName, ready: false, detail: "append failed: \(error)")
                logger.warning("append failed, retrying", metadata: ["error": "\(error)"])
                if Task.isCancelled { break }
                try? await Task.sleep(for: backoff.next())
            }
        } while !Task.isCancelled
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

/// Time per batch in each stage of the loop, `exchange_consumer_stage_seconds{group,stage}`:
/// poll (waiting for and reading records), apply (decode, apply, encode), append (until the outputs
/// are durable), effects (waiting for the previous batch's side effects, then planning this one's)
/// and snapshot (positions, snapshots, commits). Batches that polled nothing are not recorded.
struct StageTimers {
    struct Stage {
        let timer: Metrics.Timer
        func record(_ duration: Duration) {
            let (seconds, attoseconds) = duration.components
            timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
    }
    let poll, apply, append, effects, snapshot: Stage
    init(group: String) {
        func timer(_ stage: String) -> Stage {
            Stage(timer: Metrics.Timer(label: "exchange_consumer_stage_seconds", dimensions: [("group", group), ("stage", stage)],
                                       preferredDisplayUnit: .seconds))
        }
        poll = timer("poll")
        apply = timer("apply")
        append = timer("append")
        effects = timer("effects")
        snapshot = timer("snapshot")
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
