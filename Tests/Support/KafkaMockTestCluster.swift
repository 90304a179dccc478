import Messaging

/// Starts a librdkafka mock cluster for a test.
public enum KafkaMockTestCluster {
    /// Client settings that make group rebalances and failures fast on loopback.
    public static func configuration(_ cluster: KafkaMockCluster, extra: [String: String] = [:]) -> KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers,
            clientID: "exchange-tests",
            lingerMs: 1,
            messageTimeoutMs: 10_000,
            requestTimeoutMs: 5_000,
            extraProperties: [
                // The mock coordinator waits session.timeout.ms - 1 s for members to rejoin (and 3 s on the
                // first join, which must fit in the session timeout).
                "session.timeout.ms": "4000",
                "heartbeat.interval.ms": "100",
                "topic.metadata.refresh.interval.ms": "1000",
                "log_level": "3",
            ].merging(extra) { $1 })
    }

    /// A fresh three-broker mock cluster and a `KafkaEventLog` on it.
    public static func startEventLog() async throws -> TestBackend {
        let (backend, _) = try await start()
        return backend
    }

    /// Like `startEventLog`, also returning the cluster for failure injection.
    public static func start(brokers: Int32 = 3, extra: [String: String] = [:]) async throws -> (TestBackend, KafkaMockCluster) {
        let cluster = try KafkaMockCluster(brokers: brokers)
        let log = try KafkaEventLog(configuration: configuration(cluster, extra: extra), mockCluster: cluster)
        let backend = TestBackend(log: log, teardown: { await log.shutdown() })
        return (backend, cluster)
    }
}
