import ExchangeProtocol
@testable import MatchingEngine
import Testing

/// Randomized checks of the fast book's internals: the id table against `Dictionary`, and book
/// invariants, determinism and snapshot round-trips along a random command stream.
@Suite struct FastBookRandomizedTests {
    @Test func idMapMatchesDictionary() {
        var rng = SplitMix64(seed: 7)
        var map = FastBookIDMap(capacity: 4)
        var reference: [UInt64: Int32] = [:]
        for step in 0..<50_000 {
            // Keys collide on purpose (small range, multiples of 1024 share low bits).
            let key = UInt64(rng.below(3_000)) * 1_024
            if rng.below(3) == 0 {
                map.remove(key)
                reference.removeValue(forKey: key)
            } else {
                map.set(key, Int32(step))
                reference[key] = Int32(step)
            }
        }
        #expect(map.count == reference.count)
        for key in stride(from: UInt64(0), to: 3_000 * 1_024, by: 1_024) {
            #expect(map[key] == reference[key])
        }
    }

    /// A random stream over every command kind on a narrow price band (lots of crossing, STP,
    /// icebergs and stops); returns the events.
    static func randomCommands(seed: UInt64, count: Int) -> [MatchingCommand] {
        var rng = SplitMix64(seed: seed)
        var commands: [MatchingCommand] = []
        let modes: [SelfTradePreventionMode?] = [nil, SelfTradePreventionMode.none, .expireTaker, .expireMaker, .expireBoth, .decrement]
        for n in 0..<count {
            let id = UInt64(n + 1)
            let user = UInt64(1 + rng.below(4))
            let time = Int64(1_000 + n)
            let side: Side = rng.below(2) == 0 ? .buy : .sell
            let price = Int64(95 + rng.below(11)) * 100_000_000
            let quantity = Int64(1 + rng.below(9)) * 10_000_000
            let cid = rng.below(3) == 0 ? "c\(rng.below(20))" : ""
            let stp = modes[rng.below(modes.count)]
            switch rng.below(10) {
            case 0...3:
                let tif: TimeInForce = [.gtc, .gtc, .ioc, .fok][rng.below(4)]
                let iceberg = tif == .gtc && rng.below(4) == 0 ? quantity / 3 : 0
                commands.append(.place(OrderRequest(
                    orderID: id, userID: user, clientOrderID: cid, side: side, type: .limit, timeInForce: tif,
                    price: price, quantity: quantity, icebergQty: iceberg, selfTradePrevention: stp,
                    makerCommissionRate: 100_000, takerCommissionRate: 200_000, time: time)))
            case 4:
                let byQuote = rng.below(2) == 0
                commands.append(.place(OrderRequest(
                    orderID: id, userID: user, side: side, type: .market, quantity: byQuote ? 0 : quantity,
                    quoteOrderQty: byQuote ? quantity * 100 : 0, selfTradePrevention: stp, time: time)))
            case 5:
                let type: OrderType = [.stopLoss, .stopLossLimit, .takeProfit, .takeProfitLimit][rng.below(4)]
                commands.append(.place(OrderRequest(
                    orderID: id, userID: user, clientOrderID: cid, side: side, type: type, price: price,
                    quantity: quantity, stopPrice: Int64(95 + rng.below(11)) * 100_000_000, selfTradePrevention: stp,
                    time: time)))
            case 6:
                commands.append(.cancel(CancelRequest(
                    userID: user, orderID: cid.isEmpty ? UInt64(1 + rng.below(n + 1)) : 0, origClientOrderID: cid,
                    time: time)))
            case 7:
                commands.append(.amend(AmendRequest(
                    userID: user, orderID: UInt64(1 + rng.below(n + 1)), newQuantity: quantity / 2, time: time)))
            case 8:
                commands.append(.cancelReplace(CancelReplaceRequest(
                    mode: rng.below(2) == 0 ? .allowFailure : .stopOnFailure,
                    cancel: CancelRequest(userID: user, orderID: UInt64(1 + rng.below(n + 1)), time: time),
                    place: OrderRequest(
                        orderID: id, userID: user, side: side, type: .limit, price: price, quantity: quantity,
                        selfTradePrevention: stp, time: time))))
            default:
                if rng.below(5) == 0 {
                    commands.append(.cancelAll(userID: user, time: time))
                } else {
                    commands.append(.place(OrderRequest(
                        orderID: id, userID: user, side: side, type: .limitMaker, price: price, quantity: quantity,
                        time: time)))
                }
            }
        }
        return commands
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func invariantsDeterminismAndSnapshots(seed: UInt64) throws {
        let commands = Self.randomCommands(seed: seed, count: 3_000)
        var a = FastBook(rules: SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT"))
        var b = a
        var events: [MatchingEvent] = []
        var otherEvents: [MatchingEvent] = []
        var lastUpdate: Int64 = 0
        var lastTrade: Int64 = 0
        var trades = 0
        for (n, command) in commands.enumerated() {
            events.removeAll(keepingCapacity: true)
            a.apply(command, into: &events)
            otherEvents.removeAll(keepingCapacity: true)
            b.apply(command, into: &otherEvents)
            #expect(events == otherEvents)
            for event in events {
                switch event {
                case .levelChanged(_, _, let quantity, let id):
                    #expect(id == lastUpdate + 1 && quantity >= 0)
                    lastUpdate = id
                case .trade(let t):
                    #expect(t.tradeID == lastTrade + 1 && t.quantity > 0 && t.buyerOrderID != t.sellerOrderID)
                    lastTrade = t.tradeID
                    trades += 1
                case .rejected:
                    #expect(events.count == 1 || { if case .cancelReplace = command { return true } else { return false } }())
                case .report(let r):
                    #expect(r.rejectReason == "NONE" && r.cumulativeQty >= 0)
                }
            }
            // The book never stays crossed and depth matches the levels.
            let depth = a.depth(limit: 1_000)
            if let bid = depth.bids.first, let ask = depth.asks.first { #expect(bid.price < ask.price) }
            #expect(depth.bids.allSatisfy { $0.quantity > 0 } && depth.asks.allSatisfy { $0.quantity > 0 })
            #expect(a.lastUpdateID == lastUpdate)
            if n % 500 == 499 {
                let bytes = a.snapshot()
                let restored = try FastBook(snapshot: bytes)
                #expect(restored.snapshot() == bytes && restored.stateHash() == a.stateHash())
                b = restored  // continue the twin from the snapshot: streams must stay equal
            }
        }
        #expect(trades > 50)
        #expect(a.stateHash() == b.stateHash())
    }
}

/// The pooled order stays trivial: the pool copies slots with memcpy and never deinitializes them.
@Test func fastBookOrderIsTrivial() {
    #expect(_isPOD(FastBookOrder.self))
}

/// Copies of a book share its pooled buffers until one applies a command (explicit
/// copy-on-write): a copy taken mid-stream keeps its state, bytes and behaviour while the
/// original moves on, and then replays the rest to the same place.
@Test func fastBookCopiesAreIndependent() throws {
    let commands = FastBookRandomizedTests.randomCommands(seed: 11, count: 2_000)
    var original = FastBook(rules: SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT"))
    var events: [MatchingEvent] = []
    for command in commands[..<1_000] { original.apply(command, into: &events) }
    var copy = original
    let (hash, bytes) = (copy.stateHash(), copy.snapshot())
    var originalEvents: [MatchingEvent] = []
    for command in commands[1_000...] { original.apply(command, into: &originalEvents) }
    #expect(copy.stateHash() == hash)
    #expect(copy.snapshot() == bytes)
    var copyEvents: [MatchingEvent] = []
    for command in commands[1_000...] { copy.apply(command, into: &copyEvents) }
    #expect(copyEvents == originalEvents)
    #expect(copy.stateHash() == original.stateHash())
    #expect(copy.snapshot() == original.snapshot())
}
