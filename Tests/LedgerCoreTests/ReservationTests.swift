import ExchangeProtocol
import LedgerCore
import Testing

/// Reservation at order entry: what is locked for each order type, and every rejection.
@Suite struct ReservationTests {
    static let u = LedgerDriver.u
    let u = ReservationTests.u

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var side: Side
        var type: OrderType
        var price: Int64 = 0
        var quantity: Int64 = 0
        var quoteOrderQty: Int64 = 0
        /// Expected reservation, or nil with `rejection`.
        var asset: String = ""
        var amount: Int64 = 0
        var budget: Int64 = 0
        var rejection: LedgerRejectionReason? = nil
        var testDescription: String { name }
    }

    /// User 1 holds 1,000 USDT and 10 BTC.
    static let cases: [Case] = [
        Case(name: "LIMIT BUY exact", side: .buy, type: .limit, price: u(100), quantity: u(2), asset: "USDT", amount: u(200)),
        Case(name: "LIMIT BUY rounds up", side: .buy, type: .limit, price: 10_050_000_000, quantity: 3, asset: "USDT", amount: 302),
        Case(name: "LIMIT BUY 1e-8 x 1e-8 rounds up to 1", side: .buy, type: .limit, price: 1, quantity: 1, asset: "USDT", amount: 1),
        Case(name: "LIMIT_MAKER BUY", side: .buy, type: .limitMaker, price: u(99), quantity: u(1), asset: "USDT", amount: u(99)),
        Case(name: "STOP_LOSS_LIMIT BUY like LIMIT", side: .buy, type: .stopLossLimit, price: 12_345_678_901, quantity: 7, asset: "USDT", amount: 865),
        Case(name: "TAKE_PROFIT_LIMIT BUY like LIMIT", side: .buy, type: .takeProfitLimit, price: u(50), quantity: u(3), asset: "USDT", amount: u(150)),
        Case(name: "MARKET BUY by quote", side: .buy, type: .market, quoteOrderQty: u(150), asset: "USDT", amount: u(150)),
        Case(name: "MARKET BUY by quantity: whole free quote as budget", side: .buy, type: .market, quantity: u(1), asset: "USDT", amount: u(1_000), budget: u(1_000)),
        Case(name: "STOP_LOSS BUY like MARKET", side: .buy, type: .stopLoss, quantity: u(1), asset: "USDT", amount: u(1_000), budget: u(1_000)),
        Case(name: "TAKE_PROFIT BUY like MARKET", side: .buy, type: .takeProfit, quantity: u(1), asset: "USDT", amount: u(1_000), budget: u(1_000)),
        Case(name: "LIMIT SELL", side: .sell, type: .limit, price: u(100), quantity: u(2), asset: "BTC", amount: u(2)),
        Case(name: "MARKET SELL by quantity", side: .sell, type: .market, quantity: 123, asset: "BTC", amount: 123),
        Case(name: "STOP_LOSS SELL", side: .sell, type: .stopLoss, quantity: u(3), asset: "BTC", amount: u(3)),
        Case(name: "TAKE_PROFIT_LIMIT SELL", side: .sell, type: .takeProfitLimit, price: u(1), quantity: u(10), asset: "BTC", amount: u(10)),
        Case(name: "MARKET SELL by quote: whole free base", side: .sell, type: .market, quoteOrderQty: u(50), asset: "BTC", amount: u(10)),
        Case(name: "LIMIT BUY above free", side: .buy, type: .limit, price: u(100), quantity: 1_000_000_001, rejection: .insufficientBalance),
        Case(name: "MARKET BUY by quote above free", side: .buy, type: .market, quoteOrderQty: u(1_001), rejection: .insufficientBalance),
        Case(name: "SELL above free", side: .sell, type: .limit, price: u(1), quantity: u(10) + 1, rejection: .insufficientBalance),
        Case(name: "LIMIT BUY without price", side: .buy, type: .limit, quantity: u(1), rejection: .invalidQuantity),
        Case(name: "LIMIT BUY without quantity", side: .buy, type: .limit, price: u(1), rejection: .invalidQuantity),
        Case(name: "MARKET with both quantity and quote", side: .buy, type: .market, quantity: u(1), quoteOrderQty: u(1), rejection: .invalidQuantity),
        Case(name: "MARKET with neither", side: .buy, type: .market, rejection: .invalidQuantity),
        Case(name: "SELL with neither", side: .sell, type: .limit, price: u(1), rejection: .invalidQuantity),
        Case(name: "negative quantity", side: .sell, type: .limit, price: u(1), quantity: -1, rejection: .invalidQuantity),
        Case(name: "price x quantity overflows", side: .buy, type: .limit, price: .max, quantity: .max, rejection: .invalidQuantity),
        Case(name: "LIMIT SELL by quote", side: .sell, type: .limit, price: u(1), quoteOrderQty: u(1), rejection: .invalidQuantity),
    ]

    static func funded() -> LedgerDriver {
        var d = LedgerDriver.standard()
        d.fund(1, "USDT", u(1_000))
        d.fund(1, "BTC", u(10))
        return d
    }

    @Test(arguments: cases)
    func reservation(_ c: Case) {
        var d = Self.funded()
        d.place(7, user: 1, c.side, c.type, price: c.price, quantity: c.quantity, quoteOrderQty: c.quoteOrderQty)
        if let reason = c.rejection {
            #expect(d.rejection == LedgerRejection(reason: reason, userID: 1, orderID: 7, time: d.time - 1))
            return
        }
        #expect(d.rejection == nil)
        let rates = (maker: Int64(100_000), taker: Int64(100_000))
        #expect(d.funded == FundedOrderInfo(
            userID: 1, orderID: 7, reservedAsset: c.asset, reservedAmount: c.amount, quoteBudget: c.budget,
            makerCommissionRate: rates.maker, takerCommissionRate: rates.taker, baseAsset: "BTC", quoteAsset: "USDT"))
        let start = c.asset == "USDT" ? Self.u(1_000) : Self.u(10)
        #expect(d.balance(1, c.asset) == (start - c.amount, c.amount))
        #expect(d.balanceChanges.count == 1)
        let change = d.balanceChanges[0]
        #expect(change.reason == .orderReserve && change.orderID == 7 && change.userID == 1 && change.second == nil)
        #expect(change.first == AssetMovement(asset: c.asset, freeDelta: -c.amount, lockedDelta: c.amount, free: start - c.amount, locked: c.amount))
        #expect(d.postings == [Posting(journalEntryID: change.journalEntryID, asset: c.asset, from: .free(userID: 1), to: .locked(userID: 1), amount: c.amount)])
        #expect(d.ledger.openOrder(7)?.locked == c.amount)
        d.expectClean()
    }

    @Test func marketBuyBudgetIsCappedPerQuoteAsset() {
        var d = Self.funded()
        d.expectAccepted(.setAsset(AssetSettings(asset: "USDT", marketBuyBudgetCap: u(300))))
        d.place(7, user: 1, .buy, .market, quantity: u(1))
        #expect(d.funded?.quoteBudget == u(300) && d.funded?.reservedAmount == u(300))
        #expect(d.balance(1, "USDT") == (u(700), u(300)))
        // A second one gets the cap again while free allows, then what is left.
        d.place(8, user: 1, .buy, .market, quantity: u(1))
        #expect(d.funded?.quoteBudget == u(300))
        d.place(9, user: 1, .buy, .market, quantity: u(1))
        #expect(d.funded?.quoteBudget == u(300))
        d.place(10, user: 1, .buy, .stopLoss, quantity: u(1))
        #expect(d.funded?.quoteBudget == u(100))
        d.place(11, user: 1, .buy, .market, quantity: u(1))
        #expect(d.rejection?.reason == .insufficientBalance)
        d.expectClean()
    }

    @Test func binanceCodesAndMessages() {
        var d = Self.funded()
        d.place(7, user: 2, .buy, .limit, price: u(1), quantity: u(1))
        #expect(d.rejection?.binanceCode == -2010)
        #expect(d.rejection?.message == "Account has insufficient balance for requested action.")
        d.expectAccepted(.setPermissions(SetPermissions(userID: 1, permissions: AccountPermissions(canTrade: false))))
        d.place(8, user: 1, .buy, .limit, price: u(1), quantity: u(1))
        #expect(d.rejection?.reason == .actionDisabled && d.rejection?.binanceCode == -2010)
        #expect(d.rejection?.message == "This action is disabled on this account.")
        d.expectAccepted(.setPermissions(SetPermissions(userID: 1, permissions: .all)))
        d.place(8, user: 1, symbol: "XYZUSDT", .buy, .limit, price: u(1), quantity: u(1))
        #expect(d.rejection?.reason == .unknownSymbol && d.rejection?.binanceCode == -1121)
        d.place(8, user: 99, .buy, .limit, price: u(1), quantity: u(1))
        #expect(d.rejection?.reason == .unknownAccount && d.rejection?.binanceCode == -2015)
        d.place(8, user: 1, .buy, .limit, price: u(1), quantity: u(1))
        #expect(d.rejection == nil)
        d.place(8, user: 1, .buy, .limit, price: u(1), quantity: u(1))
        #expect(d.rejection?.reason == .duplicateOrder)
        d.expectClean()
    }
}
