/// Where the event log lives: `redis://HOST:PORT` (Redis Streams, the one-machine default) or
/// `kafka://HOST:PORT[,HOST:PORT...]` (Kafka bootstrap servers).
public enum EventLogEndpoint: Sendable, Hashable, CustomStringConvertible {
    case redis(host: String, port: Int)
    case kafka(bootstrapServers: String)

    /// Parses the URL forms above; nil for anything else.
    public init?(_ text: String) {
        if text.hasPrefix("kafka://") {
            let servers = String(text.dropFirst("kafka://".count))
            guard !servers.isEmpty else { return nil }
            self = .kafka(bootstrapServers: servers)
        } else if let (host, port) = RedisEndpoint.hostPort(text) {
            self = .redis(host: host, port: port)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .redis(let host, let port): return "redis://\(host):\(port)"
        case .kafka(let servers): return "kafka://\(servers)"
        }
    }
}

/// A Redis server address, `redis://HOST:PORT`.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        guard let (host, port) = Self.hostPort(text) else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { "redis://\(host):\(port)" }

    static func hostPort(_ text: String) -> (String, Int)? {
        guard text.hasPrefix("redis://") else { return nil }
        let rest = text.dropFirst("redis://".count)
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
              (1...65535).contains(port), colon != rest.startIndex else { return nil }
        return (String(rest[..<colon]), port)
    }
}
