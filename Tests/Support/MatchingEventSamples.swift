import ExchangeProtocol

/// `matching.events` payloads for tests of their consumers (market-data's aggregates, the REST
/// market endpoints): a trade of one taker order and a book delta, on BTCUSDT.
public enum MatchingEventSamples {
    /// Fixed8 raw value of a decimal written with an optional leading minus.
    public static func fx(_ text: String) -> Int64 {
        text.hasPrefix("-") ? -Fixed8(String(text.dropFirst()))!.raw : Fixed8(text)!.raw
    }

    /// A trade of `taker` (the buyer unless `buyerIsMaker`) against a maker order.
    public static func trade(_ id: Int64, _ price: String, _ qty: String, time: Int64, taker: UInt64, buyerIsMaker: Bool) -> Exchange_V1_Envelope {
        var t = Exchange_V1_Trade()
        t.symbol = "BTCUSDT"
        t.tradeID = id
        t.price = fx(price)
        t.quantity = fx(qty)
        t.quoteQuantity = Fixed8(raw: t.price).multiplied(by: Fixed8(raw: t.quantity))!.raw
        t.buyerOrderID = buyerIsMaker ? 7 : taker
        t.sellerOrderID = buyerIsMaker ? taker : UInt64(id)
        t.buyerIsMaker = buyerIsMaker
        t.time = time
        return Exchange_V1_Envelope(payload: .trade(t), createdAtMs: time, emittedAtMs: time)
    }

    /// A diff with update ids first...last and the levels' new quantities (0 removes).
    public static func delta(_ first: Int64, _ last: Int64, bids: [(String, String)], asks: [(String, String)], time: Int64) -> Exchange_V1_Envelope {
        func levels(_ side: [(String, String)]) -> [Exchange_V1_PriceLevel] {
            side.map { var l = Exchange_V1_PriceLevel(); l.price = fx($0.0); l.quantity = fx($0.1); return l }
        }
        var d = Exchange_V1_BookDelta()
        d.symbol = "BTCUSDT"
        d.firstUpdateID = first
        d.lastUpdateID = last
        d.eventTime = time
        d.bids = levels(bids)
        d.asks = levels(asks)
        return Exchange_V1_Envelope(payload: .bookDelta(d), createdAtMs: time, emittedAtMs: time)
    }
}
