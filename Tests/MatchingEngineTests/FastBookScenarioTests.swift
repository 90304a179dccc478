import ExchangeProtocol
import MatchingEngine
import Testing

/// exchange-core style scenarios for `FastBook`: exact reports, trades and level changes.
@Suite struct FastBookScenarioTests {
    typealias Driver = BookDriver<FastBook>
    static func u(_ v: Int64) -> Int64 { v * 100_000_000 }
    let u = FastBookScenarioTests.u

    /// A compact, comparable description of an event stream.
    static func kinds(_ events: [MatchingEvent]) -> [String] {
        events.map { event in
            switch event {
            case .report(let r): return "report \(r.orderID) \(r.executionType.rawValue) \(r.status.rawValue)"
            case .trade(let t): return "trade \(t.tradeID) \(t.price / 100_000_000)x\(t.quantity)"
            case .levelChanged(let side, let price, let quantity, let id):
                return "level \(side.rawValue) \(price / 100_000_000) \(quantity) #\(id)"
            case .rejected(let r): return "rejected \(r.code) \(r.message)"
            }
        }
    }

    func place(
        _ d: inout Driver, _ id: UInt64, user: UInt64, _ side: Side, _ type: OrderType, tif: TimeInForce = .gtc,
        price: Int64 = 0, quantity: Int64 = 0, quoteOrderQty: Int64 = 0, stopPrice: Int64 = 0, iceberg: Int64 = 0,
        stp: SelfTradePreventionMode? = nil, budget: Int64 = 0, maker: Int64 = 0, taker: Int64 = 0, cid: String = ""
    ) {
        d.apply(.place(OrderRequest(
            orderID: id, userID: user, clientOrderID: cid, side: side, type: type, timeInForce: tif, price: price,
            quantity: quantity, quoteOrderQty: quoteOrderQty, stopPrice: stopPrice, icebergQty: iceberg,
            selfTradePrevention: stp, quoteBudget: budget, makerCommissionRate: maker, takerCommissionRate: taker,
            time: d.time)))
    }

    @Test func gtcRestsThenPartialFillWithExactReports() {
        var d = Driver()
        let t0 = d.time
        d.limit(101, user: 1, .sell, price: 100, quantity: 10, clientOrderID: "alice")
        #expect(d.events.count == 2)
        #expect(d.events[0] == .report(ExecutionReport(
            orderID: 101, userID: 1, clientOrderID: "alice", origClientOrderID: "", side: .sell, type: .limit,
            timeInForce: .gtc, quantity: u(10), price: u(100), stopPrice: 0, icebergQty: 0, quoteOrderQty: 0,
            executionType: .new, status: .new, rejectReason: "NONE", lastExecutedQty: 0, cumulativeQty: 0,
            cumulativeQuoteQty: 0, lastPrice: 0, lastQuoteQty: 0, commission: 0, commissionAsset: "",
            transactionTime: t0, tradeID: -1, isMaker: false, isWorking: true, workingTime: t0, orderCreationTime: t0,
            selfTradePrevention: .expireMaker, preventedMatchID: 0, preventedQuantity: 0, lastPreventedQuantity: 0,
            strategyID: 0, strategyType: 0)))
        #expect(d.events[1] == .levelChanged(side: .sell, price: u(100), quantity: u(10), updateID: 1))

        let t1 = d.time
        d.limit(102, user: 2, .buy, price: 101, quantity: 4)
        #expect(Self.kinds(d.events) == [
            "report 102 NEW NEW", "trade 1 100x\(u(4))", "report 101 TRADE PARTIALLY_FILLED", "report 102 TRADE FILLED",
            "level SELL 100 \(u(6)) #2",
        ])
        #expect(d.trades == [TradeEvent(
            tradeID: 1, price: u(100), quantity: u(4), quoteQuantity: u(400), buyerOrderID: 102, sellerOrderID: 101,
            buyerUserID: 2, sellerUserID: 1, buyerIsMaker: false, buyerCommission: 0, sellerCommission: 0, time: t1)])
        let maker = d.reports(for: 101)[0]
        #expect(maker.isMaker && maker.isWorking && maker.lastExecutedQty == u(4) && maker.cumulativeQty == u(4))
        #expect(maker.cumulativeQuoteQty == u(400) && maker.lastPrice == u(100) && maker.tradeID == 1)
        #expect(maker.commissionAsset == "USDT" && maker.orderCreationTime == t0 && maker.transactionTime == t1)
        let taker = d.reports(for: 102)[1]
        #expect(!taker.isMaker && !taker.isWorking && taker.commissionAsset == "BTC" && taker.lastQuoteQty == u(400))
        #expect(d.book.lastTradePrice == u(100) && d.book.lastUpdateID == 2 && d.book.openOrderCount == 1)
        #expect(d.book.depth(limit: 5).asks.map(\.quantity) == [u(6)])
    }

    @Test func iocFillsWhatItCanThenExpires() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 5)
        d.limit(2, user: 2, .buy, price: 100, quantity: 8, tif: .ioc)
        #expect(Self.kinds(d.events) == [
            "report 2 NEW NEW", "trade 1 100x\(u(5))", "report 1 TRADE FILLED", "report 2 TRADE PARTIALLY_FILLED",
            "level SELL 100 0 #2", "report 2 EXPIRED EXPIRED",
        ])
        let expired = d.reports(for: 2)[2]
        #expect(expired.cumulativeQty == u(5) && expired.lastExecutedQty == 0 && !expired.isWorking)
        #expect(d.book.openOrderCount == 0)
    }

    @Test func fokNotFillableExpiresWithoutTrades() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 5)
        d.limit(2, user: 1, .sell, price: 101, quantity: 5)
        d.limit(3, user: 2, .buy, price: 100, quantity: 8, tif: .fok)
        #expect(Self.kinds(d.events) == ["report 3 NEW NEW", "report 3 EXPIRED EXPIRED"])
        #expect(d.book.depth(limit: 5).asks.map(\.quantity) == [u(5), u(5)])
        d.limit(4, user: 2, .buy, price: 101, quantity: 8, tif: .fok)
        #expect(d.trades.map(\.quantity) == [u(5), u(3)])
        #expect(d.reports(for: 4).last?.status == .filled)
    }

    @Test func fokDoesNotCountSameUserMakers() {
        var d = Driver()
        d.limit(1, user: 7, .sell, price: 100, quantity: 5)
        d.limit(2, user: 8, .sell, price: 100, quantity: 5)
        d.limit(3, user: 7, .buy, price: 100, quantity: 8, tif: .fok)
        #expect(Self.kinds(d.events) == ["report 3 NEW NEW", "report 3 EXPIRED EXPIRED"])
    }

    @Test func marketByQuantitySweepsLevels() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 2)
        d.limit(2, user: 1, .sell, price: 101, quantity: 2)
        place(&d, 3, user: 2, .buy, .market, quantity: u(3))
        #expect(d.trades.map(\.price) == [u(100), u(101)])
        #expect(d.trades.map(\.quantity) == [u(2), u(1)])
        let last = d.reports(for: 3).last!
        #expect(last.status == .filled && last.cumulativeQuoteQty == u(301) && last.price == 0)
        #expect(d.book.depth(limit: 5).asks.map(\.quantity) == [u(1)])
    }

    @Test func marketByQuoteOrderQty() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 2)
        place(&d, 2, user: 2, .buy, .market, quoteOrderQty: u(150))
        #expect(d.trades.map(\.quantity) == [150_000_000])
        let last = d.reports(for: 2).last!
        #expect(last.status == .filled && last.quantity == 0 && last.cumulativeQuoteQty == u(150))
        // SELL by quote with too little liquidity: fills what there is, then expires.
        d.limit(3, user: 1, .buy, price: 50, quantity: 1)
        place(&d, 4, user: 2, .sell, .market, quoteOrderQty: u(80))
        #expect(d.trades.map(\.quantity) == [u(1)])
        #expect(d.reports(for: 4).map(\.status) == [.new, .partiallyFilled, .expired])
    }

    @Test func marketBuyCappedByQuoteBudget() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 2)
        place(&d, 2, user: 2, .buy, .market, quantity: u(2), budget: u(150))
        #expect(d.trades.map(\.quantity) == [150_000_000])
        #expect(d.reports(for: 2).map(\.executionType) == [.new, .trade, .expired])
        #expect(d.reports(for: 2).last?.cumulativeQty == 150_000_000)
    }

    @Test func limitMakerRejectedWhenItWouldTake() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 1)
        place(&d, 2, user: 2, .buy, .limitMaker, price: u(100), quantity: u(1), cid: "m")
        #expect(d.events == [.rejected(Rejection(
            userID: 2, orderID: 2, clientOrderID: "m", code: -2010, message: "Order would immediately match and take."))])
        place(&d, 3, user: 2, .buy, .limitMaker, price: u(99), quantity: u(1))
        #expect(Self.kinds(d.events) == ["report 3 NEW NEW", "level BUY 99 \(u(1)) #2"])
    }

    @Test func stpExpireTaker() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 1)
        d.limit(2, user: 1, .buy, price: 100, quantity: 3, stp: .expireTaker)
        #expect(Self.kinds(d.events) == ["report 2 NEW NEW", "report 2 EXPIRED EXPIRED_IN_MATCH"])
        let r = d.reports(for: 2)[1]
        #expect(r.preventedMatchID == 1 && r.lastPreventedQuantity == u(3) && r.preventedQuantity == u(3))
        #expect(d.book.depth(limit: 5).asks.map(\.quantity) == [u(1)])
    }

    @Test func stpExpireMakerThenTradesAndRests() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 1)
        d.limit(2, user: 2, .sell, price: 100, quantity: 1)
        d.limit(3, user: 1, .buy, price: 100, quantity: 3, stp: .expireMaker)
        #expect(Self.kinds(d.events) == [
            "report 3 NEW NEW", "report 1 EXPIRED EXPIRED_IN_MATCH", "level SELL 100 \(u(1)) #3",
            "trade 1 100x\(u(1))", "report 2 TRADE FILLED", "report 3 TRADE PARTIALLY_FILLED", "level SELL 100 0 #4",
            "level BUY 100 \(u(2)) #5",
        ])
        let maker = d.reports(for: 1)[0]
        #expect(maker.isMaker && maker.preventedMatchID == 1 && maker.lastPreventedQuantity == u(1))
    }

    @Test func stpExpireBoth() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 1)
        d.limit(2, user: 1, .buy, price: 100, quantity: 2, stp: .expireBoth)
        #expect(Self.kinds(d.events) == [
            "report 2 NEW NEW", "report 1 EXPIRED EXPIRED_IN_MATCH", "level SELL 100 0 #2",
            "report 2 EXPIRED EXPIRED_IN_MATCH",
        ])
        #expect(d.reports(for: 1)[0].preventedMatchID == 1 && d.reports(for: 2)[1].preventedMatchID == 1)
        #expect(d.reports(for: 2)[1].lastPreventedQuantity == u(2))
        #expect(d.book.openOrderCount == 0)
    }

    @Test func stpDecrement() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 3)
        d.limit(2, user: 1, .buy, price: 100, quantity: 1, stp: .decrement)
        #expect(Self.kinds(d.events) == [
            "report 2 NEW NEW", "report 1 TRADE_PREVENTION NEW", "report 2 EXPIRED EXPIRED_IN_MATCH",
            "level SELL 100 \(u(2)) #2",
        ])
        #expect(d.reports(for: 1)[0].lastPreventedQuantity == u(1) && d.reports(for: 1)[0].isMaker)
        // The maker's remainder (2) is now smaller than a new self taker (5): maker expires, taker goes on.
        d.limit(3, user: 1, .buy, price: 100, quantity: 5, stp: .decrement)
        #expect(Self.kinds(d.events) == [
            "report 3 NEW NEW", "report 1 EXPIRED EXPIRED_IN_MATCH", "report 3 TRADE_PREVENTION NEW",
            "level SELL 100 0 #3", "level BUY 100 \(u(3)) #4",
        ])
        #expect(d.reports(for: 3)[1].preventedMatchID == 2)
    }

    @Test func icebergRequeuesBehindTheLevel() {
        var d = Driver()
        place(&d, 1, user: 1, .sell, .limit, price: u(100), quantity: u(10), iceberg: u(2))
        #expect(Self.kinds(d.events) == ["report 1 NEW NEW", "level SELL 100 \(u(2)) #1"])
        d.limit(2, user: 2, .sell, price: 100, quantity: 3)
        d.limit(3, user: 3, .buy, price: 100, quantity: 4)
        #expect(Self.kinds(d.events) == [
            "report 3 NEW NEW", "trade 1 100x\(u(2))", "report 1 TRADE PARTIALLY_FILLED",
            "report 3 TRADE PARTIALLY_FILLED", "level SELL 100 \(u(5)) #3", "trade 2 100x\(u(2))",
            "report 2 TRADE PARTIALLY_FILLED", "report 3 TRADE FILLED", "level SELL 100 \(u(3)) #4",
        ])
        // Alone at its level, the iceberg meets the same taker again slice after slice.
        d.limit(4, user: 3, .buy, price: 100, quantity: 5)
        #expect(d.trades.map(\.sellerOrderID) == [2, 1, 1])
        #expect(d.trades.map(\.quantity) == [u(1), u(2), u(2)])
        #expect(d.book.depth(limit: 1).asks.map(\.quantity) == [u(2)])
    }

    @Test func stopRejectedWhenItWouldTrigger() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 1)
        d.limit(2, user: 2, .buy, price: 100, quantity: 1)
        place(&d, 3, user: 3, .sell, .stopLoss, quantity: u(1), stopPrice: u(100))
        #expect(d.rejection?.message == "Stop price would trigger immediately.")
        place(&d, 4, user: 3, .buy, .takeProfit, quantity: u(1), stopPrice: u(101))
        #expect(d.rejection?.message == "Stop price would trigger immediately.")
        place(&d, 5, user: 3, .sell, .stopLossLimit, price: u(98), quantity: u(1), stopPrice: u(99))
        let r = d.reports(for: 5)
        #expect(r.count == 1 && !r[0].isWorking && r[0].workingTime == -1 && d.events.count == 1)
        #expect(d.book.openOrderCount == 1)
    }

    @Test func stopsTriggerAndCascade() {
        var d = Driver()
        d.limit(1, user: 1, .buy, price: 100, quantity: 1)
        d.limit(2, user: 1, .buy, price: 99, quantity: 1)
        d.limit(3, user: 1, .buy, price: 98, quantity: 1)
        place(&d, 10, user: 2, .sell, .stopLoss, quantity: u(1), stopPrice: u(100))
        place(&d, 11, user: 3, .sell, .stopLoss, quantity: u(1), stopPrice: u(99))
        let t = d.time
        d.limit(20, user: 4, .sell, price: 100, quantity: 1)
        #expect(Self.kinds(d.events) == [
            "report 20 NEW NEW", "trade 1 100x\(u(1))", "report 1 TRADE FILLED", "report 20 TRADE FILLED",
            "level BUY 100 0 #4",
            "report 10 NEW NEW", "trade 2 99x\(u(1))", "report 2 TRADE FILLED", "report 10 TRADE FILLED",
            "level BUY 99 0 #5",
            "report 11 NEW NEW", "trade 3 98x\(u(1))", "report 3 TRADE FILLED", "report 11 TRADE FILLED",
            "level BUY 98 0 #6",
        ])
        let triggered = d.reports(for: 10)[0]
        #expect(triggered.isWorking && triggered.workingTime == t && triggered.type == .stopLoss)
        #expect(d.book.lastTradePrice == u(98) && d.book.openOrderCount == 0)
    }

    @Test func cancelByIDByClientIDUnknownAndRestrictions() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 2, clientOrderID: "a")
        d.limit(2, user: 1, .sell, price: 100, quantity: 3, clientOrderID: "b")
        d.apply(.cancel(CancelRequest(userID: 1, orderID: 1, newClientOrderID: "c1", time: d.time)))
        #expect(Self.kinds(d.events) == ["report 1 CANCELED CANCELED", "level SELL 100 \(u(3)) #3"])
        let r = d.reports(for: 1)[0]
        #expect(r.clientOrderID == "c1" && r.origClientOrderID == "a" && !r.isWorking)
        d.apply(.cancel(CancelRequest(userID: 2, orderID: 2, time: d.time)))  // someone else's order
        #expect(d.events == [.rejected(Rejection(userID: 2, orderID: 2, clientOrderID: "", code: -2011, message: "Unknown order sent."))])
        d.apply(.cancel(CancelRequest(userID: 1, origClientOrderID: "b", cancelRestrictions: .onlyPartiallyFilled, time: d.time)))
        #expect(d.rejection?.message == "Order was not canceled due to cancel restrictions.")
        d.apply(.cancel(CancelRequest(userID: 1, origClientOrderID: "b", cancelRestrictions: .onlyNew, time: d.time)))
        #expect(Self.kinds(d.events) == ["report 2 CANCELED CANCELED", "level SELL 100 0 #4"])
        d.apply(.cancel(CancelRequest(userID: 1, origClientOrderID: "b", time: d.time)))
        #expect(d.rejection?.code == -2011)
    }

    @Test func amendKeepsPriority() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 10, clientOrderID: "x")
        d.limit(2, user: 2, .sell, price: 100, quantity: 1)
        d.apply(.amend(AmendRequest(userID: 1, orderID: 1, newClientOrderID: "y", newQuantity: u(6), time: d.time)))
        #expect(Self.kinds(d.events) == ["report 1 REPLACED NEW", "level SELL 100 \(u(7)) #3"])
        let r = d.reports(for: 1)[0]
        #expect(r.quantity == u(6) && r.clientOrderID == "y" && r.origClientOrderID == "x")
        d.apply(.amend(AmendRequest(userID: 1, origClientOrderID: "y", newQuantity: u(6), time: d.time)))
        #expect(d.rejection?.code == -2038)
        d.limit(3, user: 3, .buy, price: 100, quantity: 1)
        #expect(d.trades.map(\.sellerOrderID) == [1])
        d.apply(.amend(AmendRequest(userID: 1, orderID: 1, newQuantity: u(1), time: d.time)))
        #expect(d.rejection?.message == "Invalid quantity.")
    }

    @Test func cancelReplaceBothModes() {
        var d = Driver()
        let place = OrderRequest(orderID: 5, userID: 1, side: .buy, type: .limit, price: u(90), quantity: u(1), time: d.time)
        d.apply(.cancelReplace(CancelReplaceRequest(
            mode: .stopOnFailure, cancel: CancelRequest(userID: 1, orderID: 4, time: d.time), place: place)))
        #expect(Self.kinds(d.events) == ["rejected -2011 Unknown order sent."])
        d.apply(.cancelReplace(CancelReplaceRequest(
            mode: .allowFailure, cancel: CancelRequest(userID: 1, orderID: 4, time: d.time), place: place)))
        #expect(Self.kinds(d.events) == ["rejected -2011 Unknown order sent.", "report 5 NEW NEW", "level BUY 90 \(u(1)) #1"])
        var moved = place
        moved.orderID = 6
        moved.price = u(91)
        d.apply(.cancelReplace(CancelReplaceRequest(
            mode: .stopOnFailure, cancel: CancelRequest(userID: 1, orderID: 5, time: d.time), place: moved)))
        #expect(Self.kinds(d.events) == [
            "report 5 CANCELED CANCELED", "level BUY 90 0 #2", "report 6 NEW NEW", "level BUY 91 \(u(1)) #3",
        ])
    }

    @Test func cancelAllInOrderIDOrderIncludingStops() {
        var d = Driver()
        d.limit(3, user: 1, .sell, price: 101, quantity: 1)
        place(&d, 1, user: 1, .buy, .stopLoss, quantity: u(1), stopPrice: u(120))
        d.limit(2, user: 1, .sell, price: 102, quantity: 1)
        d.limit(4, user: 2, .sell, price: 102, quantity: 1)
        d.apply(.cancelAll(userID: 1, time: d.time))
        #expect(Self.kinds(d.events) == [
            "report 1 CANCELED CANCELED", "report 2 CANCELED CANCELED", "level SELL 102 \(u(1)) #4",
            "report 3 CANCELED CANCELED", "level SELL 101 0 #5",
        ])
        d.apply(.cancelAll(userID: 1, time: d.time))
        #expect(d.events == [.rejected(Rejection(userID: 1, orderID: 0, clientOrderID: "", code: -2011, message: "Unknown order sent."))])
        #expect(d.book.openOrderCount == 1)
    }

    @Test func duplicateClientOrderIDAndValidation() {
        var d = Driver()
        d.limit(1, user: 1, .sell, price: 100, quantity: 1, clientOrderID: "dup")
        d.limit(2, user: 1, .sell, price: 101, quantity: 1, clientOrderID: "dup")
        #expect(d.rejection == Rejection(userID: 1, orderID: 2, clientOrderID: "dup", code: -2010, message: "Duplicate order sent."))
        d.limit(3, user: 2, .sell, price: 101, quantity: 1, clientOrderID: "dup")  // another user: fine
        #expect(d.rejection == nil)
        place(&d, 4, user: 1, .buy, .market, quantity: u(1), quoteOrderQty: u(1))
        #expect(d.rejection?.message == "Invalid quantity.")
        place(&d, 5, user: 1, .buy, .limit, tif: .ioc, price: u(1), quantity: u(2), iceberg: u(1))
        #expect(d.rejection?.message == "Invalid quantity.")
        let rules = SymbolRules(symbol: "X", baseAsset: "B", quoteAsset: "Q", allowedSelfTradePrevention: [.expireMaker, .none])
        var e = Driver(rules: rules)
        e.limit(6, user: 1, .buy, price: 1, quantity: 1, stp: .decrement)
        #expect(e.rejection?.message == "This order type is not possible in this market.")
    }

    @Test func commissionsRoundDownInTheReceivedAsset() {
        var d = Driver()
        place(&d, 1, user: 1, .sell, .limit, price: u(1), quantity: u(1), maker: 100_000, taker: 900_000)
        place(&d, 2, user: 2, .buy, .limit, price: u(1), quantity: 12_345, maker: 900_000, taker: 200_000)
        let trade = d.trades[0]
        #expect(trade.quoteQuantity == 12_345)
        #expect(trade.buyerCommission == 24 && trade.sellerCommission == 12)  // 24.69 and 12.345, rounded down
        #expect(d.reports(for: 2)[1].commission == 24 && d.reports(for: 2)[1].commissionAsset == "BTC")
        #expect(d.reports(for: 1)[0].commission == 12 && d.reports(for: 1)[0].commissionAsset == "USDT")
    }

    @Test func snapshotRoundTripAndReplayHash() throws {
        func script(_ d: inout Driver) {
            d.limit(1, user: 1, .sell, price: 100, quantity: 5, clientOrderID: "s1")
            place(&d, 2, user: 2, .sell, .limit, price: u(101), quantity: u(9), iceberg: u(2), cid: "ice")
            d.limit(3, user: 3, .buy, price: 99, quantity: 4)
            d.limit(4, user: 3, .buy, price: 100, quantity: 2)
            place(&d, 5, user: 4, .sell, .stopLossLimit, price: u(95), quantity: u(1), stopPrice: u(96), cid: "stop")
        }
        var a = Driver()
        script(&a)
        var b = Driver()
        script(&b)
        #expect(a.book.stateHash() == b.book.stateHash())
        let bytes = a.book.snapshot()
        let restored = try FastBook(snapshot: bytes)
        #expect(restored.snapshot() == bytes)
        #expect(restored.stateHash() == a.book.stateHash())
        #expect(restored.lastTradePrice == u(100) && restored.lastUpdateID == a.book.lastUpdateID)
        #expect(restored.openOrderCount == 4)
        var c = Driver()
        c.book = restored
        c.time = a.time
        let next = MatchingCommand.place(OrderRequest(
            orderID: 9, userID: 5, side: .buy, type: .limit, price: u(101), quantity: u(7), time: a.time))
        let e1 = a.apply(next)
        let e2 = c.apply(next)
        #expect(e1 == e2 && !e1.isEmpty)
        #expect(a.book.stateHash() == c.book.stateHash() && a.book.snapshot() == c.book.snapshot())
        #expect(a.book.stateHash() != b.book.stateHash())
        #expect(throws: FastBookSnapshotError.badHeader) { try FastBook(snapshot: [1, 2, 3, 4]) }
        #expect(throws: FastBookSnapshotError.corrupt) { try FastBook(snapshot: Array(bytes.dropLast())) }
    }
}
