import ExchangeProtocol
import Logging
import Messaging
import ServiceLifecycle
import Synchronization

/// Scale-out on Kafka: joins the ingestion consumer group on `md.control` and runs one
/// `IngestionWorker` for the symbols of the partitions (shards) it is assigned. When the group
/// rebalances (a worker joined, left or died past the session timeout) the worker is replaced
/// by one for the new assignment; the successor marks handover repeats as duplicates.
public final class ShardCoordinator: Service, Sendable {
    public let groupID: String
    let allSymbols: [String]
    let base: IngestionConfiguration
    let eventLog: any EventLog
    let redis: RedisClient?
    let logger: Logger
    let assignmentState = Mutex<(shards: Set<Int32>, workers: Int)>(([], 0))
    let currentWorker = Mutex<IngestionWorker?>(nil)
    let stopped = Mutex(false)

    public init(groupID: String = "market-data-ingest", symbols: [String], base: IngestionConfiguration, eventLog: any EventLog, redis: RedisClient?, logger: Logger) {
        self.groupID = groupID
        self.allSymbols = symbols
        self.base = base
        self.eventLog = eventLog
        self.redis = redis
        self.logger = logger
    }

    private func coordinate(consumer: any EventConsumer, topic: String, count: Int32) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            var current: IngestionWorker?
            var currentShards: Set<Int32>? = nil
            defer { current?.stop() }
            while !Task.isCancelled && !stopped.withLock({ $0 }) {
                _ = try await consumer.poll(maxRecords: 16, timeout: .milliseconds(200))
                let shards = Set(await consumer.assignment().filter { $0.topic == topic }.map(\.partition))
                guard shards != currentShards else { continue }
                current?.stop()
                currentShards = shards
                var configuration = base
                configuration.symbols = SymbolShards.symbols(allSymbols, inShards: shards, count: count)
                logger.info("ingestion shards assigned", metadata: [
                    "exchange.md.shards": "\(shards.sorted())", "exchange.md.symbols": "\(configuration.symbols)",
                ])
                let worker = IngestionWorker(configuration: configuration, eventLog: eventLog, redis: redis, logger: logger)
                current = worker
                currentWorker.withLock { $0 = worker }
                assignmentState.withLock { state in
                    state.shards = shards
                    state.workers += 1
                }
                if !configuration.symbols.isEmpty {
                    group.addTask { try await worker.run() }
                }
            }
        }
    }

    /// Leaves the group (after the current poll) and stops the worker: `run()` returns.
    public func shutdown() {
        stopped.withLock { $0 = true }
    }

    /// The worker for the current assignment.
    public var worker: IngestionWorker? { currentWorker.withLock { $0 } }

    /// The shards currently assigned and how many workers were started so far.
    public var assignment: (shards: Set<Int32>, workers: Int) { assignmentState.withLock { $0 } }

    public func run() async throws {
        let topic = SymbolShards.controlTopic
        let count: Int32
        do {
            count = try await eventLog.partitionCount(of: topic.name)
        } catch {
            try? await eventLog.createTopics([TopicSpec(name: topic.name, partitions: topic.defaultPartitions)])
            count = try await eventLog.partitionCount(of: topic.name)
        }
        let consumer = try await eventLog.makeConsumer(ConsumerConfiguration(
            groupID: groupID, topics: [topic.name], partitions: .group, clientID: base.instance))
        try? await cancelWhenGracefulShutdown {
            try await self.coordinate(consumer: consumer, topic: topic.name, count: count)
        }
        await consumer.close()
    }
}
