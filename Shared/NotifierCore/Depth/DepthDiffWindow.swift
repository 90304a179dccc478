import ExchangeProtocol

/// Merges one symbol's depth diffs over a window (100 ms or 1000 ms) into one `depthUpdate`,
/// as Binance's `@depth` and `@depth@100ms` streams do: `U` of the first diff, `u` of the last,
/// each price's latest quantity.
///
/// Windows stay continuous: a diff that does not follow the pending ones (`U != u + 1`: a resync
/// upstream or a worker handover) first closes the pending window, so every emitted update is
/// internally consistent and the client following Binance's procedure sees the gap and resyncs.
public struct DepthDiffWindow: Sendable {
    /// One merged update, ready to render.
    public struct Update: Equatable, Sendable {
        public var symbol: String
        public var eventTime: Int64
        public var firstUpdateID: Int64
        public var finalUpdateID: Int64
        /// Best first: bids descending, asks ascending.
        public var bids: [Exchange_V1_PriceLevel]
        public var asks: [Exchange_V1_PriceLevel]

        /// The Binance JSON payload.
        public var payload: String {
            MarketPayloads.depthUpdate(
                symbol: symbol, eventTime: eventTime, firstUpdateID: firstUpdateID, finalUpdateID: finalUpdateID,
                bids: bids, asks: asks)
        }
    }

    public let symbol: String
    private var first: Int64?
    private var last: Int64 = 0
    private var eventTime: Int64 = 0
    private var bids: [Int64: Int64] = [:]
    private var asks: [Int64: Int64] = [:]

    public init(symbol: String) { self.symbol = symbol }

    /// Whether nothing is pending.
    public var isEmpty: Bool { first == nil }

    /// Adds a diff; returns the pending window when the diff does not continue it.
    public mutating func add(_ diff: Exchange_V1_MdDepthDiff) -> Update? {
        var closed: Update?
        if first != nil, diff.firstUpdateID != last + 1 { closed = flush() }
        if first == nil { first = diff.firstUpdateID }
        last = diff.finalUpdateID
        eventTime = diff.eventTime
        for level in diff.bids { bids[level.price] = level.quantity }
        for level in diff.asks { asks[level.price] = level.quantity }
        return closed
    }

    /// Ends the window: the merged update, or nil when no diff arrived.
    public mutating func flush() -> Update? {
        guard let first else { return nil }
        let update = Update(
            symbol: symbol, eventTime: eventTime, firstUpdateID: first, finalUpdateID: last,
            bids: bids.sorted { $0.key > $1.key }.map { Self.level($0.key, $0.value) },
            asks: asks.sorted { $0.key < $1.key }.map { Self.level($0.key, $0.value) })
        self.first = nil
        bids.removeAll(keepingCapacity: true)
        asks.removeAll(keepingCapacity: true)
        return update
    }

    static func level(_ price: Int64, _ quantity: Int64) -> Exchange_V1_PriceLevel {
        var l = Exchange_V1_PriceLevel()
        l.price = price
        l.quantity = quantity
        return l
    }
}
