/// Where and how to connect to Redis.
public struct RedisConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Sent with `AUTH` after connecting when set (with `username`, as ACL `AUTH user pass`).
    public var password: String?
    public var username: String?
    /// Selected with `SELECT` after connecting when not 0.
    public var database: Int
    public var connectTimeout: Duration
    /// Socket read/write timeout of an ordinary command; a blocking command adds its own block time.
    public var commandTimeout: Duration
    /// First delay before reconnecting after a broken connection; doubles on each failure.
    public var reconnectInitialDelay: Duration
    /// Upper bound of the reconnect delay.
    public var reconnectMaxDelay: Duration

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        password: String? = nil,
        username: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        reconnectInitialDelay: Duration = .milliseconds(50),
        reconnectMaxDelay: Duration = .seconds(2)
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.username = username
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectInitialDelay = reconnectInitialDelay
        self.reconnectMaxDelay = reconnectMaxDelay
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, never negative.
    var redisMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
