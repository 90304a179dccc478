/// Settings of the Redis Streams event log.
public struct RedisStreamsConfiguration: Sendable, Hashable {
    /// The Redis server holding the streams.
    public var redis: RedisConfiguration
    /// Check once at startup that the server runs `appendonly yes` with `appendfsync always`, and
    /// refuse to start otherwise: only then is an acknowledged append on disk.
    public var requireFsyncAlways: Bool
    /// Hash of topic name → partition count.
    public var topicsKey: String
    /// Prefix of the per-group hash of committed positions (`<prefix><group>`).
    public var offsetsKeyPrefix: String

    public init(
        redis: RedisConfiguration = RedisConfiguration(),
        requireFsyncAlways: Bool = true,
        topicsKey: String = "eventlog:topics",
        offsetsKeyPrefix: String = "eventlog:offsets:"
    ) {
        self.redis = redis
        self.requireFsyncAlways = requireFsyncAlways
        self.topicsKey = topicsKey
        self.offsetsKeyPrefix = offsetsKeyPrefix
    }
}
