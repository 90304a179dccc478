import CRdKafka
import Foundation

/// An in-process Kafka cluster (librdkafka's mock brokers) on loopback, for tests and for
/// `exchange kafka-mock`. It speaks the Kafka protocol for produce, fetch, offsets, metadata and
/// consumer groups, but not the admin API: create topics with `createTopic` (which
/// `KafkaEventLog` does for you when given the cluster).
///
/// `@unchecked Sendable`: librdkafka's mock-cluster functions hand their work to the cluster's own
/// thread and are safe to call from any thread; the two pointers are immutable after `init`.
public final class KafkaMockCluster: @unchecked Sendable {
    /// The client handle the mock cluster is attached to (librdkafka requires one); destroyed last.
    private let rk: OpaquePointer
    private let cluster: OpaquePointer
    /// The brokers' `host:port` list, for `KafkaConfiguration.bootstrapServers`.
    public let bootstrapServers: String
    /// Brokers are numbered `1...brokerCount`.
    public let brokerCount: Int32

    /// Starts `brokers` mock brokers listening on loopback ports chosen by the OS.
    public init(brokers: Int32 = 3) throws {
        precondition(brokers > 0, "a cluster has at least one broker")
        let conf = try RdKafka.makeConf([("client.id", "exchange-kafka-mock"), ("log_level", "4")])
        rk = try RdKafka.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_mock_cluster_new(rk, Int32(brokers)) else {
            rd_kafka_destroy(rk)
            throw MessagingError(.backendError, "rd_kafka_mock_cluster_new failed")
        }
        self.cluster = cluster
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        // The cluster refers to the handle, so it must go first.
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(rk)
    }

    /// Creates a topic (the mock brokers do not implement the CreateTopics request).
    /// Creating an existing topic is not an error; its partition count stays as it was.
    public func createTopic(name: String, partitions: Int32, replicationFactor: Int32 = 1) throws {
        guard partitions > 0, replicationFactor > 0, replicationFactor <= brokerCount else {
            throw MessagingError(.invalidArgument,
                "topic \(name): \(partitions) partitions, replication \(replicationFactor) on \(brokerCount) brokers")
        }
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
            throw RdKafka.error(err, "mock topic \(name)")
        }
    }

    /// Disconnects broker `id` (or every broker for `nil`) and refuses new connections.
    /// Leadership does not move, so its partitions become unavailable.
    public func setBrokerDown(_ id: Int32? = nil) throws {
        let err = rd_kafka_mock_broker_set_down(cluster, id ?? -1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw RdKafka.error(err, "broker \(id ?? -1) down") }
    }

    /// Lets broker `id` (or every broker for `nil`) accept connections again.
    public func setBrokerUp(_ id: Int32? = nil) throws {
        let err = rd_kafka_mock_broker_set_up(cluster, id ?? -1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw RdKafka.error(err, "broker \(id ?? -1) up") }
    }

    /// Makes the next `errorCodes.count` requests of Kafka API `apiKey` (e.g. 0 = Produce) fail
    /// with these Kafka error codes, in order — for failure-injection tests.
    public func failNextRequests(apiKey: Int16, errorCodes: [Int32]) {
        let errors = errorCodes.map { rd_kafka_resp_err_t(rawValue: $0) }
        errors.withUnsafeBufferPointer {
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, $0.count, $0.baseAddress)
        }
    }

    /// Forgets errors queued by `failNextRequests` for `apiKey`.
    public func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster, apiKey)
    }
}
