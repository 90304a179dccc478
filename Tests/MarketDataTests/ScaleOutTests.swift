import BinanceReplay
import ExchangeProtocol
import ExchangeTestSupport
import Foundation
import Logging
import MarketDataCore
import MarketDataService
import Messaging
import Testing

/// Three ingestion workers share the symbols through a Kafka consumer group on md.control (the
/// librdkafka mock cluster); one stops; its symbols move to the others and keep flowing, and
/// what the successor re-publishes below the predecessor's watermarks is marked duplicate.
@Suite("ingestion scale-out", .serialized)
struct ScaleOutTests {
    @Test func threeWorkersOneStopsEverySymbolKeepsFlowing() async throws {
        let (backend, _) = try await KafkaMockTestCluster.start()
        let redisServer = try await RedisTestServer.start()
        let redis = RedisClient(configuration: redisServer.configuration, label: "test")
        let log = backend.log
        try await log.createTopics(
            [Topics.mdDepth, Topics.mdTrades, Topics.mdTickers].map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) }
                + [TopicSpec(name: SymbolShards.controlTopic.name, partitions: SymbolShards.controlTopic.defaultPartitions)])
        let reference = Fixtures.referenceBooks()
        try await IngestionTests.withReplay { port, _ in
            let coordinators = (0..<3).map { index in
                ShardCoordinator(
                    symbols: Fixtures.symbols,
                    base: IngestionConfiguration(
                        restBaseURL: "http://127.0.0.1:\(port)", streamBaseURL: "ws://127.0.0.1:\(port)", symbols: [],
                        streamKinds: IngestionTests.streams, instance: "md-\(index)", redisDepthIntervalMs: 0),
                    eventLog: log, redis: redis, logger: Logger(label: "md-\(index)"))
            }
            /// Which live coordinators own each symbol with a book at the end of the capture.
            @Sendable func owners(_ live: [Int]) -> [String: [Int]] {
                var result: [String: [Int]] = [:]
                for index in live {
                    guard let worker = coordinators[index].worker else { continue }
                    for symbol in worker.configuration.symbols {
                        if let state = worker.book(symbol: symbol), state.phase == .synced,
                           state.lastUpdateID == reference[symbol]!.lastUpdateID {
                            result[symbol, default: []].append(index)
                        }
                    }
                }
                return result
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for coordinator in coordinators { group.addTask { try await coordinator.run() } }
                // All three joined (every one has had an assignment with shards) and every symbol is live exactly once.
                let settled = await IngestionTests.eventually(within: .seconds(60)) {
                    let shards = coordinators.map { $0.assignment.shards }
                    let owned = owners([0, 1, 2])
                    return shards.allSatisfy { !$0.isEmpty } && shards.map(\.count).reduce(0, +) == 16
                        && Fixtures.symbols.allSatisfy { owned[$0]?.count == 1 }
                }
                #expect(settled, "\(coordinators.map { $0.assignment })")
                let before = owners([0, 1, 2])
                let victim = try #require(before["NKNUSDT"]?.first)
                let survivors = [0, 1, 2].filter { $0 != victim }
                let workersBefore = survivors.map { coordinators[$0].assignment.workers }
                // Stop one worker: its consumer leaves the group and the others are rebalanced.
                let victimTask = coordinators[victim]
                victimTask.worker?.stop()
                await Self.cancelCoordinator(victimTask)
                let moved = await IngestionTests.eventually(within: .seconds(60)) {
                    let owned = owners(survivors)
                    return Fixtures.symbols.allSatisfy { owned[$0]?.count == 1 }
                        && survivors.map { coordinators[$0].assignment.shards.count }.reduce(0, +) == 16
                }
                #expect(moved, "symbols did not move: \(survivors.map { coordinators[$0].assignment })")
                #expect(zip(survivors, workersBefore).contains { coordinators[$0.0].assignment.workers > $0.1 })
                let heir = try #require(owners(survivors)["NKNUSDT"]?.first)
                // NKNUSDT's book tickers were published by the victim; the heir's replayed ones repeat them.
                #expect((coordinators[heir].worker?.counters.duplicatesMarked ?? 0) > 0)
                group.cancelAll()
            }
        }
        await redis.close()
        await backend.teardown()
        await redisServer.teardown()
    }

    static func cancelCoordinator(_ coordinator: ShardCoordinator) async {
        coordinator.shutdown()
    }
}
