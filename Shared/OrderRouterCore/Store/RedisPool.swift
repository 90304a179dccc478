import Messaging
import Synchronization

/// A few `RedisClient`s used round robin. One client serialises its commands on one connection,
/// so the router spreads concurrent requests over several.
public final class RedisPool: Sendable {
    private let clients: [RedisClient]
    private let counter = Atomic<Int>(0)

    public init(configuration: RedisConfiguration, size: Int = 4, label: String = "order-router") {
        clients = (0..<max(1, size)).map { RedisClient(configuration: configuration, label: "\(label)-\($0)") }
    }

    public func next() -> RedisClient {
        let n = counter.add(1, ordering: .relaxed).newValue
        return clients[n % clients.count]
    }

    public func close() async {
        for client in clients { await client.close() }
    }
}
