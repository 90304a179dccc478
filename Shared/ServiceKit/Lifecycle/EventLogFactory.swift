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
            return try KafkaEventLog(configuration: KafkaConfiguration(bootstrapServers: servers))
        }
    }
}
