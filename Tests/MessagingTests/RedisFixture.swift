import Messaging

/// Starts a private redis-server on a free loopback port for a test. (Implemented with the Redis client.)
enum RedisTestServer {
    static func startEventLog() async throws -> TestBackend {
        throw MessagingError(.backendError, "Redis Streams backend not implemented yet")
    }
}
