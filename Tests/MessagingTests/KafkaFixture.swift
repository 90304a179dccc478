import Messaging

/// Starts a librdkafka mock cluster for a test. (Implemented with the Kafka client.)
enum KafkaMockTestCluster {
    static func startEventLog() async throws -> TestBackend {
        throw MessagingError(.backendError, "Kafka backend not implemented yet")
    }
}
