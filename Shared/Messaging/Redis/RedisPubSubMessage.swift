/// A message received on a subscribed channel.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published to.
    public var channel: String
    /// The published bytes, verbatim.
    public var payload: [UInt8]
    /// The matching pattern when it arrived through `PSUBSCRIBE`; nil for `SUBSCRIBE`.
    public var pattern: String?

    public init(channel: String, payload: [UInt8], pattern: String? = nil) {
        self.channel = channel
        self.payload = payload
        self.pattern = pattern
    }
}
