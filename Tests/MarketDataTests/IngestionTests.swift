import BinanceClient
import BinanceReplay
import ExchangeProtocol
import ExchangeTestSupport
import Foundation
import Logging
import MarketDataCore
import MarketDataService
import Messaging
import Synchronization
import Testing

/// Ingestion end to end on loopback: the replay server serves the recorded capture, a worker
/// ingests it into Redis Streams and Redis; faults are injected by the replay.
@Suite("ingestion against the replay", .serialized)
struct IngestionTests {
    static let streams = ["depth@100ms", "bookTicker", "aggTrade", "kline_1m"]

    /// Runs a replay server for the duration of `body`.
    static func withReplay<T: Sendable>(
        faults: ReplayFaults = .none, speed: Double = 0, _ body: @escaping @Sendable (Int, BinanceReplayServer) async throws -> T
    ) async throws -> T {
        let server = BinanceReplayServer(capture: Fixtures.capture, configuration: .init(speed: speed, faults: faults), logger: Logger(label: "replay"))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.run { continuation.yield($0) }
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            let result = try await body(port, server)
            group.cancelAll()
            return result
        }
    }

    /// Waits (bounded) until `condition` holds; false when it never did.
    static func eventually(within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// Ingests the capture with `faults` and checks the final books against the reconstruction.
    static func ingest(faults: ReplayFaults, speed: Double = 0, check: @escaping @Sendable (IngestionWorker, ReplayStatistics, RedisClient, any EventLog) async throws -> Void) async throws {
        let redisServer = try await RedisTestServer.start()
        let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: redisServer.configuration))
        let redis = RedisClient(configuration: redisServer.configuration, label: "test")
        defer { Task { await redisServer.teardown() } }
        try await log.createTopics([Topics.mdDepth, Topics.mdTrades, Topics.mdTickers].map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) })
        try await withReplay(faults: faults, speed: speed) { port, server in
            let worker = IngestionWorker(
                configuration: IngestionConfiguration(
                    restBaseURL: "http://127.0.0.1:\(port)", streamBaseURL: "ws://127.0.0.1:\(port)", symbols: Fixtures.symbols,
                    streamKinds: streams, snapshotLimit: 5000, instance: "md-test", redisDepthIntervalMs: 0),
                eventLog: log, redis: redis, logger: Logger(label: "md-test"))
            let reference = Fixtures.referenceBooks()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                let reached = await eventually {
                    Fixtures.symbols.allSatisfy { symbol in
                        guard let state = worker.book(symbol: symbol) else { return false }
                        return state.phase == .synced && state.lastUpdateID == reference[symbol]!.lastUpdateID
                    }
                }
                #expect(reached, "books did not reach the end of the capture: \(worker.counters)")
                for symbol in Fixtures.symbols {
                    let state = try #require(worker.book(symbol: symbol))
                    #expect(Fixtures.reference(of: state.book, lastUpdateID: state.lastUpdateID) == reference[symbol], "\(symbol)")
                }
                try await check(worker, server.statistics, redis, log)
                worker.stop()
                try await group.waitForAll()
            }
        }
        await redis.close()
        await log.shutdown()
    }

    @Test func booksAfterReplayEqualTheReconstructionAndRedisHasThem() async throws {
        try await Self.ingest(faults: .none) { worker, statistics, redis, log in
            #expect(worker.counters.resyncs == 0 && worker.counters.parseErrorTotal == 0)
            #expect(statistics.connections == 1)
            let reference = Fixtures.referenceBooks()
            // Latest depth and top of book in Redis, as the router reads them.
            let written = await Self.eventually {
                guard let bytes = try? await redis.send(["GET", RedisArgument(RedisNames.marketDepth(symbol: "NKNUSDT"))]).bytes,
                      let snapshot = try? Exchange_V1_MdDepthSnapshot(serializedBytes: bytes)
                else { return false }
                return snapshot.lastUpdateID == reference["NKNUSDT"]!.lastUpdateID
            }
            #expect(written)
            let bytes = try #require(try await redis.send(["GET", RedisArgument(RedisNames.marketDepth(symbol: "NKNUSDT"))]).bytes)
            let snapshot = try Exchange_V1_MdDepthSnapshot(serializedBytes: bytes)
            #expect(snapshot.bids.count == reference["NKNUSDT"]!.bids.count)
            #expect(Fixed8(raw: snapshot.bids[0].price).description == reference["NKNUSDT"]!.bids.keys.max { Fixed8($0)! < Fixed8($1)! })
            let tickerWritten = await Self.eventually {
                guard let bytes = try? await redis.send(["GET", RedisArgument(RedisNames.bookTicker(symbol: "LRCBTC"))]).bytes else { return false }
                return (try? Exchange_V1_MdBookTicker(serializedBytes: bytes))?.symbol == "LRCBTC"
            }
            #expect(tickerWritten)
            // Records reached the md topics.
            let flushed = await Self.eventually {
                let partitions = (0..<Topics.mdDepth.defaultPartitions).map { TopicPartition(Topics.mdDepth.name, $0) }
                let ends = (try? await log.endOffsets(partitions)) ?? [:]
                return ends.values.reduce(0, +) > 0
            }
            #expect(flushed)
        }
    }

    /// Paced (8x real time) so the book is live when the diff goes missing; at full speed the
    /// whole capture is buffered before the snapshot, which then already covers the gap.
    @Test func injectedGapTriggersAResync() async throws {
        try await Self.ingest(faults: ReplayFaults(gapSymbol: "NKNUSDT", gapFrame: 60), speed: 8) { worker, statistics, _, _ in
            #expect(worker.counters.resyncs >= 1)
            #expect(statistics.depthRequests["NKNUSDT", default: 0] >= 2)
        }
    }

    @Test func droppedConnectionReconnects() async throws {
        try await Self.ingest(faults: ReplayFaults(dropConnectionAfter: 60)) { worker, statistics, _, _ in
            #expect(statistics.connections >= 2)
            #expect(worker.connections >= 2)
        }
    }

    @Test func staleSnapshotIsRefetched() async throws {
        try await Self.ingest(faults: ReplayFaults(staleSnapshots: 1)) { worker, statistics, _, _ in
            #expect(worker.counters.snapshotsTooOld >= 4)
            for symbol in Fixtures.symbols { #expect(statistics.depthRequests[symbol, default: 0] >= 2) }
        }
    }

    @Test func restClientWaitsOutA429AndTracksWeight() async throws {
        try await Self.withReplay(faults: ReplayFaults(rateLimitFirst: 1)) { port, _ in
            let client = BinanceRESTClient(configuration: .init(baseURL: "http://127.0.0.1:\(port)"), logger: Logger(label: "rest"))
            let minuteBefore = Int64(Date().timeIntervalSince1970) / 60
            let body = try await client.depth(symbol: "LRCBTC", limit: 10)
            let minuteAfter = Int64(Date().timeIntervalSince1970) / 60
            let snapshot = try DepthSnapshot.parse(String(decoding: body, as: UTF8.self)).get()
            #expect(snapshot.bids.count == 10)
            let status = client.currentStatus
            #expect(status.rateLimitedResponses == 1)
            // 5 for the refused request and 5 for the answered one, in the same minute; the replay,
            // like Binance, restarts the count when the minute turns during the Retry-After wait.
            if minuteBefore == minuteAfter {
                #expect(status.usedWeight1m == 10)
            } else {
                #expect(status.usedWeight1m == 5 || status.usedWeight1m == 10)
            }
            do {
                _ = try await client.depth(symbol: "NOPE", limit: 10)
                Issue.record("an unknown symbol must fail")
            } catch let error as BinanceError {
                #expect(error.code == .api && error.apiCode == -1121)
            }
            let offset = try await client.synchronizeTime()
            #expect(abs(offset) < 60_000)
        }
    }
}
