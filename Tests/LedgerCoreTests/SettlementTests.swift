import ExchangeProtocol
import LedgerCore
import Testing

/// Settlement of trades, releases, idempotence (scenarios written by hand against the contract).
@Suite struct SettlementTests {
    static let u = LedgerDriver.u
    let u = SettlementTests.u

    /// User 1 (buyer) 1,000 USDT; user 2 (seller) 10 BTC.
    static func twoTraders() -> LedgerDriver {
        var d = LedgerDriver.standard()
        d.fund(1, "USDT", u(1_000))
        d.fund(2, "BTC", u(10))
        return d
    }

    func trade(
        _ id: Int64, price: Int64, quantity: Int64, buyer: UInt64, seller: UInt64, buyerUser: UInt64 = 1,
        sellerUser: UInt64 = 2, buyerCommission: Int64 = 0, sellerCommission: Int64 = 0
    ) -> LedgerCommand {
        let quote = Int64(Int128(price) * Int128(quantity) / 100_000_000)
        return .settleTrade(TradeSettlement(
            tradeID: id, price: price, quantity: quantity, quoteQuantity: quote, buyerOrderID: buyer, sellerOrderID: seller,
            buyerUserID: buyerUser, sellerUserID: sellerUser, buyerCommission: buyerCommission,
            sellerCommission: sellerCommission))
    }

    func progress(_ order: UInt64, user: UInt64, _ x: ExecutionType, _ status: OrderStatus, quantity: Int64 = 0, cumulative: Int64 = 0, prevented: Int64 = 0) -> LedgerCommand {
        .orderProgress(OrderProgress(
            orderID: order, userID: user, executionType: x, status: status, quantity: quantity, cumulativeQty: cumulative,
            preventedQuantity: prevented))
    }

    @Test func bothSidesWithCommissionAndPriceImprovement() {
        var d = Self.twoTraders()
        d.place(10, user: 2, .sell, .limit, price: u(100), quantity: u(2))
        d.place(11, user: 1, .buy, .limit, price: u(101), quantity: u(3))
        #expect(d.balance(1, "USDT") == (u(697), u(303)))
        // Buyer is taker (0.1% of 2 BTC), seller maker (0.1% of 200 USDT).
        d.expectAccepted(trade(1, price: u(100), quantity: u(2), buyer: 11, seller: 10, buyerCommission: 200_000, sellerCommission: 20_000_000))
        #expect(d.balance(1, "BTC") == (199_800_000, 0))
        // 303 locked - 200 paid = 103; 1 BTC left at 101 needs 101: 2 released now.
        #expect(d.balance(1, "USDT") == (u(699), u(101)))
        #expect(d.balance(2, "BTC") == (u(8), 0))
        #expect(d.balance(2, "USDT") == (19_980_000_000, 0))
        #expect(d.ledger.feeRevenue(asset: "BTC") == 200_000)
        #expect(d.ledger.feeRevenue(asset: "USDT") == 20_000_000)
        #expect(d.ledger.clearing(asset: "BTC") == 0 && d.ledger.clearing(asset: "USDT") == 0)
        let changes = d.balanceChanges
        #expect(changes.count == 2)
        #expect(changes[0].userID == 1 && changes[0].reason == .trade && changes[0].orderID == 11)
        #expect(changes[0].first == AssetMovement(asset: "BTC", freeDelta: 199_800_000, lockedDelta: 0, free: 199_800_000, locked: 0))
        #expect(changes[0].second == AssetMovement(asset: "USDT", freeDelta: u(2), lockedDelta: -u(202), free: u(699), locked: u(101)))
        #expect(changes[1].userID == 2 && changes[1].orderID == 10)
        #expect(changes[1].first == AssetMovement(asset: "BTC", freeDelta: 0, lockedDelta: -u(2), free: u(8), locked: 0))
        #expect(changes[1].second == AssetMovement(asset: "USDT", freeDelta: 19_980_000_000, lockedDelta: 0, free: 19_980_000_000, locked: 0))
        let entry = changes[0].journalEntryID
        #expect(changes[1].journalEntryID == entry)
        #expect(d.postings == [
            Posting(journalEntryID: entry, asset: "USDT", from: .locked(userID: 1), to: .clearing, amount: u(200)),
            Posting(journalEntryID: entry, asset: "BTC", from: .clearing, to: .free(userID: 1), amount: 199_800_000),
            Posting(journalEntryID: entry, asset: "BTC", from: .clearing, to: .feeRevenue, amount: 200_000),
            Posting(journalEntryID: entry, asset: "USDT", from: .locked(userID: 1), to: .free(userID: 1), amount: u(2)),
            Posting(journalEntryID: entry, asset: "BTC", from: .locked(userID: 2), to: .clearing, amount: u(2)),
            Posting(journalEntryID: entry, asset: "USDT", from: .clearing, to: .free(userID: 2), amount: 19_980_000_000),
            Posting(journalEntryID: entry, asset: "USDT", from: .clearing, to: .feeRevenue, amount: 20_000_000),
        ])
        // Seller's FILLED report closes it with nothing left; the buyer's cancel releases 101.
        d.expectAccepted(progress(10, user: 2, .trade, .filled, quantity: u(2), cumulative: u(2)))
        #expect(d.closed == OrderClosed(userID: 2, orderID: 10, status: .filled, asset: "BTC", released: 0))
        #expect(d.balanceChanges.isEmpty)
        d.expectAccepted(progress(11, user: 1, .trade, .partiallyFilled, quantity: u(3), cumulative: u(2)))
        #expect(d.events.isEmpty)
        d.expectAccepted(progress(11, user: 1, .canceled, .canceled, quantity: u(3), cumulative: u(2)))
        #expect(d.closed?.released == u(101))
        #expect(d.balance(1, "USDT") == (u(800), 0))
        #expect(d.balanceChanges.first?.reason == .orderRelease)
        #expect(d.ledger.openOrderCount == 0)
        d.expectClean()
    }

    @Test func priceImprovementReleaseRoundsPerFill() {
        var d = Self.twoTraders()
        // 3e-8 BTC at 100.5: 301.5e-8 reserved as 302e-8.
        d.place(11, user: 1, .buy, .limit, price: 10_050_000_000, quantity: 3)
        #expect(d.balance(1, "USDT").locked == 302)
        d.place(10, user: 2, .sell, .limit, price: 10_040_000_000, quantity: 1)
        d.place(12, user: 2, .sell, .limit, price: 10_050_000_000, quantity: 2)
        // 1e-8 at 100.4: pays floor(100.4) = 100; 202 left, 2e-8 at 100.5 need ceil(201) = 201: release 1.
        d.expectAccepted(trade(1, price: 10_040_000_000, quantity: 1, buyer: 11, seller: 10))
        #expect(d.balance(1, "USDT").locked == 201)
        #expect(d.balanceChanges[0].second?.freeDelta == 1)
        // 2e-8 at 100.5: pays floor(201) = 201; nothing left.
        d.expectAccepted(trade(2, price: 10_050_000_000, quantity: 2, buyer: 11, seller: 12))
        #expect(d.balance(1, "USDT") == (u(1_000) - 301, 0))
        #expect(d.balance(1, "BTC").free == 3)
        d.expectAccepted(progress(11, user: 1, .trade, .filled, quantity: 3, cumulative: 3))
        #expect(d.closed?.released == 0)
        d.expectClean()
    }

    @Test func marketBuyBySpendsFromBudgetAndReleasesTheRest() {
        var d = Self.twoTraders()
        d.place(10, user: 2, .sell, .limit, price: u(100), quantity: u(5))
        d.place(11, user: 1, .buy, .market, quoteOrderQty: u(150))
        d.expectAccepted(trade(1, price: u(100), quantity: 150_000_000, buyer: 11, seller: 10))
        #expect(d.balance(1, "USDT") == (u(850), 0))
        d.expectAccepted(progress(11, user: 1, .trade, .filled, cumulative: 150_000_000))
        #expect(d.closed?.released == 0)
        // A trade beyond what the budget locked is refused (matching never sends one).
        d.place(12, user: 1, .buy, .market, quoteOrderQty: u(100))
        d.expectRejected(trade(2, price: u(100), quantity: 100_000_001, buyer: 12, seller: 10), .lockExceeded)
        d.expectClean()
    }

    @Test func idempotenceAndRefusals() {
        var d = Self.twoTraders()
        d.place(10, user: 2, .sell, .limit, price: u(100), quantity: u(2))
        d.place(11, user: 1, .buy, .limit, price: u(100), quantity: u(2))
        let t = trade(5, price: u(100), quantity: u(1), buyer: 11, seller: 10)
        d.expectAccepted(t)
        d.expectRejected(t, .duplicateTrade)
        d.expectRejected(trade(4, price: u(100), quantity: u(1), buyer: 11, seller: 10), .duplicateTrade)
        // Inconsistent trades.
        d.expectRejected(.settleTrade(TradeSettlement(
            tradeID: 6, price: u(100), quantity: u(1), quoteQuantity: u(99), buyerOrderID: 11, sellerOrderID: 10,
            buyerUserID: 1, sellerUserID: 2)), .invalidTrade)
        d.expectRejected(trade(6, price: u(100), quantity: u(1), buyer: 11, seller: 10, buyerCommission: u(1) + 1), .invalidTrade)
        d.expectRejected(trade(6, price: u(100), quantity: u(1), buyer: 11, seller: 10, buyerUser: 3), .invalidTrade)
        d.expectRejected(trade(6, price: u(100), quantity: u(2), buyer: 11, seller: 10), .invalidTrade)
        d.expectRejected(trade(6, price: u(100), quantity: u(1), buyer: 10, seller: 11, buyerUser: 2, sellerUser: 1), .invalidTrade)
        d.expectRejected(trade(6, price: u(100), quantity: u(1), buyer: 98, seller: 99), .unknownOrder)
        d.expectRejected(trade(6, price: 0, quantity: u(1), buyer: 11, seller: 10), .invalidTrade)
        // Terminal release once; a second one (replay) is refused.
        d.expectAccepted(progress(10, user: 2, .canceled, .canceled, quantity: u(2), cumulative: u(1)))
        #expect(d.closed?.released == u(1))
        d.expectRejected(progress(10, user: 2, .canceled, .canceled, quantity: u(2), cumulative: u(1)), .unknownOrder)
        d.expectRejected(progress(11, user: 2, .canceled, .canceled), .unknownOrder)
        // A late trade for the closed order settles only the open side.
        d.place(12, user: 2, .sell, .limit, price: u(100), quantity: u(1))
        d.expectAccepted(trade(7, price: u(100), quantity: u(1), buyer: 11, seller: 10))
        #expect(d.balanceChanges.map(\.orderID) == [11])
        #expect(d.ledger.clearing(asset: "USDT") == u(100) && d.ledger.clearing(asset: "BTC") == -u(1))
        d.expectClean()  // drift counts clearing: still zero
    }

    @Test func oneSidedSettlementNetsOutAcrossTwoLedgers() {
        // Users 1 and 2 on different partitions: each ledger settles its side through clearing.
        var buyerLedger = Self.twoTraders()
        var sellerLedger = Self.twoTraders()
        buyerLedger.place(11, user: 1, .buy, .limit, price: u(100), quantity: u(1))
        sellerLedger.place(10, user: 2, .sell, .limit, price: u(100), quantity: u(1))
        let t = trade(1, price: u(100), quantity: u(1), buyer: 11, seller: 10, buyerCommission: 100_000, sellerCommission: 10_000_000)
        buyerLedger.expectAccepted(t)
        sellerLedger.expectAccepted(t)
        for asset in ["BTC", "USDT"] {
            #expect(buyerLedger.ledger.clearing(asset: asset) + sellerLedger.ledger.clearing(asset: asset) == 0)
        }
        #expect(buyerLedger.balance(1, "BTC").free == 99_900_000)
        #expect(sellerLedger.balance(2, "USDT").free == 9_990_000_000)
        buyerLedger.expectClean()
        sellerLedger.expectClean()
    }

    @Test func amendReleasesWhatTheLowerQuantityNoLongerNeeds() {
        var d = Self.twoTraders()
        d.place(11, user: 1, .buy, .limit, price: u(100), quantity: u(3))
        d.expectAccepted(progress(11, user: 1, .replaced, .new, quantity: u(2)))
        #expect(d.balance(1, "USDT") == (u(800), u(200)))
        #expect(d.balanceChanges.first?.reason == .orderRelease)
        d.place(10, user: 2, .sell, .limit, price: u(100), quantity: u(3))
        d.expectAccepted(progress(10, user: 2, .replaced, .new, quantity: u(1)))
        #expect(d.balance(2, "BTC") == (u(9), u(1)))
        // Amend below what is filled is refused; an equal or larger quantity changes nothing.
        d.expectAccepted(trade(1, price: u(100), quantity: u(1), buyer: 11, seller: 10))
        // (A report whose cumulative reaches its quantity is terminal, so only an inconsistent one gets here.)
        d.expectRejected(progress(11, user: 1, .replaced, .partiallyFilled, quantity: 50_000_000, cumulative: 0), .invalidQuantity)
        d.expectAccepted(progress(11, user: 1, .replaced, .partiallyFilled, quantity: u(5), cumulative: u(1)))
        #expect(d.events.isEmpty)
        d.expectClean()
    }

    @Test func rejectedPlaceReleasesEverything() {
        var d = Self.twoTraders()
        d.place(11, user: 1, .buy, .limitMaker, price: u(100), quantity: u(3))
        d.expectAccepted(progress(11, user: 1, .rejected, .rejected))
        #expect(d.closed == OrderClosed(userID: 1, orderID: 11, status: .rejected, asset: "USDT", released: u(300)))
        #expect(d.balance(1, "USDT") == (u(1_000), 0))
        d.expectClean()
    }

    @Test func decrementedOrderClosesWhenCumulativePlusPreventedReachesQuantity() {
        var d = Self.twoTraders()
        d.place(11, user: 1, .buy, .limit, price: u(100), quantity: u(3))
        d.expectAccepted(progress(11, user: 1, .tradePrevention, .new, quantity: u(3), prevented: u(2)))
        #expect(d.events.isEmpty)
        d.place(10, user: 2, .sell, .limit, price: u(99), quantity: u(1))
        d.expectAccepted(trade(1, price: u(99), quantity: u(1), buyer: 11, seller: 10))
        // Lock kept at ceil(100 x 2) for the unfilled 2 (prevention does not shrink it per fill).
        #expect(d.balance(1, "USDT") == (u(701), u(200)))
        // Matching reports PARTIALLY_FILLED with no further report: that is terminal here.
        d.expectAccepted(progress(11, user: 1, .trade, .partiallyFilled, quantity: u(3), cumulative: u(1), prevented: u(2)))
        #expect(d.closed?.released == u(200) && d.closed?.status == .partiallyFilled)
        #expect(d.balance(1, "USDT") == (u(901), 0))
        d.expectClean()
    }
}
