/// Names of the Redis keys and Pub/Sub channels services share (besides the event log's own
/// streams). Writers and readers name them only through here, like topics through `Topics`.
public enum RedisNames {
    /// The Pub/Sub channel a router instance listens on for `RequestOutcome`s of its requests;
    /// it puts this name in each request envelope's `reply_to`.
    public static func replyChannel(instance: String) -> String { "reply.\(instance)" }

    /// Latest depth of an internal symbol: a `BookDelta` with `is_snapshot` set, the top levels of
    /// each side and `last_update_id` (protobuf bytes). Every diff up to that id is already durable
    /// in `matching.events`, so Binance's snapshot-plus-diffs procedure works against it.
    public static func depthSnapshot(symbol: String) -> String { "depth:\(symbol)" }
}
