import ExchangeProtocol
import MatchingEngine

/// Drives any `OrderBookEngine` in exchange-core's scenario style ("Alice places an ASK 101 at
/// 1600@7"): whole-unit prices and quantities, a clock that advances 1 ms per command, and the
/// events of the last command at hand. Shared by the scenario tests of both books.
struct BookDriver<Book: OrderBookEngine> {
    var book: Book
    var time: Int64 = 1_700_000_000_000
    var events: [MatchingEvent] = []

    init(rules: SymbolRules = SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT")) {
        book = Book(rules: rules)
    }

    /// Whole units to Fixed8 raw.
    static func units(_ value: Int64) -> Int64 { value * 100_000_000 }

    @discardableResult
    mutating func apply(_ command: MatchingCommand) -> [MatchingEvent] {
        events.removeAll(keepingCapacity: true)
        book.apply(command, into: &events)
        time += 1
        return events
    }

    /// A LIMIT order with whole-unit price and quantity.
    @discardableResult
    mutating func limit(
        _ orderID: UInt64, user: UInt64, _ side: Side, price: Int64, quantity: Int64, tif: TimeInForce = .gtc,
        stp: SelfTradePreventionMode? = nil, clientOrderID: String = ""
    ) -> [MatchingEvent] {
        apply(.place(OrderRequest(
            orderID: orderID, userID: user, clientOrderID: clientOrderID, side: side, type: .limit, timeInForce: tif,
            price: Self.units(price), quantity: Self.units(quantity), selfTradePrevention: stp, time: time)))
    }

    /// The reports of the last command, by order id.
    func reports(for orderID: UInt64) -> [ExecutionReport] {
        events.compactMap { if case .report(let r) = $0, r.orderID == orderID { return r } else { return nil } }
    }

    /// The trades of the last command.
    var trades: [TradeEvent] {
        events.compactMap { if case .trade(let t) = $0 { return t } else { return nil } }
    }

    /// The rejection of the last command, if it was rejected.
    var rejection: Rejection? {
        events.lazy.compactMap { if case .rejected(let r) = $0 { return r } else { return nil } }.first
    }
}
