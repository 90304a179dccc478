import ExchangeProtocol
import Logging

/// The event log on Redis Streams: the one-machine default backend (`backendName` "redis").
///
/// One stream per partition (`<topic>:<partition>`), dense Kafka-like offsets (see
/// `RedisStreamsLayout`), a topic registry hash, and committed positions in a hash per group.
/// Durability comes from the server's `appendfsync always`: Redis replies to a write only after
/// it is fsynced to the AOF. Partition assignment is static (no rebalancing).
public final class RedisStreamsEventLog: EventLog {
    public let configuration: RedisStreamsConfiguration
    private let admin: RedisClient
    private let logger: Logger

    public var backendName: String { "redis" }

    /// Connects and, when `requireFsyncAlways`, checks the server's AOF settings.
    public init(configuration: RedisStreamsConfiguration, logger: Logger? = nil) async throws {
        self.configuration = configuration
        self.logger = logger ?? Logger(label: "exchange.redis.eventlog")
        self.admin = try await RedisClient.connect(configuration: configuration.redis, label: "eventlog-admin",
                                                   logger: self.logger)
        if configuration.requireFsyncAlways {
            do {
                try await checkFsyncAlways()
            } catch {
                await admin.close()
                throw error
            }
        }
    }

    public func createTopics(_ topics: [TopicSpec]) async throws {
        if topics.isEmpty { return }
        for topic in topics where topic.partitions < 1 || topic.name.isEmpty {
            throw MessagingError(.invalidArgument, "topic \(topic.name) needs a name and at least one partition")
        }
        let replies = try await admin.pipeline(topics.map {
            ["HSETNX", .string(configuration.topicsKey), .string($0.name), .int($0.partitions)]
        })
        for reply in replies { try reply.throwingOnError() }
    }

    public func partitionCount(of topic: String) async throws -> Int32 {
        try await RedisStreamsLayout.partitionCounts(of: [topic], client: admin, topicsKey: configuration.topicsKey)[topic]!
    }

    public func endOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        if partitions.isEmpty { return [:] }
        // The newest entry's id is 0-(offset+1), i.e. 0-<end offset>; a missing stream is empty.
        let replies = try await admin.pipeline(partitions.map {
            ["XREVRANGE", .string(RedisStreamsLayout.streamKey($0)), "+", "-", "COUNT", "1"]
        })
        var ends: [TopicPartition: Int64] = [:]
        for (partition, reply) in zip(partitions, replies) {
            try reply.throwingOnError()
            if let newest = reply.array?.first?.array?.first?.bytes {
                ends[partition] = try RedisStreamsLayout.offset(ofID: newest) + 1
            } else {
                ends[partition] = 0
            }
        }
        return ends
    }

    public func makeProducer() async throws -> any EventProducer {
        RedisStreamsProducer(
            client: RedisClient(configuration: configuration.redis, label: "eventlog-producer", logger: logger),
            topicsKey: configuration.topicsKey)
    }

    public func makeConsumer(_ consumerConfiguration: ConsumerConfiguration) async throws -> any EventConsumer {
        try await RedisStreamsConsumer.make(consumerConfiguration, configuration: configuration, logger: logger)
    }

    public func shutdown() async {
        await admin.close()
    }

    private func checkFsyncAlways() async throws {
        let replies = try await admin.pipeline([
            ["CONFIG", "GET", "appendonly"],
            ["CONFIG", "GET", "appendfsync"],
        ])
        let appendonly = try replies[0].throwingOnError().array?.last?.string
        let appendfsync = try replies[1].throwingOnError().array?.last?.string
        guard appendonly == "yes", appendfsync == "always" else {
            throw MessagingError(.invalidArgument, """
                Redis at \(configuration.redis.host):\(configuration.redis.port) has appendonly=\(appendonly ?? "?") \
                appendfsync=\(appendfsync ?? "?"); the event log needs appendonly=yes and appendfsync=always \
                so that acknowledged records survive a crash (or set requireFsyncAlways = false)
                """)
        }
    }
}
