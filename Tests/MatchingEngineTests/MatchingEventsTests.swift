import ExchangeProtocol
@testable import MatchingEngine
import Testing

/// The event buffer itself: strings inline and in the table read back exactly, copies are
/// independent, clearing keeps nothing, and a buffer reused across commands and books (as the
/// service and the benchmark reuse theirs) gives the same events as a fresh one per command.
@Suite struct MatchingEventsTests {
    static func report(clientOrderID: String, orig: String, asset: String, reason: String = "NONE") -> MatchingEvent {
        .report(ExecutionReport(
            orderID: 7, userID: 3, clientOrderID: clientOrderID, origClientOrderID: orig, side: .sell, type: .limit,
            timeInForce: .gtc, quantity: 5, price: 6, stopPrice: 0, icebergQty: 0, quoteOrderQty: 0,
            executionType: .trade, status: .partiallyFilled, rejectReason: reason, lastExecutedQty: 1, cumulativeQty: 1,
            cumulativeQuoteQty: 6, lastPrice: 6, lastQuoteQty: 6, commission: 2, commissionAsset: asset,
            transactionTime: 99, tradeID: 4, isMaker: true, isWorking: true, workingTime: 98, orderCreationTime: 97,
            selfTradePrevention: .expireMaker, preventedMatchID: 0, preventedQuantity: 0, lastPreventedQuantity: 0,
            strategyID: 11, strategyType: 1_000_000))
    }

    @Test func stringsOfEveryLengthRoundTrip() {
        let strings = ["", "a", "NONE", "USDT", "exactly15bytes!", "sixteen-bytes-ok", "é€😀x", "é€😀xé€😀x",
                       String(repeating: "z", count: 36), "web_9f8d7c6b5a4e3d2c1b0a9f8e7d6c5b4a"]
        var events = MatchingEvents()
        var expected: [MatchingEvent] = []
        for (index, s) in strings.enumerated() {
            let other = strings[(index + 3) % strings.count]
            let event = Self.report(clientOrderID: s, orig: other, asset: strings[(index + 5) % strings.count], reason: s)
            events.append(event)
            expected.append(event)
            let rejection = MatchingEvent.rejected(Rejection(userID: 1, orderID: 2, clientOrderID: other, code: -2010, message: s))
            events.append(rejection)
            expected.append(rejection)
            let level = MatchingEvent.levelChanged(side: .buy, price: Int64(index), quantity: 3, updateID: 4)
            events.append(level)
            expected.append(level)
        }
        #expect(Array(events) == expected)
        #expect(events.count == expected.count)
        #expect(events == MatchingEvents(expected))
    }

    @Test func copiesAreIndependentAndClearingForgets() {
        var a = MatchingEvents()
        a.append(Self.report(clientOrderID: "a-client-order-id-long", orig: "", asset: "BTC"))
        var b = a
        b.append(.levelChanged(side: .sell, price: 1, quantity: 2, updateID: 3))
        #expect(a.count == 1 && b.count == 2)
        #expect(b[0] == a[0])
        b.removeAll(keepingCapacity: true)
        #expect(b.isEmpty && a.count == 1)
        b.append(Self.report(clientOrderID: "another-long-client-order-id", orig: "x", asset: "ETH"))
        #expect(a[0] == Self.report(clientOrderID: "a-client-order-id-long", orig: "", asset: "BTC"))
        #expect(Array(b) == [Self.report(clientOrderID: "another-long-client-order-id", orig: "x", asset: "ETH")])
        b.removeAll()
        #expect(b.isEmpty)
    }

    /// Many events in one buffer (growth), shared with a copy while a book appends.
    @Test func growthAndCopyOnWriteUnderABook() {
        var book = FastBook(rules: SymbolRules(symbol: "LONGNAMEDASSETXYZUSDT", baseAsset: "LONGNAMEDASSETXYZ", quoteAsset: "USDT"))
        var reference = ReferenceBook(rules: book.rules)
        var events = MatchingEvents()
        var expected: [MatchingEvent] = []
        for i in 0..<400 {
            let id = UInt64(i + 1)
            let command = MatchingCommand.place(OrderRequest(
                orderID: id, userID: id % 7 + 1, clientOrderID: i % 3 == 0 ? "long-client-order-\(i)" : "c\(i)",
                side: i % 2 == 0 ? .buy : .sell, type: .limit, price: Int64(100 + i % 5) * 100_000_000,
                quantity: Int64(1 + i % 4) * 100_000_000, selfTradePrevention: SelfTradePreventionMode.none, time: Int64(i)))
            let before = i % 25 == 0 ? events : MatchingEvents()
            book.apply(command, into: &events)
            reference.apply(command, into: &expected)
            #expect(Array(before) == Array(events.prefix(before.count)))
        }
        #expect(Array(events) == expected)
    }
}
