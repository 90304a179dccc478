import ArgumentParser
import ExchangeProtocol
import Foundation
import Messaging
import ServiceLifecycle

/// `exchange kafka-mock --brokers N`: a Kafka cluster made of librdkafka's mock brokers, on
/// loopback, for tests and local runs on machines where no Kafka broker can be installed. It
/// prints its bootstrap address and serves until Ctrl-C.
struct KafkaMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-mock",
        abstract: "Run librdkafka's mock Kafka cluster on loopback and print its bootstrap address.")

    @Option(help: "Number of mock brokers.")
    var brokers: Int32 = 3

    @Flag(help: "Also create the exchange's topic catalogue (the mock brokers do not answer CreateTopics).")
    var createTopics = false

    func run() async throws {
        let cluster = try KafkaMockCluster(brokers: brokers)
        if createTopics {
            for topic in Topics.all {
                try cluster.createTopic(name: topic.name, partitions: topic.defaultPartitions, replicationFactor: min(3, brokers))
            }
        }
        writeLine(cluster.bootstrapServers)
        // Serve until SIGINT/SIGTERM; the cluster lives as long as this process.
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: WaitForShutdown())], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: .init(label: "exchange.kafka-mock")))
        try await group.run()
        withExtendedLifetime(cluster) {}
    }
}

/// A service that only waits for graceful shutdown.
struct WaitForShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
