import ExchangeProtocol

/// One symbol's order book. Pure: no I/O, no clock, no logging; the same commands give the same
/// events and the same `stateHash()` on every run. Both the fast book and the reference book
/// conform, and randomized differential tests hold them to identical outputs.
public protocol OrderBookEngine: Sendable {
    init(rules: SymbolRules)
    var rules: SymbolRules { get }
    /// Applies one command, appending what happened to `events` (which the caller reuses, so the
    /// hot path allocates nothing). A rejected command appends one `.rejected` and changes nothing.
    mutating func apply(_ command: MatchingCommand, into events: inout MatchingEvents)
    /// Last trade price (0 before the first trade): what stop orders trigger on.
    var lastTradePrice: Int64 { get }
    /// The id of the newest book change (`levelChanged.updateID`).
    var lastUpdateID: Int64 { get }
    /// Visible depth: up to `limit` levels per side, best first, as (price, quantity).
    func depth(limit: Int) -> (bids: [(price: Int64, quantity: Int64)], asks: [(price: Int64, quantity: Int64)])
    /// Open orders (resting or untriggered stops), for snapshots, audits and cancel-all.
    var openOrderCount: Int { get }
    /// A hash of the whole state (orders in queue order, stops, ids, last price); equal states hash equal.
    func stateHash() -> UInt64
    /// The whole state, byte-exact: `init(snapshot:)` restores an engine with the same hash and behaviour.
    func snapshot() -> [UInt8]
    init(snapshot: [UInt8]) throws
}

/// Binance's rejection codes and messages used by the book.
public enum BookRejection {
    public static let wouldTake = (code: Int32(-2010), message: "Order would immediately match and take.")
    public static let duplicateOrder = (code: Int32(-2010), message: "Duplicate order sent.")
    public static let stopWouldTrigger = (code: Int32(-2010), message: "Stop price would trigger immediately.")
    public static let unknownOrder = (code: Int32(-2011), message: "Unknown order sent.")
    public static let cancelRestricted = (code: Int32(-2011), message: "Order was not canceled due to cancel restrictions.")
    public static let stpModeNotAllowed = (code: Int32(-1013), message: "This order type is not possible in this market.")
    public static let badQuantity = (code: Int32(-1013), message: "Invalid quantity.")
    public static let amendNotLess = (code: Int32(-2038), message: "The requested quantity must be strictly less than the order's current quantity.")
}
