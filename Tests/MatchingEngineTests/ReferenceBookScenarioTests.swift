import ExchangeProtocol
import MatchingEngine
import Testing

// Scenario tests of the reference book against docs/matching-semantics.md. Events are compared
// as compact one-line renderings (see `render`) so each expectation reads like the contract; a
// few tests also pin whole structs field by field.

/// Whole units, as raw Fixed8.
private func u(_ value: Int64) -> Int64 { value * 100_000_000 }

/// A raw Fixed8 as a short decimal: 250000000 -> "2.5".
private func d(_ raw: Int64) -> String {
    var text = Fixed8(raw: raw).description
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}

/// One event on one line. Reports: `#id x X l.. z..` then only the fields that carry something
/// (`Z` cumulative quote, `t/L/Y` trade, `n` commission+asset, `m` maker, `v/B` prevention,
/// `A` prevented so far, `c=/C=` when origClientOrderID is set), always `w0/w1`.
func render(_ event: MatchingEvent) -> String {
    switch event {
    case .report(let r):
        var s = "#\(r.orderID) \(r.executionType.rawValue) \(r.status.rawValue) l\(d(r.lastExecutedQty)) z\(d(r.cumulativeQty))"
        if r.cumulativeQuoteQty != 0 { s += " Z\(d(r.cumulativeQuoteQty))" }
        if r.tradeID != -1 { s += " t\(r.tradeID) L\(d(r.lastPrice)) Y\(d(r.lastQuoteQty))" }
        if !r.commissionAsset.isEmpty { s += " n\(d(r.commission))\(r.commissionAsset)" }
        if r.isMaker { s += " m" }
        if r.preventedMatchID != 0 { s += " v\(r.preventedMatchID) B\(d(r.lastPreventedQuantity))" }
        if r.preventedQuantity != 0 { s += " A\(d(r.preventedQuantity))" }
        s += r.isWorking ? " w1" : " w0"
        if !r.origClientOrderID.isEmpty { s += " c=\(r.clientOrderID) C=\(r.origClientOrderID)" }
        return s
    case .trade(let t):
        return "T\(t.tradeID) \(d(t.quantity))@\(d(t.price)) Q\(d(t.quoteQuantity)) b#\(t.buyerOrderID) s#\(t.sellerOrderID)"
            + (t.buyerIsMaker ? " bm" : " sm") + " bc\(d(t.buyerCommission)) sc\(d(t.sellerCommission))"
    case .levelChanged(let side, let price, let quantity, let updateID):
        return "L \(side.rawValue) \(d(price))=\(d(quantity)) u\(updateID)"
    case .rejected(let r):
        return "X u\(r.userID) #\(r.orderID) '\(r.clientOrderID)' \(r.code) \(r.message)"
    }
}

typealias RefDriver = BookDriver<ReferenceBook>

extension BookDriver {
    /// Applies and renders.
    mutating func run(_ command: MatchingCommand) -> [String] { apply(command).map(render) }

    /// Any order, whole-unit amounts.
    mutating func order(
        _ orderID: UInt64, user: UInt64, _ side: Side, _ type: OrderType, tif: TimeInForce = .gtc, price: Int64 = 0,
        quantity: Int64 = 0, quoteOrderQty: Int64 = 0, stopPrice: Int64 = 0, iceberg: Int64 = 0,
        stp: SelfTradePreventionMode? = nil, budget: Int64 = 0, clientOrderID: String = ""
    ) -> [String] {
        run(.place(OrderRequest(
            orderID: orderID, userID: user, clientOrderID: clientOrderID, side: side, type: type, timeInForce: tif,
            price: u(price), quantity: u(quantity), quoteOrderQty: u(quoteOrderQty), stopPrice: u(stopPrice),
            icebergQty: u(iceberg), selfTradePrevention: stp, quoteBudget: u(budget), time: time)))
    }

    /// `limit` rendered.
    mutating func lim(
        _ orderID: UInt64, user: UInt64, _ side: Side, price: Int64, quantity: Int64, tif: TimeInForce = .gtc,
        stp: SelfTradePreventionMode? = nil, clientOrderID: String = ""
    ) -> [String] {
        limit(orderID, user: user, side, price: price, quantity: quantity, tif: tif, stp: stp,
              clientOrderID: clientOrderID).map(render)
    }

    mutating func cancel(
        user: UInt64, orderID: UInt64 = 0, orig: String = "", new: String = "", restrictions: CancelRestrictions? = nil
    ) -> [String] {
        run(.cancel(CancelRequest(userID: user, orderID: orderID, origClientOrderID: orig, newClientOrderID: new,
                                  cancelRestrictions: restrictions, time: time)))
    }

    var depthUnits: (bids: [String], asks: [String]) {
        let depth = book.depth(limit: 100)
        return (depth.bids.map { "\(d($0.price))=\(d($0.quantity))" }, depth.asks.map { "\(d($0.price))=\(d($0.quantity))" })
    }
}

private let rejectDuplicate = "-2010 Duplicate order sent."
private let rejectBadQuantity = "-1013 Invalid quantity."

@Suite("ReferenceBook scenarios")
struct ReferenceBookScenarioTests {
    @Test func gtcRestsAndFillsPartially() {
        var b = RefDriver()
        #expect(b.lim(1, user: 1, .sell, price: 100, quantity: 10) == [
            "#1 NEW NEW l0 z0 w1",
            "L SELL 100=10 u1",
        ])
        #expect(b.lim(2, user: 2, .buy, price: 101, quantity: 4) == [
            "#2 NEW NEW l0 z0 w1",
            "T1 4@100 Q400 b#2 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l4 z4 Z400 t1 L100 Y400 n0USDT m w1",
            "#2 TRADE FILLED l4 z4 Z400 t1 L100 Y400 n0BTC w0",
            "L SELL 100=6 u2",
        ])
        #expect(b.lim(3, user: 3, .buy, price: 100, quantity: 10) == [
            "#3 NEW NEW l0 z0 w1",
            "T2 6@100 Q600 b#3 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l6 z10 Z1000 t2 L100 Y600 n0USDT m w0",
            "#3 TRADE PARTIALLY_FILLED l6 z6 Z600 t2 L100 Y600 n0BTC w1",
            "L SELL 100=0 u3",
            "L BUY 100=4 u4",
        ])
        #expect(b.depthUnits.bids == ["100=4"])
        #expect(b.depthUnits.asks == [])
        #expect(b.book.lastTradePrice == u(100))
        #expect(b.book.lastUpdateID == 4)
        #expect(b.book.openOrderCount == 1)
    }

    @Test func newReportAndTradeCarryEveryField() {
        var b = RefDriver()
        let t0 = b.time
        b.apply(.place(OrderRequest(
            orderID: 7, userID: 70, clientOrderID: "ask7", side: .sell, type: .limit, timeInForce: .gtc, price: u(100),
            quantity: u(3), selfTradePrevention: .decrement, makerCommissionRate: 100_000, takerCommissionRate: 200_000,
            strategyID: 55, strategyType: 1_000_001, time: t0)))
        #expect(b.events.first == .report(ExecutionReport(
            orderID: 7, userID: 70, clientOrderID: "ask7", origClientOrderID: "", side: .sell, type: .limit,
            timeInForce: .gtc, quantity: u(3), price: u(100), stopPrice: 0, icebergQty: 0, quoteOrderQty: 0,
            executionType: .new, status: .new, rejectReason: "NONE", lastExecutedQty: 0, cumulativeQty: 0,
            cumulativeQuoteQty: 0, lastPrice: 0, lastQuoteQty: 0, commission: 0, commissionAsset: "",
            transactionTime: t0, tradeID: -1, isMaker: false, isWorking: true, workingTime: t0, orderCreationTime: t0,
            selfTradePrevention: .decrement, preventedMatchID: 0, preventedQuantity: 0, lastPreventedQuantity: 0,
            strategyID: 55, strategyType: 1_000_001)))
        let t1 = b.time
        b.apply(.place(OrderRequest(
            orderID: 8, userID: 80, side: .buy, type: .market, quantity: u(1), makerCommissionRate: 100_000,
            takerCommissionRate: 200_000, time: t1)))
        #expect(b.trades == [TradeEvent(
            tradeID: 1, price: u(100), quantity: u(1), quoteQuantity: u(100), buyerOrderID: 8, sellerOrderID: 7,
            buyerUserID: 80, sellerUserID: 70, buyerIsMaker: false, buyerCommission: 200_000,
            sellerCommission: 10_000_000, time: t1)])
        #expect(b.reports(for: 7) == [ExecutionReport(
            orderID: 7, userID: 70, clientOrderID: "ask7", origClientOrderID: "", side: .sell, type: .limit,
            timeInForce: .gtc, quantity: u(3), price: u(100), stopPrice: 0, icebergQty: 0, quoteOrderQty: 0,
            executionType: .trade, status: .partiallyFilled, rejectReason: "NONE", lastExecutedQty: u(1),
            cumulativeQty: u(1), cumulativeQuoteQty: u(100), lastPrice: u(100), lastQuoteQty: u(100),
            commission: 10_000_000, commissionAsset: "USDT", transactionTime: t1, tradeID: 1, isMaker: true,
            isWorking: true, workingTime: t0, orderCreationTime: t0, selfTradePrevention: .decrement,
            preventedMatchID: 0, preventedQuantity: 0, lastPreventedQuantity: 0, strategyID: 55,
            strategyType: 1_000_001)])
        // The taker's default STP is the symbol's (EXPIRE_MAKER), MARKET's price 0 is echoed.
        let taker = b.reports(for: 8)
        #expect(taker.count == 2)
        #expect(taker.last?.selfTradePrevention == .expireMaker)
        #expect(taker.last?.status == .filled)
        #expect(taker.last?.commission == 200_000)
        #expect(taker.last?.commissionAsset == "BTC")
        #expect(taker.last?.price == 0)
    }

    @Test func immediateOrCancel() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 5)
        #expect(b.lim(2, user: 2, .buy, price: 100, quantity: 8, tif: .ioc) == [
            "#2 NEW NEW l0 z0 w1",
            "T1 5@100 Q500 b#2 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l5 z5 Z500 t1 L100 Y500 n0USDT m w0",
            "#2 TRADE PARTIALLY_FILLED l5 z5 Z500 t1 L100 Y500 n0BTC w1",
            "L SELL 100=0 u2",
            "#2 EXPIRED EXPIRED l0 z5 Z500 w0",
        ])
        #expect(b.lim(3, user: 2, .buy, price: 100, quantity: 1, tif: .ioc) == [
            "#3 NEW NEW l0 z0 w1",
            "#3 EXPIRED EXPIRED l0 z0 w0",
        ])
        #expect(b.book.openOrderCount == 0)
    }

    @Test func fillOrKill() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 3)
        _ = b.lim(2, user: 1, .sell, price: 101, quantity: 3)
        _ = b.lim(3, user: 1, .sell, price: 102, quantity: 3)
        let hash = b.book.stateHash()
        #expect(b.lim(4, user: 2, .buy, price: 101, quantity: 7, tif: .fok) == [
            "#4 NEW NEW l0 z0 w1",
            "#4 EXPIRED EXPIRED l0 z0 w0",
        ])
        #expect(b.book.stateHash() == hash)
        // The same user's makers do not count (unless NONE).
        #expect(b.lim(5, user: 1, .buy, price: 101, quantity: 6, tif: .fok) == [
            "#5 NEW NEW l0 z0 w1",
            "#5 EXPIRED EXPIRED l0 z0 w0",
        ])
        #expect(b.lim(6, user: 2, .buy, price: 101, quantity: 6, tif: .fok) == [
            "#6 NEW NEW l0 z0 w1",
            "T1 3@100 Q300 b#6 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l3 z3 Z300 t1 L100 Y300 n0USDT m w0",
            "#6 TRADE PARTIALLY_FILLED l3 z3 Z300 t1 L100 Y300 n0BTC w1",
            "L SELL 100=0 u4",
            "T2 3@101 Q303 b#6 s#2 sm bc0 sc0",
            "#2 TRADE FILLED l3 z3 Z303 t2 L101 Y303 n0USDT m w0",
            "#6 TRADE FILLED l3 z6 Z603 t2 L101 Y303 n0BTC w0",
            "L SELL 101=0 u5",
        ])
        #expect(b.lim(7, user: 1, .buy, price: 102, quantity: 3, tif: .fok, stp: SelfTradePreventionMode.none) == [
            "#7 NEW NEW l0 z0 w1",
            "T3 3@102 Q306 b#7 s#3 sm bc0 sc0",
            "#3 TRADE FILLED l3 z3 Z306 t3 L102 Y306 n0USDT m w0",
            "#7 TRADE FILLED l3 z3 Z306 t3 L102 Y306 n0BTC w0",
            "L SELL 102=0 u6",
        ])
    }

    @Test func marketByQuantity() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 2)
        _ = b.lim(2, user: 1, .sell, price: 101, quantity: 2)
        #expect(b.order(3, user: 2, .buy, .market, quantity: 3) == [
            "#3 NEW NEW l0 z0 w1",
            "T1 2@100 Q200 b#3 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l2 z2 Z200 t1 L100 Y200 n0USDT m w0",
            "#3 TRADE PARTIALLY_FILLED l2 z2 Z200 t1 L100 Y200 n0BTC w1",
            "L SELL 100=0 u3",
            "T2 1@101 Q101 b#3 s#2 sm bc0 sc0",
            "#2 TRADE PARTIALLY_FILLED l1 z1 Z101 t2 L101 Y101 n0USDT m w1",
            "#3 TRADE FILLED l1 z3 Z301 t2 L101 Y101 n0BTC w0",
            "L SELL 101=1 u4",
        ])
        #expect(b.order(4, user: 2, .buy, .market, quantity: 5) == [
            "#4 NEW NEW l0 z0 w1",
            "T3 1@101 Q101 b#4 s#2 sm bc0 sc0",
            "#2 TRADE FILLED l1 z2 Z202 t3 L101 Y101 n0USDT m w0",
            "#4 TRADE PARTIALLY_FILLED l1 z1 Z101 t3 L101 Y101 n0BTC w1",
            "L SELL 101=0 u5",
            "#4 EXPIRED EXPIRED l0 z1 Z101 w0",
        ])
        #expect(b.order(5, user: 2, .sell, .market, quantity: 1) == [
            "#5 NEW NEW l0 z0 w1",
            "#5 EXPIRED EXPIRED l0 z0 w0",
        ])
    }

    @Test func marketByQuoteOrderQty() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 2)
        _ = b.lim(2, user: 1, .sell, price: 110, quantity: 2)
        // 320 quote: 2 @ 100 (200), then 120/110 = 1.09090909 @ 110 = 119.9999999 (rounded down);
        // the 0.0000001 left buys nothing at 110, so the order expires.
        #expect(b.order(3, user: 2, .buy, .market, quoteOrderQty: 320) == [
            "#3 NEW NEW l0 z0 w1",
            "T1 2@100 Q200 b#3 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l2 z2 Z200 t1 L100 Y200 n0USDT m w0",
            "#3 TRADE PARTIALLY_FILLED l2 z2 Z200 t1 L100 Y200 n0BTC w1",
            "L SELL 100=0 u3",
            "T2 1.09090909@110 Q119.9999999 b#3 s#2 sm bc0 sc0",
            "#2 TRADE PARTIALLY_FILLED l1.09090909 z1.09090909 Z119.9999999 t2 L110 Y119.9999999 n0USDT m w1",
            "#3 TRADE PARTIALLY_FILLED l1.09090909 z3.09090909 Z319.9999999 t2 L110 Y119.9999999 n0BTC w1",
            "L SELL 110=0.90909091 u4",
            "#3 EXPIRED EXPIRED l0 z3.09090909 Z319.9999999 w0",
        ])
        #expect(b.reports(for: 3).allSatisfy { $0.quantity == 0 && $0.quoteOrderQty == u(320) })
        // Exactly spent: FILLED, nothing after (the better price comes first).
        _ = b.lim(4, user: 1, .sell, price: 100, quantity: 5)
        #expect(b.order(5, user: 2, .buy, .market, quoteOrderQty: 99) == [
            "#5 NEW NEW l0 z0 w1",
            "T3 0.99@100 Q99 b#5 s#4 sm bc0 sc0",
            "#4 TRADE PARTIALLY_FILLED l0.99 z0.99 Z99 t3 L100 Y99 n0USDT m w1",
            "#5 TRADE FILLED l0.99 z0.99 Z99 t3 L100 Y99 n0BTC w0",
            "L SELL 100=4.01 u6",
        ])
        // Sell side by quote: receive up to 150 from bids at 100: 1.5 base.
        var s = RefDriver()
        _ = s.lim(1, user: 1, .buy, price: 100, quantity: 2)
        #expect(s.order(2, user: 2, .sell, .market, quoteOrderQty: 150) == [
            "#2 NEW NEW l0 z0 w1",
            "T1 1.5@100 Q150 b#1 s#2 bm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l1.5 z1.5 Z150 t1 L100 Y150 n0BTC m w1",
            "#2 TRADE FILLED l1.5 z1.5 Z150 t1 L100 Y150 n0USDT w0",
            "L BUY 100=0.5 u2",
        ])
    }

    @Test func marketQuoteOrderFilledExactly() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 5)
        #expect(b.order(2, user: 2, .buy, .market, quoteOrderQty: 300) == [
            "#2 NEW NEW l0 z0 w1",
            "T1 3@100 Q300 b#2 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l3 z3 Z300 t1 L100 Y300 n0USDT m w1",
            "#2 TRADE FILLED l3 z3 Z300 t1 L100 Y300 n0BTC w0",
            "L SELL 100=2 u2",
        ])
    }

    @Test func marketBuyWithQuoteBudget() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 5)
        // Wants 4, may spend 250: gets 2.5, then the budget is gone.
        #expect(b.order(2, user: 2, .buy, .market, quantity: 4, budget: 250) == [
            "#2 NEW NEW l0 z0 w1",
            "T1 2.5@100 Q250 b#2 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l2.5 z2.5 Z250 t1 L100 Y250 n0USDT m w1",
            "#2 TRADE PARTIALLY_FILLED l2.5 z2.5 Z250 t1 L100 Y250 n0BTC w1",
            "L SELL 100=2.5 u2",
            "#2 EXPIRED EXPIRED l0 z2.5 Z250 w0",
        ])
        // A budget that covers everything changes nothing.
        #expect(b.order(3, user: 2, .buy, .market, quantity: 1, budget: 1000) == [
            "#3 NEW NEW l0 z0 w1",
            "T2 1@100 Q100 b#3 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l1 z3.5 Z350 t2 L100 Y100 n0USDT m w1",
            "#3 TRADE FILLED l1 z1 Z100 t2 L100 Y100 n0BTC w0",
            "L SELL 100=1.5 u3",
        ])
    }

    @Test func limitMakerRejectsWhenItWouldTake() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 1)
        _ = b.lim(2, user: 1, .buy, price: 90, quantity: 1)
        #expect(b.order(3, user: 2, .buy, .limitMaker, price: 100, quantity: 1) == [
            "X u2 #3 '' -2010 Order would immediately match and take.",
        ])
        #expect(b.order(4, user: 2, .sell, .limitMaker, price: 90, quantity: 1) == [
            "X u2 #4 '' -2010 Order would immediately match and take.",
        ])
        #expect(b.order(5, user: 2, .buy, .limitMaker, price: 99, quantity: 1) == [
            "#5 NEW NEW l0 z0 w1",
            "L BUY 99=1 u3",
        ])
        #expect(b.order(6, user: 2, .sell, .limitMaker, price: 101, quantity: 2, iceberg: 1) == [
            "#6 NEW NEW l0 z0 w1",
            "L SELL 101=1 u4",
        ])
    }

    @Test func validationRejectsBadQuantities() {
        var b = RefDriver()
        #expect(b.order(1, user: 1, .buy, .limit, price: 0, quantity: 1) == ["X u1 #1 '' \(rejectBadQuantity)"])
        #expect(b.order(2, user: 1, .buy, .limit, price: 1, quantity: 0) == ["X u1 #2 '' \(rejectBadQuantity)"])
        #expect(b.order(3, user: 1, .buy, .market) == ["X u1 #3 '' \(rejectBadQuantity)"])
        #expect(b.order(4, user: 1, .buy, .market, quantity: 1, quoteOrderQty: 1) == ["X u1 #4 '' \(rejectBadQuantity)"])
        #expect(b.order(5, user: 1, .buy, .stopLoss, quantity: 1) == ["X u1 #5 '' \(rejectBadQuantity)"])
        #expect(b.order(6, user: 1, .buy, .limit, tif: .ioc, price: 1, quantity: 2, iceberg: 1) == ["X u1 #6 '' \(rejectBadQuantity)"])
        #expect(b.order(7, user: 1, .buy, .limit, price: 1, quantity: 2, iceberg: 2) == ["X u1 #7 '' \(rejectBadQuantity)"])
        #expect(b.order(8, user: 1, .buy, .limit, price: 1, quantity: 2, budget: -1) == ["X u1 #8 '' \(rejectBadQuantity)"])
        #expect(b.order(9, user: 1, .buy, .takeProfit, quantity: 0, stopPrice: 1) == ["X u1 #9 '' \(rejectBadQuantity)"])
        #expect(b.order(10, user: 1, .buy, .stopLossLimit, price: 1, quantity: 1, stopPrice: 2, iceberg: 0) == [
            "#10 NEW NEW l0 z0 w0",
        ])
        #expect(b.book.openOrderCount == 1)
        #expect(b.book.lastUpdateID == 0)
    }

    @Test func stpExpireTaker() {
        var b = RefDriver()
        _ = b.lim(1, user: 2, .sell, price: 100, quantity: 2)
        _ = b.lim(2, user: 1, .sell, price: 100, quantity: 3)
        #expect(b.lim(3, user: 1, .buy, price: 100, quantity: 5, stp: .expireTaker) == [
            "#3 NEW NEW l0 z0 w1",
            "T1 2@100 Q200 b#3 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l2 z2 Z200 t1 L100 Y200 n0USDT m w0",
            "#3 TRADE PARTIALLY_FILLED l2 z2 Z200 t1 L100 Y200 n0BTC w1",
            "L SELL 100=3 u3",
            "#3 EXPIRED EXPIRED_IN_MATCH l0 z2 Z200 v1 B3 A3 w0",
        ])
        #expect(b.depthUnits.asks == ["100=3"])
        #expect(b.depthUnits.bids == [])
    }

    @Test func stpExpireMaker() {
        var b = RefDriver()
        _ = b.lim(1, user: 2, .sell, price: 100, quantity: 2)
        _ = b.lim(2, user: 1, .sell, price: 100, quantity: 3)
        // nil = the symbol default, EXPIRE_MAKER.
        #expect(b.lim(3, user: 1, .buy, price: 100, quantity: 5) == [
            "#3 NEW NEW l0 z0 w1",
            "T1 2@100 Q200 b#3 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l2 z2 Z200 t1 L100 Y200 n0USDT m w0",
            "#3 TRADE PARTIALLY_FILLED l2 z2 Z200 t1 L100 Y200 n0BTC w1",
            "L SELL 100=3 u3",
            "#2 EXPIRED EXPIRED_IN_MATCH l0 z0 m v1 B3 A3 w0",
            "L SELL 100=0 u4",
            "L BUY 100=3 u5",
        ])
    }

    @Test func stpExpireBoth() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 3)
        _ = b.lim(2, user: 2, .sell, price: 100, quantity: 3)
        #expect(b.lim(3, user: 1, .buy, price: 100, quantity: 5, stp: .expireBoth) == [
            "#3 NEW NEW l0 z0 w1",
            "#1 EXPIRED EXPIRED_IN_MATCH l0 z0 m v1 B3 A3 w0",
            "L SELL 100=3 u3",
            "#3 EXPIRED EXPIRED_IN_MATCH l0 z0 v1 B5 A5 w0",
        ])
        // The next prevention gets the next id.
        _ = b.lim(4, user: 2, .buy, price: 100, quantity: 1, stp: .expireTaker)
        #expect(b.events.map(render).last == "#4 EXPIRED EXPIRED_IN_MATCH l0 z0 v2 B1 A1 w0")
    }

    @Test func stpDecrementMakerSmaller() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 3)
        #expect(b.lim(2, user: 1, .buy, price: 100, quantity: 5, stp: .decrement) == [
            "#2 NEW NEW l0 z0 w1",
            "#1 EXPIRED EXPIRED_IN_MATCH l0 z0 m v1 B3 A3 w0",
            "#2 TRADE_PREVENTION NEW l0 z0 v1 B3 A3 w1",
            "L SELL 100=0 u2",
            "L BUY 100=2 u3",
        ])
        #expect(b.depthUnits.bids == ["100=2"])
    }

    @Test func stpDecrementTakerSmaller() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 5)
        #expect(b.lim(2, user: 1, .buy, price: 100, quantity: 2, stp: .decrement) == [
            "#2 NEW NEW l0 z0 w1",
            "#1 TRADE_PREVENTION NEW l0 z0 m v1 B2 A2 w1",
            "#2 EXPIRED EXPIRED_IN_MATCH l0 z0 v1 B2 A2 w0",
            "L SELL 100=3 u2",
        ])
        // The maker's remainder shrank: 3 left to trade, of quantity 5.
        #expect(b.lim(3, user: 2, .buy, price: 100, quantity: 4, tif: .ioc) == [
            "#3 NEW NEW l0 z0 w1",
            "T1 3@100 Q300 b#3 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l3 z3 Z300 t1 L100 Y300 n0USDT m A2 w1",
            "#3 TRADE PARTIALLY_FILLED l3 z3 Z300 t1 L100 Y300 n0BTC w1",
            "L SELL 100=0 u3",
            "#3 EXPIRED EXPIRED l0 z3 Z300 w0",
        ])
        #expect(b.book.openOrderCount == 0)
    }

    @Test func stpNoneTradesWithItself() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 1)
        #expect(b.lim(2, user: 1, .buy, price: 100, quantity: 1, stp: SelfTradePreventionMode.none) == [
            "#2 NEW NEW l0 z0 w1",
            "T1 1@100 Q100 b#2 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l1 z1 Z100 t1 L100 Y100 n0USDT m w0",
            "#2 TRADE FILLED l1 z1 Z100 t1 L100 Y100 n0BTC w0",
            "L SELL 100=0 u2",
        ])
    }

    @Test func stpModeMustBeAllowed() {
        var b = RefDriver(rules: SymbolRules(
            symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", defaultSelfTradePrevention: .none,
            allowedSelfTradePrevention: [.none, .expireTaker]))
        #expect(b.lim(1, user: 1, .buy, price: 100, quantity: 1, stp: .decrement) == [
            "X u1 #1 '' -1013 This order type is not possible in this market.",
        ])
        #expect(b.lim(2, user: 1, .buy, price: 100, quantity: 1).first == "#2 NEW NEW l0 z0 w1")
        #expect(b.reports(for: 2).first?.selfTradePrevention == SelfTradePreventionMode.none)
    }

    @Test func icebergRequeuesBehindTheLevel() {
        var b = RefDriver()
        #expect(b.order(1, user: 1, .sell, .limit, price: 100, quantity: 10, iceberg: 3) == [
            "#1 NEW NEW l0 z0 w1",
            "L SELL 100=3 u1",
        ])
        _ = b.lim(2, user: 2, .sell, price: 100, quantity: 2)
        #expect(b.depthUnits.asks == ["100=5"])
        #expect(b.lim(3, user: 3, .buy, price: 100, quantity: 4) == [
            "#3 NEW NEW l0 z0 w1",
            "T1 3@100 Q300 b#3 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l3 z3 Z300 t1 L100 Y300 n0USDT m w1",
            "#3 TRADE PARTIALLY_FILLED l3 z3 Z300 t1 L100 Y300 n0BTC w1",
            "L SELL 100=5 u3",
            "T2 1@100 Q100 b#3 s#2 sm bc0 sc0",
            "#2 TRADE PARTIALLY_FILLED l1 z1 Z100 t2 L100 Y100 n0USDT m w1",
            "#3 TRADE FILLED l1 z4 Z400 t2 L100 Y100 n0BTC w0",
            "L SELL 100=4 u4",
        ])
        // #2 (1 left) is now ahead of #1's new slice; the taker meets #1 twice in one sweep.
        #expect(b.lim(4, user: 3, .buy, price: 100, quantity: 6) == [
            "#4 NEW NEW l0 z0 w1",
            "T3 1@100 Q100 b#4 s#2 sm bc0 sc0",
            "#2 TRADE FILLED l1 z2 Z200 t3 L100 Y100 n0USDT m w0",
            "#4 TRADE PARTIALLY_FILLED l1 z1 Z100 t3 L100 Y100 n0BTC w1",
            "L SELL 100=3 u5",
            "T4 3@100 Q300 b#4 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l3 z6 Z600 t4 L100 Y300 n0USDT m w1",
            "#4 TRADE PARTIALLY_FILLED l3 z4 Z400 t4 L100 Y300 n0BTC w1",
            "L SELL 100=3 u6",
            "T5 2@100 Q200 b#4 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l2 z8 Z800 t5 L100 Y200 n0USDT m w1",
            "#4 TRADE FILLED l2 z6 Z600 t5 L100 Y200 n0BTC w0",
            "L SELL 100=1 u7",
        ])
        // An iceberg taker that rests shows only its slice.
        #expect(b.order(5, user: 3, .buy, .limit, price: 100, quantity: 7, iceberg: 2) == [
            "#5 NEW NEW l0 z0 w1",
            "T6 1@100 Q100 b#5 s#1 sm bc0 sc0",
            "#1 TRADE PARTIALLY_FILLED l1 z9 Z900 t6 L100 Y100 n0USDT m w1",
            "#5 TRADE PARTIALLY_FILLED l1 z1 Z100 t6 L100 Y100 n0BTC w1",
            "L SELL 100=1 u8",
            "T7 1@100 Q100 b#5 s#1 sm bc0 sc0",
            "#1 TRADE FILLED l1 z10 Z1000 t7 L100 Y100 n0USDT m w0",
            "#5 TRADE PARTIALLY_FILLED l1 z2 Z200 t7 L100 Y100 n0BTC w1",
            "L SELL 100=0 u9",
            "L BUY 100=2 u10",
        ])
    }

    @Test func stopRejectedWhenItWouldTrigger() {
        var b = RefDriver()
        // Before any trade (last price 0) nothing "would trigger".
        #expect(b.order(1, user: 1, .sell, .stopLoss, quantity: 1, stopPrice: 1000) == ["#1 NEW NEW l0 z0 w0"])
        _ = b.lim(2, user: 2, .sell, price: 100, quantity: 1)
        _ = b.lim(3, user: 3, .buy, price: 100, quantity: 1)
        #expect(b.book.lastTradePrice == u(100))
        // ... and #1 (sell, stop 1000 >= 100) triggered on that trade, found nothing to sell to.
        #expect(b.events.map(render).suffix(2) == ["#1 NEW NEW l0 z0 w1", "#1 EXPIRED EXPIRED l0 z0 w0"])
        let stopRejected = "-2010 Stop price would trigger immediately."
        #expect(b.order(4, user: 1, .sell, .stopLoss, quantity: 1, stopPrice: 101) == ["X u1 #4 '' \(stopRejected)"])
        #expect(b.order(5, user: 1, .sell, .stopLossLimit, price: 90, quantity: 1, stopPrice: 100) == ["X u1 #5 '' \(stopRejected)"])
        #expect(b.order(6, user: 1, .buy, .stopLoss, quantity: 1, stopPrice: 100) == ["X u1 #6 '' \(stopRejected)"])
        #expect(b.order(7, user: 1, .buy, .takeProfit, quantity: 1, stopPrice: 100) == ["X u1 #7 '' \(stopRejected)"])
        #expect(b.order(8, user: 1, .sell, .takeProfitLimit, price: 90, quantity: 1, stopPrice: 99) == ["X u1 #8 '' \(stopRejected)"])
        #expect(b.order(9, user: 1, .sell, .stopLoss, quantity: 1, stopPrice: 99) == ["#9 NEW NEW l0 z0 w0"])
        #expect(b.order(10, user: 1, .buy, .stopLoss, quantity: 1, stopPrice: 101) == ["#10 NEW NEW l0 z0 w0"])
        #expect(b.order(11, user: 1, .buy, .takeProfit, quantity: 1, stopPrice: 99) == ["#11 NEW NEW l0 z0 w0"])
        #expect(b.order(12, user: 1, .sell, .takeProfitLimit, price: 100, quantity: 1, stopPrice: 101) == ["#12 NEW NEW l0 z0 w0"])
        #expect(b.book.openOrderCount == 4)
        #expect(b.reports(for: 12).first?.workingTime == -1)
    }

    @Test func stopsTriggerAndCascade() {
        var b = RefDriver()
        _ = b.lim(1, user: 9, .buy, price: 100, quantity: 5)
        _ = b.lim(2, user: 9, .buy, price: 99, quantity: 5)
        _ = b.lim(3, user: 9, .buy, price: 98, quantity: 5)
        #expect(b.order(10, user: 8, .sell, .stopLoss, quantity: 5, stopPrice: 99) == ["#10 NEW NEW l0 z0 w0"])
        #expect(b.order(11, user: 8, .sell, .stopLossLimit, price: 98, quantity: 5, stopPrice: 98) == ["#11 NEW NEW l0 z0 w0"])
        _ = b.order(20, user: 7, .sell, .market, quantity: 5)
        #expect(b.book.lastTradePrice == u(100))
        #expect(b.book.openOrderCount == 4)
        let time = b.time
        #expect(b.order(21, user: 7, .sell, .market, quantity: 1) == [
            "#21 NEW NEW l0 z0 w1",
            "T2 1@99 Q99 b#2 s#21 bm bc0 sc0",
            "#2 TRADE PARTIALLY_FILLED l1 z1 Z99 t2 L99 Y99 n0BTC m w1",
            "#21 TRADE FILLED l1 z1 Z99 t2 L99 Y99 n0USDT w0",
            "L BUY 99=4 u5",
            // last 99 <= 99: the STOP_LOSS triggers and sells 5 at market.
            "#10 NEW NEW l0 z0 w1",
            "T3 4@99 Q396 b#2 s#10 bm bc0 sc0",
            "#2 TRADE FILLED l4 z5 Z495 t3 L99 Y396 n0BTC m w0",
            "#10 TRADE PARTIALLY_FILLED l4 z4 Z396 t3 L99 Y396 n0USDT w1",
            "L BUY 99=0 u6",
            "T4 1@98 Q98 b#3 s#10 bm bc0 sc0",
            "#3 TRADE PARTIALLY_FILLED l1 z1 Z98 t4 L98 Y98 n0BTC m w1",
            "#10 TRADE FILLED l1 z5 Z494 t4 L98 Y98 n0USDT w0",
            "L BUY 98=4 u7",
            // last 98: the STOP_LOSS_LIMIT triggers, sells 4 at 98 and rests the last 1.
            "#11 NEW NEW l0 z0 w1",
            "T5 4@98 Q392 b#3 s#11 bm bc0 sc0",
            "#3 TRADE FILLED l4 z5 Z490 t5 L98 Y392 n0BTC m w0",
            "#11 TRADE PARTIALLY_FILLED l4 z4 Z392 t5 L98 Y392 n0USDT w1",
            "L BUY 98=0 u8",
            "L SELL 98=1 u9",
        ])
        let triggered = b.reports(for: 11)
        #expect(triggered.first?.workingTime == time)
        #expect(triggered.first?.type == .stopLossLimit)
        #expect(b.depthUnits.asks == ["98=1"])
        #expect(b.book.openOrderCount == 1)
    }

    @Test func takeProfitTriggersInPlacementOrder() {
        var b = RefDriver()
        _ = b.lim(1, user: 9, .sell, price: 100, quantity: 1)
        _ = b.lim(2, user: 9, .sell, price: 100, quantity: 10)
        // Both BUY TAKE_PROFITs trigger at last <= stop; #12 was placed first.
        #expect(b.order(12, user: 8, .buy, .takeProfit, quantity: 1, stopPrice: 100) == ["#12 NEW NEW l0 z0 w0"])
        #expect(b.order(11, user: 8, .buy, .takeProfitLimit, tif: .ioc, price: 100, quantity: 1, stopPrice: 101) == ["#11 NEW NEW l0 z0 w0"])
        _ = b.lim(3, user: 7, .buy, price: 100, quantity: 1)
        #expect(b.events.map(render).filter { $0.hasSuffix("NEW NEW l0 z0 w1") } == [
            "#3 NEW NEW l0 z0 w1", "#12 NEW NEW l0 z0 w1", "#11 NEW NEW l0 z0 w1",
        ])
        #expect(b.trades.map(\.buyerOrderID) == [3, 12, 11])
        #expect(b.book.openOrderCount == 1)
    }

    @Test func cancelByIdAndClientOrderID() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 2, clientOrderID: "a1")
        _ = b.lim(2, user: 1, .sell, price: 100, quantity: 3, clientOrderID: "a2")
        _ = b.order(3, user: 1, .buy, .stopLoss, quantity: 1, stopPrice: 200, clientOrderID: "s3")
        #expect(b.cancel(user: 1, orderID: 1, new: "c1") == [
            "#1 CANCELED CANCELED l0 z0 w0 c=c1 C=a1",
            "L SELL 100=3 u3",
        ])
        #expect(b.cancel(user: 1, orig: "a2") == [
            "#2 CANCELED CANCELED l0 z0 w0 c= C=a2",
            "L SELL 100=0 u4",
        ])
        // A stop leaves no level behind.
        #expect(b.cancel(user: 1, orig: "s3", new: "x") == ["#3 CANCELED CANCELED l0 z0 w0 c=x C=s3"])
        #expect(b.reports(for: 3).first?.workingTime == -1)
        #expect(b.book.openOrderCount == 0)
        #expect(b.cancel(user: 1, orderID: 1) == ["X u1 #1 '' -2011 Unknown order sent."])
        #expect(b.cancel(user: 1, orig: "nope") == ["X u1 #0 'nope' -2011 Unknown order sent."])
        // Another user's order is unknown to you.
        _ = b.lim(4, user: 2, .sell, price: 100, quantity: 1, clientOrderID: "a1")
        #expect(b.cancel(user: 1, orderID: 4) == ["X u1 #4 '' -2011 Unknown order sent."])
        #expect(b.cancel(user: 1, orig: "a1") == ["X u1 #0 'a1' -2011 Unknown order sent."])
        #expect(b.cancel(user: 1) == ["X u1 #0 '' -2011 Unknown order sent."])
        #expect(b.book.openOrderCount == 1)
    }

    @Test func cancelRestrictions() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 2)
        _ = b.lim(2, user: 1, .sell, price: 101, quantity: 2)
        _ = b.lim(3, user: 2, .buy, price: 100, quantity: 1)
        let restricted = "-2011 Order was not canceled due to cancel restrictions."
        #expect(b.cancel(user: 1, orderID: 1, restrictions: .onlyNew) == ["X u1 #1 '' \(restricted)"])
        #expect(b.cancel(user: 1, orderID: 2, restrictions: .onlyPartiallyFilled) == ["X u1 #2 '' \(restricted)"])
        #expect(b.cancel(user: 1, orderID: 2, restrictions: .onlyNew) == [
            "#2 CANCELED CANCELED l0 z0 w0",
            "L SELL 101=0 u4",
        ])
        #expect(b.cancel(user: 1, orderID: 1, new: "k", restrictions: .onlyPartiallyFilled) == [
            "#1 CANCELED CANCELED l0 z1 Z100 w0",
            "L SELL 100=0 u5",
        ])
    }

    @Test func amendKeepsPriority() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 5, clientOrderID: "a")
        _ = b.lim(2, user: 2, .sell, price: 100, quantity: 5)
        #expect(b.run(.amend(AmendRequest(userID: 1, orderID: 1, newClientOrderID: "a2", newQuantity: u(3), time: b.time))) == [
            "#1 REPLACED NEW l0 z0 w1 c=a2 C=a",
            "L SELL 100=8 u3",
        ])
        #expect(b.reports(for: 1).first?.quantity == u(3))
        #expect(b.lim(3, user: 3, .buy, price: 100, quantity: 4).filter { $0.hasPrefix("T") } == [
            "T1 3@100 Q300 b#3 s#1 sm bc0 sc0",
            "T2 1@100 Q100 b#3 s#2 sm bc0 sc0",
        ])
        #expect(b.reports(for: 1).first?.status == .filled)
        // By (new) clientOrderID it is gone; #2 is partially filled now.
        #expect(b.run(.amend(AmendRequest(userID: 1, origClientOrderID: "a2", newQuantity: u(1), time: b.time))) == [
            "X u1 #0 'a2' -2011 Unknown order sent.",
        ])
        #expect(b.run(.amend(AmendRequest(userID: 2, orderID: 2, newQuantity: u(5), time: b.time))) == [
            "X u2 #2 '' -2038 The requested quantity must be strictly less than the order's current quantity.",
        ])
        #expect(b.run(.amend(AmendRequest(userID: 2, orderID: 2, newQuantity: u(1), time: b.time))) == [
            "X u2 #2 '' \(rejectBadQuantity)",
        ])
        // Without a new clientOrderID the report keeps the order's (and C names it too).
        #expect(b.run(.amend(AmendRequest(userID: 2, orderID: 2, newQuantity: u(2), time: b.time))) == [
            "#2 REPLACED PARTIALLY_FILLED l0 z1 Z100 w1",
            "L SELL 100=1 u6",
        ])
    }

    @Test func amendIcebergAndStop() {
        var b = RefDriver()
        _ = b.order(1, user: 1, .sell, .limit, price: 100, quantity: 10, iceberg: 4, clientOrderID: "i")
        #expect(b.run(.amend(AmendRequest(userID: 1, orderID: 1, newQuantity: u(7), time: b.time))) == [
            "#1 REPLACED NEW l0 z0 w1 c=i C=i",
            "L SELL 100=4 u2",
        ])
        #expect(b.run(.amend(AmendRequest(userID: 1, orderID: 1, newQuantity: u(3), time: b.time))) == [
            "#1 REPLACED NEW l0 z0 w1 c=i C=i",
            "L SELL 100=3 u3",
        ])
        _ = b.order(2, user: 1, .buy, .stopLoss, quantity: 5, stopPrice: 200)
        #expect(b.run(.amend(AmendRequest(userID: 1, orderID: 2, newQuantity: u(4), time: b.time))) == [
            "#2 REPLACED NEW l0 z0 w0",
        ])
    }

    @Test func cancelReplaceModes() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 2, clientOrderID: "o")
        func replacement(_ id: UInt64, price: Int64) -> OrderRequest {
            OrderRequest(orderID: id, userID: 1, clientOrderID: "o", side: .sell, type: .limit, price: u(price),
                         quantity: u(1), time: b.time)
        }
        // STOP_ON_FAILURE: a failed cancel is the only event.
        #expect(b.run(.cancelReplace(CancelReplaceRequest(
            mode: .stopOnFailure, cancel: CancelRequest(userID: 1, orderID: 99, time: b.time),
            place: replacement(2, price: 101)))) == ["X u1 #99 '' -2011 Unknown order sent."])
        // ALLOW_FAILURE: the place happens anyway (here a duplicate of the still-open "o").
        #expect(b.run(.cancelReplace(CancelReplaceRequest(
            mode: .allowFailure, cancel: CancelRequest(userID: 1, orderID: 99, time: b.time),
            place: replacement(3, price: 101)))) == [
            "X u1 #99 '' -2011 Unknown order sent.",
            "X u1 #3 'o' \(rejectDuplicate)",
        ])
        // Success: cancel report, then the new order (which may reuse the client id).
        #expect(b.run(.cancelReplace(CancelReplaceRequest(
            mode: .stopOnFailure, cancel: CancelRequest(userID: 1, origClientOrderID: "o", newClientOrderID: "cx", time: b.time),
            place: replacement(4, price: 101)))) == [
            "#1 CANCELED CANCELED l0 z0 w0 c=cx C=o",
            "L SELL 100=0 u2",
            "#4 NEW NEW l0 z0 w1",
            "L SELL 101=1 u3",
        ])
        // ALLOW_FAILURE with a working cancel behaves the same; the place may trade.
        _ = b.lim(5, user: 2, .buy, price: 99, quantity: 1)
        var taker = replacement(6, price: 99)
        taker.clientOrderID = "o6"
        #expect(b.run(.cancelReplace(CancelReplaceRequest(
            mode: .allowFailure, cancel: CancelRequest(userID: 1, orderID: 4, time: b.time), place: taker))) == [
            "#4 CANCELED CANCELED l0 z0 w0 c= C=o",
            "L SELL 101=0 u5",
            "#6 NEW NEW l0 z0 w1",
            "T1 1@99 Q99 b#5 s#6 bm bc0 sc0",
            "#5 TRADE FILLED l1 z1 Z99 t1 L99 Y99 n0BTC m w0",
            "#6 TRADE FILLED l1 z1 Z99 t1 L99 Y99 n0USDT w0",
            "L BUY 99=0 u6",
        ])
    }

    @Test func cancelAllInOrderIDOrder() {
        var b = RefDriver()
        _ = b.lim(5, user: 1, .sell, price: 100, quantity: 1, clientOrderID: "e")
        _ = b.order(3, user: 1, .buy, .stopLoss, quantity: 1, stopPrice: 200, clientOrderID: "s")
        _ = b.lim(4, user: 1, .buy, price: 90, quantity: 1)
        _ = b.lim(6, user: 2, .buy, price: 90, quantity: 1)
        #expect(b.run(.cancelAll(userID: 1, time: b.time)) == [
            "#3 CANCELED CANCELED l0 z0 w0 c= C=s",
            "#4 CANCELED CANCELED l0 z0 w0",
            "L BUY 90=1 u4",
            "#5 CANCELED CANCELED l0 z0 w0 c= C=e",
            "L SELL 100=0 u5",
        ])
        #expect(b.run(.cancelAll(userID: 1, time: b.time)) == ["X u1 #0 '' -2011 Unknown order sent."])
        #expect(b.book.openOrderCount == 1)
    }

    @Test func duplicateClientOrderID() {
        var b = RefDriver()
        _ = b.lim(1, user: 1, .sell, price: 100, quantity: 1, clientOrderID: "x")
        _ = b.order(2, user: 1, .sell, .stopLoss, quantity: 1, stopPrice: 50, clientOrderID: "s")
        #expect(b.lim(3, user: 1, .sell, price: 101, quantity: 1, clientOrderID: "x") == ["X u1 #3 'x' \(rejectDuplicate)"])
        #expect(b.lim(4, user: 1, .sell, price: 101, quantity: 1, clientOrderID: "s") == ["X u1 #4 's' \(rejectDuplicate)"])
        // Another user, or an empty id, is no duplicate.
        #expect(b.lim(5, user: 2, .sell, price: 101, quantity: 1, clientOrderID: "x").count == 2)
        #expect(b.lim(6, user: 1, .sell, price: 101, quantity: 1).count == 2)
        #expect(b.lim(7, user: 1, .sell, price: 101, quantity: 1).count == 2)
        // Duplicate is checked before everything else.
        #expect(b.lim(8, user: 1, .sell, price: 0, quantity: 1, clientOrderID: "x") == ["X u1 #8 'x' \(rejectDuplicate)"])
        // Once filled, the id is free again.
        _ = b.lim(9, user: 3, .buy, price: 100, quantity: 1)
        #expect(b.lim(10, user: 1, .sell, price: 102, quantity: 1, clientOrderID: "x").count == 2)
    }

    @Test func commissionsRoundDownPerSide() {
        var b = RefDriver()
        b.apply(.place(OrderRequest(
            orderID: 1, userID: 1, side: .sell, type: .limit, price: u(3), quantity: 123_456_789,
            makerCommissionRate: 100_000, takerCommissionRate: 999_999, time: b.time)))
        b.apply(.place(OrderRequest(
            orderID: 2, userID: 2, side: .buy, type: .limit, timeInForce: .ioc, price: u(3), quantity: u(5),
            makerCommissionRate: 999_999, takerCommissionRate: 200_000, time: b.time)))
        // quote = 3 * 1.23456789 = 3.70370367; seller (maker, 0.1%) pays 0.00370370367 -> 0.0037037;
        // buyer (taker, 0.2%) pays 0.00246913578 -> 0.00246913.
        #expect(b.events.map(render) == [
            "#2 NEW NEW l0 z0 w1",
            "T1 1.23456789@3 Q3.70370367 b#2 s#1 sm bc0.00246913 sc0.0037037",
            "#1 TRADE FILLED l1.23456789 z1.23456789 Z3.70370367 t1 L3 Y3.70370367 n0.0037037USDT m w0",
            "#2 TRADE PARTIALLY_FILLED l1.23456789 z1.23456789 Z3.70370367 t1 L3 Y3.70370367 n0.00246913BTC w1",
            "L SELL 3=0 u2",
            "#2 EXPIRED EXPIRED l0 z1.23456789 Z3.70370367 w0",
        ])
        // Taker sells into a maker bid: the seller is now the taker.
        b.apply(.place(OrderRequest(
            orderID: 3, userID: 1, side: .buy, type: .limit, price: u(2), quantity: u(1),
            makerCommissionRate: 50_000, takerCommissionRate: 0, time: b.time)))
        b.apply(.place(OrderRequest(
            orderID: 4, userID: 2, side: .sell, type: .market, quantity: u(1),
            makerCommissionRate: 0, takerCommissionRate: 75_000, time: b.time)))
        #expect(b.trades.map(render(trade:)) == ["T2 1@2 Q2 b#3 s#4 bm bc0.0005 sc0.0015"])
    }
}

private func render(trade: TradeEvent) -> String { render(.trade(trade)) }
