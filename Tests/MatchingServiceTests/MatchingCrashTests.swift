import ExchangeProtocol
import ExchangeTestSupport
import Foundation
import Logging
import MatchingEngine
import Messaging
import Synchronization
import Testing

@testable import MatchingService
@testable import ServiceKit

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `matching` executable against each event-log backend, kills it with SIGKILL at
/// random moments while commands stream in (also while it is still recovering), restarts it, and
/// compares everything with an uninterrupted in-process run of the same commands: the final state
/// hash, every event on `matching.events` (none lost; a re-emitted event has the same id and the
/// same content), an outcome on the reply channel for every request, and the depth snapshots.
@Suite("matching service: kill -9 and restart", .serialized)
struct MatchingCrashTests {
    typealias Processor = MatchingProcessor<FastBook>

    static let instance = "matching-crash"
    static let replyChannel = RedisNames.replyChannel(instance: "crash-test-router")
    static let symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]

    @Test(arguments: BackendKind.allCases)
    func killNineAtRandomMomentsLosesNothing(_ backend: BackendKind) async throws {
        let binary = try builtExecutable("matching")
        let catalogPath = repositoryRoot.appendingPathComponent("deploy/symbols.json").path
        let catalog = try SymbolCatalog.load(path: catalogPath)
        let redis = try await RedisTestServer.start()
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("matching-crash-\(UUID().uuidString)").path
        let testLog = try await ServiceTestLog(backend, redis: redis)
        let log = testLog.log
        let eventLogURL = testLog.url
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        try await log.createTopics(Topics.all.map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) })

        let replies = ReplyCollector(configuration: redis.configuration, channel: Self.replyChannel)
        #expect(try await replies.waitUntilSubscribed(redis.configuration), "reply channel subscription never came up")
        var rng = SplitMix64(seed: backend == .redis ? 0xC0FFEE : 0xBADC0DE)
        let commands = Self.commands(count: 2_000, rng: &rng)
        let child = ChildService(
            executable: binary,
            arguments: [
                "--event-log", eventLogURL, "--redis", "redis://127.0.0.1:\(redis.port)", "--data-dir", dataDir,
                "--instance", Self.instance, "--admin-port", "0", "--symbols", catalogPath,
                "--snapshot-every", "400", "--snapshot-interval-ms", "1000", "--log-level", "warning",
            ],
            environment: ["EXCHANGE_KAFKA_PROPERTIES": "session.timeout.ms=4000,heartbeat.interval.ms=100,topic.metadata.refresh.interval.ms=1000"],
            logFile: "\(dataDir).log")
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)

        let partitions = try await log.partitionCount(of: Topics.matchingEvents.name)
        let reader = try await log.makeConsumer(ConsumerConfiguration(
            groupID: "crash-reader-\(UUID().uuidString)", topics: [Topics.matchingEvents.name],
            partitions: .explicit((0..<partitions).map { TopicPartition(Topics.matchingEvents.name, $0) })))
        var events = ObservedEvents()

        // Stream the commands in chunks. After each chunk, SIGKILL the service: mostly once it is
        // visibly applying that chunk (new events appear), now and then before it has recovered.
        let producer = try await log.makeProducer()
        var sent: [(record: ConsumedRecord, envelope: Exchange_V1_Envelope)] = []
        try child.start()
        let chunks = 6
        let chunkSize = (commands.count + chunks - 1) / chunks
        var kills = 0
        func send(_ slice: ArraySlice<Exchange_V1_Envelope>) async throws {
            let records = slice.map { envelope -> OutgoingRecord in
                OutgoingRecord(topic: Topics.matchingCommands.name, key: Self.symbol(of: envelope), value: EnvelopeCodec.encode(envelope))
            }
            let positions = try await producer.send(records)
            for (position, (record, envelope)) in zip(positions, zip(records, slice)) {
                sent.append((ConsumedRecord(topicPartition: position.topicPartition, offset: position.offset, key: record.key,
                                            value: record.value, timestampMs: 0), envelope))
            }
        }
        for chunk in 0..<chunks {
            let range = (chunk * chunkSize)..<min(commands.count, (chunk + 1) * chunkSize)
            let middle = range.lowerBound + range.count / 3
            if chunk == chunks - 1 || rng.chance(20) {
                // The whole chunk, and a kill within 50 ms: often before recovery has finished.
                try await send(commands[range])
                if chunk == chunks - 1 { break }
                try await Task.sleep(for: .milliseconds(Int64(rng.int(1...50))))
            } else {
                // A third, until the service visibly applies it (it has recovered and owns its
                // partitions), then the rest and a kill while that is being applied.
                try await send(commands[range.lowerBound..<middle])
                let before = events.seen.count
                let end = ContinuousClock.now + .seconds(30)
                while events.seen.count == before && ContinuousClock.now < end {
                    events.absorb(try await reader.poll(maxRecords: 50, timeout: .milliseconds(20)))
                }
                try await send(commands[middle..<range.upperBound])
                try await Task.sleep(for: .milliseconds(Int64(rng.int(0...30))))
            }
            await child.kill()
            kills += 1
            try child.start()
        }
        await producer.close()

        let (reference, expected, expectedOrder) = Self.uninterruptedRun(sent, catalog: catalog, producer: Self.instance)
        try await events.collect(from: reader, until: expected.count)
        await reader.close()
        let seen = events.seen
        var mismatched = events.conflicting
        for (key, envelope) in seen where expected[key] != envelope { mismatched.append(key) }
        let seenOrder = events.order
        let duplicates = events.duplicates

        // A graceful stop writes a final snapshot: the state the service ended with.
        let exit = await child.stop()
        #expect(exit == 0, "matching exited with \(exit) on SIGTERM; log: \(dataDir).log")
        let restored = try Self.restoreAll(snapshots: "\(dataDir)/snapshots/matching")

        print("matching crash test [\(backend)]: \(commands.count) commands, \(kills) kills, \(expected.count) events, \(duplicates) re-emitted duplicates, \(Self.snapshotCount("\(dataDir)/snapshots/matching")) partition snapshots")
        #expect(kills == chunks - 1)
        let missing = Set(expected.keys).subtracting(seen.keys)
        #expect(missing.isEmpty, "events lost: \(missing.count) of \(expected.count), e.g. \(missing.prefix(5))")
        let unexpected = Set(seen.keys).subtracting(expected.keys)
        #expect(unexpected.isEmpty, "events the uninterrupted run does not have: \(unexpected.count), e.g. \(unexpected.prefix(5))")
        #expect(mismatched.isEmpty, "events whose content differs from the uninterrupted run: \(mismatched.prefix(5))")
        for symbol in Self.symbols {
            #expect(seenOrder[symbol] == expectedOrder[symbol], "event order of \(symbol) differs")
        }
        #expect(restored.stateHash() == reference.stateHash())
        #expect(restored.encodeState() == reference.encodeState())

        // Every request got its outcome at least once (a replay may publish one again).
        let requestIDs = Set(commands.map(\.requestID))
        let answered = await replies.waitFor(requestIDs, within: .seconds(10))
        #expect(answered.isSuperset(of: requestIDs), "requests without an outcome: \(requestIDs.subtracting(answered).count)")
        replies.close()

        // Each book's depth snapshot in Redis is the reference book's depth at its last update id.
        let client = RedisClient(configuration: redis.configuration)
        for symbol in Self.symbols {
            let book = try #require(reference.books[symbol])
            var stored: Exchange_V1_BookDelta?
            let end = ContinuousClock.now + .seconds(10)
            repeat {
                if case .bulk(let bytes) = try await client.send(["GET", .string(RedisNames.depthSnapshot(symbol: symbol))]) {
                    stored = try Exchange_V1_BookDelta(serializedBytes: bytes)
                }
                if stored?.lastUpdateID == book.lastUpdateID { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < end
            let depth = book.depth(limit: 5000)
            #expect(stored?.lastUpdateID == book.lastUpdateID)
            #expect(stored?.isSnapshot == true)
            #expect(stored?.bids.map { [$0.price, $0.quantity] } == depth.bids.map { [$0.price, $0.quantity] })
            #expect(stored?.asks.map { [$0.price, $0.quantity] } == depth.asks.map { [$0.price, $0.quantity] })
        }
        await client.close()
        await testLog.shutdown()
        await redis.teardown()
        try? FileManager.default.removeItem(atPath: "\(dataDir).log")
    }

    /// The uninterrupted run: the same records, in partition order, through the same processor;
    /// its final state and every event it emits (by id, and in order per symbol).
    static func uninterruptedRun(
        _ sent: [(record: ConsumedRecord, envelope: Exchange_V1_Envelope)], catalog: SymbolCatalog?, producer: String
    ) -> (Processor, [EventKey: Exchange_V1_Envelope], [String: [EventKey]]) {
        var reference = Processor()
        reference.catalog = catalog
        var expected: [EventKey: Exchange_V1_Envelope] = [:]
        var expectedOrder: [String: [EventKey]] = [:]
        for (record, envelope) in sent {
            for (index, output) in reference.apply(ProcessorInput(record: record, envelope: envelope)).enumerated()
            where output.topic == Topics.matchingEvents.name {
                let out = output.stampedEnvelope(from: record, index: index, producer: producer)
                let key = EventKey(out.eventID)
                expected[key] = out
                expectedOrder[output.key, default: []].append(key)
            }
        }
        return (reference, expected, expectedOrder)
    }

    /// The whole matching state: every partition's newest snapshot, merged (symbols never span partitions).
    static func restoreAll(snapshots root: String) throws -> Processor {
        var merged = Processor()
        for directory in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            guard let snapshot = try SnapshotStore(directory: "\(root)/\(directory)").loadNewest() else { continue }
            let state = try ConsumerLoop<Processor>.restore(from: snapshot, logger: Logger(label: "test"))
            for (symbol, book) in state.processor.books {
                #expect(merged.books[symbol] == nil, "\(symbol) in two partitions' snapshots")
                merged.books[symbol] = book
            }
        }
        return merged
    }

    static func snapshotCount(_ root: String) -> Int {
        let directories = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return directories.reduce(0) { $0 + Int((try? SnapshotStore(directory: "\(root)/\($1)").sequences().last) ?? 0) }
    }

    /// Two instances in one consumer group on the Kafka mock: the second joins while the first
    /// runs (the first snapshots the partitions it gives up, the second restores them), then the
    /// first is killed -9 and the second adopts its partitions from their newest snapshots. The
    /// merged per-partition state and the events equal an uninterrupted single run.
    @Test func partitionsMoveBetweenInstancesWithTheirState() async throws {
        let binary = try builtExecutable("matching")
        let redis = try await RedisTestServer.start()
        let mock = try KafkaMockCluster(brokers: 3)
        let log = try KafkaEventLog(configuration: KafkaMockTestCluster.configuration(mock), mockCluster: mock)
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("matching-rebalance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        try await log.createTopics(Topics.all.map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) })
        func instance(_ name: String) -> ChildService {
            ChildService(
                executable: binary,
                arguments: [
                    "--event-log", "kafka://\(mock.bootstrapServers)", "--redis", "redis://127.0.0.1:\(redis.port)",
                    "--data-dir", dataDir, "--instance", name, "--admin-port", "0", "--symbols", "none",
                    "--snapshot-every", "300", "--snapshot-interval-ms", "1000", "--log-level", "info",
                ],
                environment: ["EXCHANGE_KAFKA_PROPERTIES": "session.timeout.ms=4000,heartbeat.interval.ms=100,topic.metadata.refresh.interval.ms=1000"],
                logFile: "\(dataDir)-\(name).log")
        }
        var rng = SplitMix64(seed: 0x5EED)
        let symbols = (0..<12).map { "S\($0)USDT" }
        let commands = Self.commands(count: 1_800, rng: &rng, symbols: symbols)
        let partitions = try await log.partitionCount(of: Topics.matchingEvents.name)
        let reader = try await log.makeConsumer(ConsumerConfiguration(
            groupID: "rebalance-reader-\(UUID().uuidString)", topics: [Topics.matchingEvents.name],
            partitions: .explicit((0..<partitions).map { TopicPartition(Topics.matchingEvents.name, $0) })))
        var events = ObservedEvents()
        events.ignoresProducer = true
        let producer = try await log.makeProducer()
        var sent: [(record: ConsumedRecord, envelope: Exchange_V1_Envelope)] = []
        func send(_ slice: ArraySlice<Exchange_V1_Envelope>) async throws {
            let records = slice.map { OutgoingRecord(topic: Topics.matchingCommands.name, key: Self.symbol(of: $0), value: EnvelopeCodec.encode($0)) }
            for (position, (record, envelope)) in zip(try await producer.send(records), zip(records, slice)) {
                sent.append((ConsumedRecord(topicPartition: position.topicPartition, offset: position.offset, key: record.key,
                                            value: record.value, timestampMs: 0), envelope))
            }
        }
        func waitFor(within limit: Duration = .seconds(30), _ condition: (ObservedEvents) -> Bool) async throws {
            let end = ContinuousClock.now + limit
            while !condition(events) && ContinuousClock.now < end {
                events.absorb(try await reader.poll(maxRecords: 500, timeout: .milliseconds(50)))
            }
        }

        let a = instance("matching-a")
        let b = instance("matching-b")
        try a.start()
        try await send(commands[0..<600])
        try await waitFor { $0.seen.count > 0 }
        try b.start()
        // Trickle commands until the second instance, having joined the group, emits some.
        var next = 600
        let joinDeadline = ContinuousClock.now + .seconds(40)
        while !events.producers.contains("matching-b") && next < 1_200 && ContinuousClock.now < joinDeadline {
            // 10 per half second: the 600 commands last 30 s, long enough for a join under load.
            try await send(commands[next..<next + 10])
            next += 10
            try await waitFor(within: .milliseconds(500)) { _ in false }
        }
        try await send(commands[next..<1_200])
        #expect(events.producers.contains("matching-b"), "the second instance never got a partition")
        await a.kill()
        try await send(commands[1_200...])
        await producer.close()

        let (reference, expected, expectedOrder) = Self.uninterruptedRun(sent, catalog: nil, producer: "")
        try await events.collect(from: reader, until: expected.count)
        await reader.close()
        #expect(await b.stop() == 0)
        let restored = try Self.restoreAll(snapshots: "\(dataDir)/snapshots/matching")
        print("matching rebalance test: \(commands.count) commands, \(expected.count) events, \(events.duplicates) re-emitted duplicates, producers \(events.producers.sorted())")

        let missing = Set(expected.keys).subtracting(events.seen.keys)
        #expect(missing.isEmpty, "events lost: \(missing.count) of \(expected.count)")
        let wrong = events.seen.filter { expected[$0.key] != $0.value }.map(\.key) + events.conflicting
        #expect(wrong.isEmpty, "events differing from the uninterrupted run: \(wrong.count), e.g. \(wrong.prefix(5))")
        for symbol in symbols { #expect(events.order[symbol] == expectedOrder[symbol], "event order of \(symbol) differs") }
        #expect(restored.stateHash() == reference.stateHash())
        await log.shutdown()
        withExtendedLifetime(mock) {}
        await redis.teardown()
        for name in ["matching-a", "matching-b"] { try? FileManager.default.removeItem(atPath: "\(dataDir)-\(name).log") }
    }

    // MARK: Workload

    /// Funded LIMIT (GTC/IOC) and MARKET orders, cancels (some of unknown orders) and amends on
    /// three symbols from six users, each with a request id and the test's reply channel.
    static func commands(count: Int, rng: inout SplitMix64, symbols: [String] = symbols) -> [Exchange_V1_Envelope] {
        let unit: Int64 = 100_000_000
        var commands: [Exchange_V1_Envelope] = []
        var placed: [(orderID: UInt64, user: UInt64, symbol: String)] = []
        for i in 0..<count {
            let symbol = rng.pick(symbols)
            let user = UInt64(rng.int(1...6))
            let time = 1_763_000_000_000 + Int64(i)
            let payload: Exchange_V1_Envelope.OneOf_Payload
            let roll = rng.below(100)
            if roll < 20, !placed.isEmpty {
                let target = placed[rng.below(placed.count)]
                var cancel = Exchange_V1_CancelOrder()
                cancel.userID = target.user
                cancel.symbol = target.symbol
                cancel.orderID = target.orderID
                payload = .cancelOrder(cancel)
            } else if roll < 24, !placed.isEmpty {
                let target = placed[rng.below(placed.count)]
                var amend = Exchange_V1_AmendOrder()
                amend.userID = target.user
                amend.symbol = target.symbol
                amend.orderID = target.orderID
                amend.newQuantity = rng.int(1...3) * unit / 10
                payload = .amendOrder(amend)
            } else {
                var order = Exchange_V1_PlaceOrder()
                order.userID = user
                order.symbol = symbol
                order.orderID = UInt64(i + 1)
                order.clientOrderID = "c\(i + 1)"
                order.side = rng.chance(50) ? .buy : .sell
                order.quantity = rng.int(1...20) * unit / 10
                if roll < 29 {
                    order.type = .market
                } else {
                    order.type = .limit
                    order.timeInForce = roll < 36 ? .ioc : .gtc
                    let mid: Int64 = order.side == .buy ? 99 : 101
                    order.price = (mid + rng.int(-3...3)) * unit
                }
                let funded = Exchange_V1_FundedOrder(
                    order: order, makerCommissionRate: 100_000, takerCommissionRate: 100_000,
                    quoteBudget: order.type == .market && order.side == .buy ? 1_000 * unit : 0)
                placed.append((order.orderID, user, symbol))
                payload = .fundedOrder(funded)
            }
            commands.append(Exchange_V1_Envelope(
                payload: payload, requestID: "r\(i)", replyTo: replyChannel, createdAtMs: time, emittedAtMs: time))
        }
        return commands
    }

    static func symbol(of envelope: Exchange_V1_Envelope) -> String {
        switch envelope.payload {
        case .fundedOrder(let funded): funded.order.symbol
        case .cancelOrder(let cancel): cancel.symbol
        case .amendOrder(let amend): amend.symbol
        default: ""
        }
    }
}

/// What a reader saw on `matching.events`: first occurrences by id, and re-emitted copies.
struct ObservedEvents {
    var seen: [EventKey: Exchange_V1_Envelope] = [:]
    /// First-occurrence order per partition key (symbol).
    var order: [String: [EventKey]] = [:]
    var duplicates = 0
    /// Ids seen again with different content (an unmarked duplicate).
    var conflicting: [EventKey] = []

    /// Instances that emitted what was read.
    var producers: Set<String> = []

    /// Reads until `count` distinct events arrived (bounded: 60 s).
    mutating func collect(from reader: any EventConsumer, until count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.count < count && ContinuousClock.now < deadline {
            absorb(try await reader.poll(maxRecords: 1000, timeout: .milliseconds(200)))
        }
    }

    /// The `producer` field names the instance that emitted an event; with several instances in
    /// the group it is the only part allowed to differ from the uninterrupted run.
    var ignoresProducer = false

    mutating func absorb(_ records: [ConsumedRecord]) {
        for record in records {
            guard var envelope = try? EnvelopeCodec.decode(record.value) else { continue }
            producers.insert(envelope.producer)
            if ignoresProducer { envelope.producer = "" }
            let key = EventKey(envelope.eventID)
            if let first = seen[key] {
                duplicates += 1
                if first != envelope { conflicting.append(key) }
                continue
            }
            seen[key] = envelope
            order[String(decoding: record.key, as: UTF8.self), default: []].append(key)
        }
    }
}

/// An event's identity.
struct EventKey: Hashable, CustomStringConvertible {
    var partition: Int32
    var offset: Int64
    var index: UInt32
    init(_ id: Exchange_V1_EventID) {
        partition = id.sourcePartition
        offset = id.sourceOffset
        index = id.index
    }
    var description: String { "\(partition)/\(offset)/\(index)" }
}
