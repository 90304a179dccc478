import ArgumentParser
import Foundation
import Logging
import Messaging

/// Opens the configured event-log backend.
public enum EventLogFactory {
    /// Redis Streams (requires the server to run `appendonly yes`, `appendfsync always`) or Kafka.
    public static func connect(_ endpoint: EventLogEndpoint, logger: Logger) async throws -> any EventLog {
        switch endpoint {
        case .redis(let host, let port):
            return try await RedisStreamsEventLog(
                configuration: RedisStreamsConfiguration(redis: RedisConfiguration(host: host, port: port)), logger: logger)
        case .kafka(let servers):
            let extra = try kafkaProperties(ProcessInfo.processInfo.environment["EXCHANGE_KAFKA_PROPERTIES"] ?? "")
            return try KafkaEventLog(configuration: KafkaConfiguration(bootstrapServers: servers, extraProperties: extra))
        }
    }

    /// librdkafka properties from `EXCHANGE_KAFKA_PROPERTIES`: `name=value` pairs separated by
    /// commas, e.g. `session.timeout.ms=6000,security.protocol=ssl`.
    public static func kafkaProperties(_ text: String) throws -> [String: String] {
        var properties: [String: String] = [:]
        for pair in text.split(separator: ",") where !pair.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("EXCHANGE_KAFKA_PROPERTIES: expected name=value, got '\(pair)'") }
            properties[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return properties
    }
}
