/// One argument of a Redis command: bytes sent as-is (binary-safe, length-prefixed on the wire).
/// Write string literals directly: `client.send(["SET", "k", .bytes(value)])`.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The raw bytes of the argument.
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init<I: BinaryInteger>(_ integer: I) { self.bytes = Array(String(integer).utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int64) { self.init(value) }

    /// An argument carrying these bytes.
    public static func bytes(_ bytes: [UInt8]) -> RedisArgument { RedisArgument(bytes: bytes) }
    /// An argument carrying this text as UTF-8.
    public static func string(_ string: String) -> RedisArgument { RedisArgument(string) }
    /// An argument carrying this integer in decimal.
    public static func int<I: BinaryInteger>(_ integer: I) -> RedisArgument { RedisArgument(integer) }

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}
