/// A price level as two Fixed8 raw values (units of 1e-8).
public struct PriceQuantity: Hashable, Sendable {
    public var price: Int64
    public var quantity: Int64
    public init(price: Int64, quantity: Int64) {
        self.price = price
        self.quantity = quantity
    }
}

/// What a Binance market-stream frame carried.
public enum BinanceEventKind: UInt8, Sendable {
    /// A frame without a known shape (kept for counting, never an error by itself).
    case unknown
    /// `<symbol>@depth` / `@depth@100ms`: U, u, b, a.
    case depthUpdate
    /// `<symbol>@trade`.
    case trade
    /// `<symbol>@aggTrade`.
    case aggTrade
    /// `<symbol>@bookTicker` (spot sends it without "e").
    case bookTicker
    /// `<symbol>@kline_<interval>`.
    case kline
    /// A reply to SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS: `{"result":..,"id":..}`.
    case control
}

/// One parsed frame. The parser fills a caller-owned value so the level arrays keep their
/// capacity from frame to frame: parsing allocates nothing once they have grown.
///
/// Which fields are meaningful depends on `kind`; the letters are Binance's keys.
public struct BinanceFrame: Sendable {
    public var kind: BinanceEventKind = .unknown
    public var symbol: SymbolKey = .empty
    /// E.
    public var eventTime: Int64 = 0
    /// depthUpdate: U. bookTicker: 0.
    public var firstUpdateID: Int64 = 0
    /// depthUpdate: u. bookTicker: u.
    public var finalUpdateID: Int64 = 0
    /// depthUpdate: b (quantity 0 removes the level).
    public var bids: [PriceQuantity] = []
    /// depthUpdate: a.
    public var asks: [PriceQuantity] = []
    /// trade: t. aggTrade: a.
    public var tradeID: Int64 = 0
    /// trade/aggTrade: p. kline: c (close).
    public var price: Int64 = 0
    /// trade/aggTrade: q.
    public var quantity: Int64 = 0
    /// aggTrade: f. kline: f.
    public var firstTradeID: Int64 = 0
    /// aggTrade: l. kline: L.
    public var lastTradeID: Int64 = 0
    /// trade/aggTrade: T.
    public var tradeTime: Int64 = 0
    /// trade/aggTrade: m.
    public var buyerIsMaker: Bool = false
    /// trade: b, a (order ids; absent since 2024 on some streams, then 0).
    public var buyerOrderID: Int64 = 0
    public var sellerOrderID: Int64 = 0
    /// bookTicker: b, B, a, A.
    public var bidPrice: Int64 = 0
    public var bidQuantity: Int64 = 0
    public var askPrice: Int64 = 0
    public var askQuantity: Int64 = 0
    /// kline (the "k" object).
    public var kline = KlineFields()

    public init() {}

    /// Clears the scalar fields and empties the level arrays, keeping their capacity.
    
    public mutating func reset() {
        kind = .unknown
        symbol = .empty
        eventTime = 0
        firstUpdateID = 0
        finalUpdateID = 0
        bids.removeAll(keepingCapacity: true)
        asks.removeAll(keepingCapacity: true)
        tradeID = 0
        price = 0
        quantity = 0
        firstTradeID = 0
        lastTradeID = 0
        tradeTime = 0
        buyerIsMaker = false
        buyerOrderID = 0
        sellerOrderID = 0
        bidPrice = 0
        bidQuantity = 0
        askPrice = 0
        askQuantity = 0
        kline = KlineFields()
    }
}

/// The fields of a kline's "k" object.
public struct KlineFields: Hashable, Sendable {
    /// i, as Binance's interval code (see `KlineInterval`); nil when unknown.
    public var interval: KlineInterval? = nil
    public var openTime: Int64 = 0
    public var closeTime: Int64 = 0
    public var firstTradeID: Int64 = 0
    public var lastTradeID: Int64 = 0
    public var open: Int64 = 0
    public var high: Int64 = 0
    public var low: Int64 = 0
    public var close: Int64 = 0
    public var volume: Int64 = 0
    public var quoteVolume: Int64 = 0
    public var tradeCount: Int64 = 0
    public var takerBuyBaseVolume: Int64 = 0
    public var takerBuyQuoteVolume: Int64 = 0
    public var closed: Bool = false
    public init() {}
}

/// Why a frame could not be parsed. Counted per reason; a frame with an error is dropped.
public enum FrameParseError: String, Error, Sendable, CaseIterable {
    case unexpectedEnd = "unexpected_end"
    case syntax = "syntax"
    case badNumber = "bad_number"
    case badDecimal = "bad_decimal"
    case symbolTooLong = "symbol_too_long"
    case tooDeep = "too_deep"
    case missingField = "missing_field"
}
