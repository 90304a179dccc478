import ExchangeProtocol
import LedgerCore
import MatchingEngine
import Testing

/// Scenarios through a real `FastBook`: the ledger funds, the book matches, the bridge settles.
@Suite struct MatchingDrivenTests {
    static let u = LedgerDriver.u
    let u = MatchingDrivenTests.u

    struct Exchange {
        var d = LedgerDriver.standard()
        var book = FastBook(rules: SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT"))
        var bookEvents: [MatchingEvent] = []
        var ledgerEvents: [LedgerEvent] = []

        /// Places through the ledger and, when funded, the book; returns the funding (nil if refused).
        @discardableResult
        mutating func place(
            _ id: UInt64, user: UInt64, _ side: Side, _ type: OrderType, tif: TimeInForce = .gtc, price: Int64 = 0,
            quantity: Int64 = 0, quoteOrderQty: Int64 = 0, stp: SelfTradePreventionMode? = nil
        ) -> FundedOrderInfo? {
            let request = PlaceOrderRequest(
                userID: user, orderID: id, symbol: "BTCUSDT", side: side, type: type, quantity: quantity,
                quoteOrderQty: quoteOrderQty, price: price, time: d.time)
            d.apply(.placeOrder(request))
            guard let funded = d.funded else { return nil }
            run(.place(MatchingBridge.orderRequest(request, funded: funded, timeInForce: tif, stp: stp)), placed: id)
            return funded
        }

        mutating func run(_ command: MatchingCommand, placed: UInt64? = nil) {
            bookEvents.removeAll()
            book.apply(command, into: &bookEvents)
            ledgerEvents.removeAll()
            for c in MatchingBridge.ledgerCommands(for: bookEvents, placedOrderID: placed) {
                d.apply(c)
                #expect(d.rejection == nil, "bridged \(c) refused")
                ledgerEvents += d.events
            }
        }

        var trades: [TradeEvent] { bookEvents.compactMap { if case .trade(let t) = $0 { return t } else { return nil } } }
        var closed: [OrderClosed] { ledgerEvents.compactMap { if case .orderClosed(let c) = $0 { return c } else { return nil } } }
    }

    @Test func oddAmountsSettleExactlyWhatMatchingComputed() {
        var x = Exchange()
        x.d.fund(1, "USDT", u(1_000))
        x.d.fund(2, "BTC", u(10))
        x.d.expectAccepted(.setCommission(SetCommission(userID: 1, setting: .rates(maker: 0, taker: 333_333))))
        x.d.expectAccepted(.setCommission(SetCommission(userID: 2, setting: .rates(maker: 77_777, taker: 0))))
        let price: Int64 = 1_234_567_891  // 12.34567891
        let quantity: Int64 = 333_333_337  // 3.33333337
        x.place(1, user: 2, .sell, .limit, price: price, quantity: quantity)
        let funded = x.place(2, user: 1, .buy, .limit, price: price + 1, quantity: quantity)
        let quote = Int64(Int128(price) * Int128(quantity) / 100_000_000)
        let buyerFee = Int64(Int128(quantity) * 333_333 / 100_000_000)
        let sellerFee = Int64(Int128(quote) * 77_777 / 100_000_000)
        let reserved = Int64((Int128(price + 1) * Int128(quantity) + 99_999_999) / 100_000_000)
        #expect(funded?.reservedAmount == reserved)
        #expect(x.trades.map(\.quoteQuantity) == [quote])
        #expect(x.trades.map(\.buyerCommission) == [buyerFee] && x.trades.map(\.sellerCommission) == [sellerFee])
        #expect(x.d.balance(1, "BTC") == (quantity - buyerFee, 0))
        #expect(x.d.balance(1, "USDT") == (u(1_000) - quote, 0))
        #expect(x.d.balance(2, "USDT") == (quote - sellerFee, 0))
        #expect(x.d.balance(2, "BTC") == (u(10) - quantity, 0))
        #expect(x.d.ledger.feeRevenue(asset: "BTC") == buyerFee && x.d.ledger.feeRevenue(asset: "USDT") == sellerFee)
        #expect(x.closed.map(\.orderID).sorted() == [1, 2])
        x.d.expectClean()
    }

    @Test func marketBuyBudgetIsNeverExceededAndTheRestComesBack() {
        var x = Exchange()
        x.d.fund(1, "USDT", u(250))
        x.d.fund(2, "BTC", u(10))
        x.place(1, user: 2, .sell, .limit, price: u(100), quantity: u(1))
        x.place(2, user: 2, .sell, .limit, price: u(120), quantity: u(5))
        // Wants 5 BTC, can afford 100 + 150/120 = 2.25 BTC.
        let funded = x.place(3, user: 1, .buy, .market, quantity: u(5))
        #expect(funded?.quoteBudget == u(250))
        #expect(x.trades.map(\.quantity) == [u(1), 125_000_000])
        let spent = x.trades.reduce(0) { $0 + $1.quoteQuantity }
        #expect(spent <= u(250))
        #expect(x.closed.map(\.status) == [.filled, .expired])
        #expect(x.d.balance(1, "USDT") == (u(250) - spent, 0))
        x.d.expectClean()
    }

    @Test(arguments: [SelfTradePreventionMode.expireTaker, .expireMaker, .expireBoth])
    func selfTradePreventionExpiryReleases(_ mode: SelfTradePreventionMode) {
        var x = Exchange()
        x.d.fund(1, "USDT", u(1_000))
        x.d.fund(1, "BTC", u(10))
        x.place(1, user: 1, .sell, .limit, price: u(100), quantity: u(2))
        x.place(2, user: 1, .buy, .limit, price: u(100), quantity: u(3), stp: mode)
        #expect(x.trades.isEmpty)
        let expired = x.closed.filter { $0.status == .expiredInMatch }
        switch mode {
        case .expireTaker: #expect(expired.map(\.orderID) == [2] && expired.map(\.released) == [u(300)])
        case .expireMaker: #expect(expired.map(\.orderID) == [1] && expired.map(\.released) == [u(2)])
        default: #expect(expired.map(\.orderID) == [1, 2])
        }
        // Whatever is still open is exactly what stays locked.
        let usdtLocked: Int64 = mode == .expireMaker ? u(300) : 0
        let btcLocked: Int64 = mode == .expireTaker ? u(2) : 0
        #expect(x.d.balance(1, "USDT") == (u(1_000) - usdtLocked, usdtLocked))
        #expect(x.d.balance(1, "BTC") == (u(10) - btcLocked, btcLocked))
        #expect(x.d.ledger.openOrderCount == x.book.openOrderCount)
        x.d.expectClean()
    }

    @Test func cancelAndAmendThroughTheBook() {
        var x = Exchange()
        x.d.fund(1, "USDT", u(1_000))
        x.place(1, user: 1, .buy, .limit, price: u(100), quantity: u(4))
        x.run(.amend(AmendRequest(userID: 1, orderID: 1, newQuantity: u(1), time: 0)))
        #expect(x.d.balance(1, "USDT") == (u(900), u(100)))
        // A refused cancel (restriction) releases nothing; the real cancel releases the rest.
        x.run(.cancel(CancelRequest(userID: 1, orderID: 1, cancelRestrictions: .onlyPartiallyFilled, time: 0)))
        #expect(x.d.balance(1, "USDT") == (u(900), u(100)))
        x.run(.cancel(CancelRequest(userID: 1, orderID: 1, time: 0)))
        #expect(x.d.balance(1, "USDT") == (u(1_000), 0))
        #expect(x.closed.map(\.released) == [u(100)])
        x.d.expectClean()
    }
}
