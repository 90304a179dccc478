import ExchangeProtocol

/// The event log on Kafka: topics through the admin API, one idempotent producer and one consumer
/// per `make…` call, all on the cluster in `configuration`.
///
/// Given a `KafkaMockCluster`, topics are created through the mock's own call instead of the
/// CreateTopics request, which librdkafka's mock brokers do not implement.
public final class KafkaEventLog: EventLog {
    /// Always `"kafka"`.
    public let backendName = "kafka"
    /// The cluster's connection settings shared by every client this log creates.
    public let configuration: KafkaConfiguration
    /// Replication factor for created topics; -1 takes the broker default.
    public let replicationFactor: Int32
    private let admin: KafkaAdmin
    private let mockCluster: KafkaMockCluster?

    /// Connects to the cluster in `configuration`. `mockCluster` is only for tests and
    /// `exchange kafka-mock`: it is kept alive by the log and used to create topics.
    public init(configuration: KafkaConfiguration, replicationFactor: Int32 = -1, mockCluster: KafkaMockCluster? = nil) throws {
        self.configuration = configuration
        self.replicationFactor = replicationFactor
        self.mockCluster = mockCluster
        self.admin = try KafkaAdmin(configuration: configuration, keepAlive: mockCluster)
    }

    /// Creates missing topics; existing ones keep their partition count.
    ///
    /// With a mock cluster the mock's own topic creation is used: librdkafka 2.0.2's mock brokers
    /// do not answer CreateTopics (the request waits for a controller until it times out).
    public func createTopics(_ topics: [TopicSpec]) async throws {
        if let mockCluster {
            let factor = replicationFactor > 0 ? replicationFactor : min(3, mockCluster.brokerCount)
            for topic in topics {
                try mockCluster.createTopic(name: topic.name, partitions: topic.partitions, replicationFactor: factor)
            }
            return
        }
        try await admin.createTopics(topics, replicationFactor: replicationFactor)
    }

    /// The partition count from cluster metadata (`.unknownTopic` when absent).
    public func partitionCount(of topic: String) async throws -> Int32 {
        try await admin.partitionCount(of: topic)
    }

    /// High watermarks from `rd_kafka_query_watermark_offsets`.
    public func endOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try await admin.endOffsets(partitions)
    }

    /// A new idempotent producer with its own connections and poll thread.
    public func makeProducer() async throws -> any EventProducer {
        try KafkaProducer(configuration: configuration)
    }

    /// A new consumer, already subscribed or assigned as `configuration.partitions` says.
    public func makeConsumer(_ configuration: ConsumerConfiguration) async throws -> any EventConsumer {
        try await KafkaConsumer.make(configuration: self.configuration, consumer: configuration)
    }

    /// Nothing shared to release beyond the admin client, which goes with the log.
    public func shutdown() async {}
}
