import ExchangeProtocol
import MatchingEngine
import Testing

/// FastBook keeps emptied price levels on its ladder until the empties dominate, then compacts.
/// The default differential streams use a narrow price band, so this one spreads orders over
/// hundreds of levels and cancels at random (many levels empty away from the touch, get reused,
/// and compactions run), holding FastBook to ReferenceBook event by event and state by state.
@Suite struct FastBookLadderTests {
    @Test(arguments: [11, 12] as [UInt64])
    func wideBookChurnMatchesReference(seed: UInt64) throws {
        let tick: Int64 = 1_000_000
        let rules = SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT")
        var rng = SplitMix64(seed: seed)
        var fast = FastBook(rules: rules)
        var reference = ReferenceBook(rules: rules)
        var eventsA: [MatchingEvent] = []
        var eventsB: [MatchingEvent] = []
        var open: [(id: UInt64, user: UInt64, side: Side)] = []
        var nextID: UInt64 = 1
        for n in 0..<8_000 {
            let time = Int64(1_000 + n)
            let command: MatchingCommand
            // Phases: build a wide book, then mostly cancel (empties everywhere), then rebuild.
            let cancelShare = (n / 2_000) % 2 == 1 ? 75 : 25
            if !open.isEmpty && rng.below(100) < cancelShare {
                let pick = rng.below(open.count)
                let target = open[pick]
                open.swapAt(pick, open.count - 1)
                open.removeLast()
                if rng.below(2) == 0 {
                    command = .cancel(CancelRequest(userID: target.user, orderID: target.id, time: time))
                } else {
                    let offset = Int64(1 + rng.below(400))
                    let price = (target.side == .buy ? 100_000 - offset : 100_000 + offset) * tick
                    command = .cancelReplace(CancelReplaceRequest(
                        mode: .allowFailure, cancel: CancelRequest(userID: target.user, orderID: target.id, time: time),
                        place: OrderRequest(
                            orderID: nextID, userID: target.user, side: target.side, type: .limit, price: price,
                            quantity: Int64(1 + rng.below(5)) * 100_000, time: time)))
                    open.append((nextID, target.user, target.side))
                    nextID += 1
                }
            } else {
                let side: Side = rng.below(2) == 0 ? .buy : .sell
                let user = UInt64(1 + rng.below(50))
                let crossing = rng.below(20) == 0
                let offset = crossing ? -Int64(rng.below(3)) : Int64(1 + rng.below(400))
                let price = (side == .buy ? 100_000 - offset : 100_000 + offset) * tick
                command = .place(OrderRequest(
                    orderID: nextID, userID: user, side: side, type: .limit, timeInForce: .gtc, price: price,
                    quantity: Int64(1 + rng.below(5)) * 100_000, selfTradePrevention: SelfTradePreventionMode.none,
                    time: time))
                open.append((nextID, user, side))
                nextID += 1
            }
            eventsA.removeAll(keepingCapacity: true)
            eventsB.removeAll(keepingCapacity: true)
            fast.apply(command, into: &eventsA)
            reference.apply(command, into: &eventsB)
            #expect(eventsA == eventsB, "seed \(seed) command #\(n)")
            if eventsA != eventsB { return }
            if n % 250 == 0 {
                let problem = Differential.compareState(fast, reference)
                #expect(problem == nil, "seed \(seed) command #\(n): \(problem ?? "")")
                if problem != nil { return }
                // Byte-exact and hash-preserving (checked inside); the restored book has no empty rungs.
                fast = try Differential.roundTrip(fast)
            }
        }
        #expect(Differential.compareState(fast, reference) == nil)
    }
}
