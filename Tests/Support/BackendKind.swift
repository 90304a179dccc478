import Messaging

/// The event-log backends tests run against.
public enum BackendKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case redis
    case kafkaMock

    public var description: String { rawValue }

    /// A fresh backend on loopback (its own redis-server, or its own librdkafka mock cluster).
    public func start() async throws -> TestBackend {
        switch self {
        case .redis: return try await RedisTestServer.startEventLog()
        case .kafkaMock: return try await KafkaMockTestCluster.startEventLog()
        }
    }

    /// Runs `body` against a fresh backend and always tears it down.
    public func with<T>(_ body: (any EventLog) async throws -> T) async throws -> T {
        try await start().use(body)
    }
}
