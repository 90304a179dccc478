import ExchangeProtocol
import ExchangeTestSupport
import Foundation
import Logging
import Messaging
import ServiceKit
import Testing

/// Emits one output per input to `loop.out`, keyed like the input: enough to watch event ids.
struct Echo: EventProcessor {
    var seen: Int64 = 0
    init() {}
    init(state: [UInt8]) throws { seen = Int64(String(decoding: state, as: UTF8.self)) ?? 0 }
    mutating func apply(_ input: ProcessorInput) -> [ProcessorOutput] {
        seen += 1
        return [ProcessorOutput(topic: "loop.out", key: String(decoding: input.record.key, as: UTF8.self), envelope: input.envelope)]
    }
    func encodeState() -> [UInt8] { Array(String(seen).utf8) }
}

@Suite("consumer loop", .serialized)
struct ConsumerLoopTests {
    static func request(user: UInt64, createdAt: Int64) -> OutgoingRecord {
        var cancel = Exchange_V1_CancelOrder()
        cancel.userID = user
        cancel.symbol = "BTCUSDT"
        let envelope = Exchange_V1_Envelope(payload: .cancelOrder(cancel), createdAtMs: createdAt, emittedAtMs: createdAt)
        return OutgoingRecord(topic: "loop.in", key: String(user), value: EnvelopeCodec.encode(envelope))
    }

    static func snapshotDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("loop-\(UUID().uuidString)").path
    }

    /// Runs a loop until `done` holds (bounded), then stops it the way a shutdown does.
    static func runLoop<P: EventProcessor>(
        _ loop: ConsumerLoop<P>, until done: @escaping @Sendable () -> Bool
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await loop.run() }
            let end = ContinuousClock.now + .seconds(20)
            while !done() && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(20)) }
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    static func makeLoop<P: EventProcessor>(
        _: P.Type, log: any EventLog, topics: [String], store: SnapshotStore, group: String
    ) -> ConsumerLoop<P> {
        ConsumerLoop<P>(
            configuration: .init(groupID: group, topics: topics, instance: "\(group)-test", snapshotEveryRecords: 10),
            eventLog: log, store: store, health: HealthState(), logger: Logger(label: "test"))
    }

    @Test func resumesFromSnapshotDeadLettersGarbageAndDropsDuplicates() async throws {
        try await RedisTestServer.startEventLog().use { log in
            try await log.createTopics([
                TopicSpec(name: "loop.in", partitions: 2), TopicSpec(name: Topics.deadLetters.name, partitions: 1),
            ])
            let producer = try await log.makeProducer()
            _ = try await producer.send((0..<100).map { Self.request(user: UInt64($0 % 9), createdAt: Int64($0)) })
            _ = try await producer.send(OutgoingRecord(topic: "loop.in", key: "7", value: [0xde, 0xad, 0xbe, 0xef]))
            // Five replayed outputs of some upstream: the same event id twice.
            var replayed = Exchange_V1_Envelope(
                payload: .cancelOrder(Exchange_V1_CancelOrder()),
                eventID: Exchange_V1_EventID(sourceTopic: "upstream", sourcePartition: 0, sourceOffset: 42, index: 0),
                createdAtMs: 1, emittedAtMs: 1)
            replayed.requestID = "r"
            let copies = (0..<6).map { _ in OutgoingRecord(topic: "loop.in", key: "x", value: EnvelopeCodec.encode(replayed)) }
            _ = try await producer.send(copies)

            let store = SnapshotStore(directory: Self.snapshotDir())
            let first = Self.makeLoop(RecordTally.self, log: log, topics: ["loop.in"], store: store, group: "tally")
            try await Self.runLoop(first) { first.counters.applied + first.counters.duplicates + first.counters.deadLetters >= 107 }
            #expect(first.counters == .init(applied: 101, duplicates: 5, deadLetters: 1))

            // The garbage record is in dead.letters with its reason and raw bytes.
            let dlq = try await log.makeConsumer(ConsumerConfiguration(groupID: "dlq-reader", topics: [Topics.deadLetters.name]))
            let letters = try await drain(dlq, count: 1)
            let letter = try EnvelopeCodec.decode(try #require(letters.first).value)
            guard case .deadLetter(let dead) = letter.payload else { Issue.record("not a dead letter"); return }
            #expect(dead.sourceTopic == "loop.in")
            #expect(Array(dead.value) == [0xde, 0xad, 0xbe, 0xef])
            #expect(dead.reason.contains("not an exchange.v1 envelope"))
            await dlq.close()

            // The newest snapshot holds every position and the tally.
            let snapshot = try #require(try store.loadNewest())
            let ends = try await log.endOffsets([TopicPartition("loop.in", 0), TopicPartition("loop.in", 1)])
            #expect(snapshot.positions == ends)

            // A restart resumes after the snapshot: only the 50 new records are applied.
            _ = try await producer.send((100..<150).map { Self.request(user: UInt64($0 % 9), createdAt: Int64($0)) })
            let second = Self.makeLoop(RecordTally.self, log: log, topics: ["loop.in"], store: store, group: "tally")
            try await Self.runLoop(second) { second.counters.applied >= 50 }
            #expect(second.counters == .init(applied: 50, duplicates: 0, deadLetters: 0))
            let final = try #require(try store.loadNewest())
            let bytes = Array(final.state)
            // The loop's framing: 4-byte length + duplicate filter JSON, then the processor's state.
            let filterLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
            let tally = try RecordTally(state: Array(bytes[(4 + filterLength)...]))
            #expect(tally.total == 151)
            #expect(tally.counts["loop.in/cancel_order"] == 151)
            await producer.close()
        }
    }

    @Test func aReplayReEmitsTheSameEventIDsAndConsumersDropThem() async throws {
        try await RedisTestServer.startEventLog().use { log in
            try await log.createTopics([
                TopicSpec(name: "loop.in", partitions: 2), TopicSpec(name: "loop.out", partitions: 3),
                TopicSpec(name: Topics.deadLetters.name, partitions: 1),
            ])
            let producer = try await log.makeProducer()
            _ = try await producer.send((0..<20).map { Self.request(user: UInt64($0), createdAt: Int64($0)) })

            let echoStore = SnapshotStore(directory: Self.snapshotDir())
            let echo = Self.makeLoop(Echo.self, log: log, topics: ["loop.in"], store: echoStore, group: "echo")
            try await Self.runLoop(echo) { echo.counters.applied >= 20 }

            // Crash before any snapshot survived: the loop replays its whole input.
            try FileManager.default.removeItem(atPath: echoStore.directory)
            let replay = Self.makeLoop(Echo.self, log: log, topics: ["loop.in"], store: echoStore, group: "echo-replay")
            try await Self.runLoop(replay) { replay.counters.applied >= 20 }

            let reader = try await log.makeConsumer(ConsumerConfiguration(groupID: "out-reader", topics: ["loop.out"]))
            let outputs = try await drain(reader, count: 40)
            #expect(outputs.count == 40)
            let ids = try outputs.map { try EnvelopeCodec.decode($0.value).eventID }
            #expect(Set(ids.map { "\($0.sourceTopic)/\($0.sourcePartition)/\($0.sourceOffset)/\($0.index)" }).count == 20)
            #expect(ids.allSatisfy { $0.sourceTopic == "loop.in" && $0.index == 0 })
            await reader.close()

            // A downstream consumer applies each output once.
            let downstream = Self.makeLoop(
                RecordTally.self, log: log, topics: ["loop.out"], store: SnapshotStore(directory: Self.snapshotDir()), group: "down")
            try await Self.runLoop(downstream) { downstream.counters.applied + downstream.counters.duplicates >= 40 }
            #expect(downstream.counters == .init(applied: 20, duplicates: 20, deadLetters: 0))
            await producer.close()
        }
    }

    @Test func readinessFollowsTheEventLogAndNothingIsLostAcrossAnOutage() async throws {
        let server = try await RedisTestServer.start()
        let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
        try await log.createTopics([TopicSpec(name: "loop.in", partitions: 1), TopicSpec(name: Topics.deadLetters.name, partitions: 1)])
        let producer = try await log.makeProducer()
        _ = try await producer.send((0..<10).map { Self.request(user: UInt64($0), createdAt: Int64($0)) })
        let health = HealthState()
        let loop = ConsumerLoop<RecordTally>(
            configuration: .init(groupID: "outage", topics: ["loop.in"], instance: "outage-test", snapshotEveryRecords: 5),
            eventLog: log, store: SnapshotStore(directory: Self.snapshotDir()), health: health, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await loop.run() }
            func waitFor(_ condition: @Sendable () -> Bool) async throws {
                let end = ContinuousClock.now + .seconds(20)
                while !condition() && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(20)) }
            }
            try await waitFor { loop.counters.applied >= 10 && health.isReady }
            #expect(loop.counters.applied == 10)
            #expect(health.isReady)

            // Redis goes away (kill -9): the loop reports not ready instead of crashing.
            await server.kill()
            try await waitFor { !health.isReady }
            #expect(!health.isReady)
            #expect(health.snapshot["consumer.outage"]?.detail.contains("poll failed") == true)

            // Redis comes back with its AOF: the loop recovers and continues exactly where it was.
            try await server.launch()
            // The producer's first call after the outage fails (retriable) and the next reconnects.
            var appended = false
            for _ in 0..<50 where !appended {
                do {
                    _ = try await producer.send((10..<15).map { Self.request(user: UInt64($0), createdAt: Int64($0)) })
                    appended = true
                } catch {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(appended)
            try await waitFor { loop.counters.applied >= 15 && health.isReady }
            #expect(loop.counters.applied == 15)
            #expect(health.isReady)
            group.cancelAll()
            try await group.waitForAll()
        }
        await producer.close()
        await log.shutdown()
        await server.teardown()
    }
}
