/// A typed 64-bit identifier: `UserID`, `OrderID` and `TradeID` share this one implementation but
/// cannot be mixed up, because each has its own `Tag`.
public struct Identifier<Tag: IdentifierTag>: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible, ExpressibleByIntegerLiteral
{
    public var rawValue: Tag.RawValue
    public init(rawValue: Tag.RawValue) { self.rawValue = rawValue }
    public init(_ value: Tag.RawValue) { self.rawValue = value }
    public init(integerLiteral value: Tag.RawValue) { self.rawValue = value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// Names an identifier kind and its integer type.
public protocol IdentifierTag: Sendable {
    associatedtype RawValue: FixedWidthInteger & Sendable & Codable & _ExpressibleByBuiltinIntegerLiteral
}

public enum UserTag: IdentifierTag { public typealias RawValue = UInt64 }
public enum OrderTag: IdentifierTag { public typealias RawValue = UInt64 }
public enum TradeTag: IdentifierTag { public typealias RawValue = Int64 }

/// A user (account) of the exchange.
public typealias UserID = Identifier<UserTag>
/// An order id: 64-bit, unique across the exchange, time-ordered (see `OrderIDGenerator`).
public typealias OrderID = Identifier<OrderTag>
/// A trade id, dense per symbol from 1 as on Binance.
public typealias TradeID = Identifier<TradeTag>

extension Identifier where Tag == UserTag {
    /// The partition key of user-keyed topics.
    public var partitionKey: String { String(rawValue) }
}

/// A trading pair's name as Binance spells it (`BTCUSDT`): 1-20 of A-Z, 0-9, `-`, `_`, `.`.
public struct Symbol: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    /// Accepts Binance's symbol alphabet only (what `^[A-Z0-9-_.]{1,20}$` allows).
    public init?(rawValue: String) {
        guard Symbol.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
    /// The partition key of symbol-keyed topics.
    public var partitionKey: String { rawValue }

    /// Binance's documented pattern for the `symbol` parameter.
    public static let pattern = "^[A-Z0-9-_.]{1,20}$"

    static func isValid(_ text: String, maxLength: Int = 20) -> Bool {
        let utf8 = text.utf8
        guard (1...maxLength).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }
}

/// An asset (coin) name, e.g. `BTC`, `USDT`.
public struct Asset: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init?(rawValue: String) {
        guard Symbol.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
