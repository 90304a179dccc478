import ExchangeProtocol
import MatchingEngine
import Testing

/// Spreads the seeds over this many parameterized test cases so both cores work.
private let chunks = 8

@Suite("Differential: ReferenceBook vs ReferenceBook restored from snapshots")
struct DifferentialTests {
    /// The same stream into a straight ReferenceBook and one restored from its own snapshot every
    /// 197 commands (plus both halfway): tests determinism and that snapshots carry every bit of
    /// state that matters. `DIFF_COMMANDS` scales the total.
    @Test(arguments: 0..<chunks)
    func referenceAgreesWithItsRestoredSelf(chunk: Int) {
        for seed in Differential.seeds(chunk: chunk, of: chunks) {
            let failure = Differential.run(
                ReferenceBook.self, ReferenceBook.self, seed: seed,
                options: .init(restoreBEvery: 197, snapshotHalfway: true, hashEvery: 50))
            #expect(failure == nil, "\(failure ?? "")")
            if failure != nil { return }
        }
    }

    /// The harness must notice a book that differs in one event of one command...
    @Test func harnessCatchesAnEventDivergence() throws {
        let failure = try #require(Differential.run(ReferenceBook.self, MutantBook.self, seed: 3))
        #expect(failure.contains("seed 3, command #"))
        #expect(failure.contains("events differ"))
    }

    /// ... and a state difference that no event shows.
    @Test func harnessCatchesAHiddenStateDivergence() throws {
        let failure = try #require(Differential.run(ReferenceBook.self, HashMutantBook.self, seed: 3))
        #expect(failure.contains("stateHash"))
    }

    /// The stream must actually reach the contract's corners, or agreement proves little.
    @Test func generatorCoversTheContract() {
        var seen: [String: Int] = [:]
        for seed in Differential.seeds(chunk: 0, of: 1, total: 40_000) {
            var generator = CommandGenerator(seed: seed)
            var book = ReferenceBook(rules: CommandGenerator.rules(seed: seed))
            var events: [MatchingEvent] = []
            for _ in 0..<Differential.commandsPerSeed {
                let command = generator.next()
                switch command {
                case .cancelReplace(let r): seen["cancelReplace \(r.mode.rawValue)", default: 0] += 1
                case .place(let o) where o.type == .market:
                    let kind = o.quoteOrderQty > 0 ? "quote" : o.quoteBudget > 0 ? "budget" : "quantity"
                    seen["market \(kind)", default: 0] += 1
                default: break
                }
                events.removeAll(keepingCapacity: true)
                book.apply(command, into: &events)
                for event in events {
                    switch event {
                    case .report(let r):
                        seen["\(r.executionType.rawValue) \(r.status.rawValue)", default: 0] += 1
                        if r.preventedMatchID != 0 { seen["stp \(r.selfTradePrevention.rawValue)", default: 0] += 1 }
                        if r.executionType == .new && r.isWorking && r.workingTime != r.orderCreationTime {
                            seen["stop triggered \(r.type.rawValue)", default: 0] += 1
                        }
                        if r.executionType == .trade && r.isMaker && r.icebergQty > 0 { seen["iceberg fill", default: 0] += 1 }
                    case .trade: seen["trade", default: 0] += 1
                    case .levelChanged: break
                    case .rejected(let r): seen["rejected \(r.message)", default: 0] += 1
                    }
                }
            }
        }
        let required = [
            "trade", "NEW NEW", "TRADE PARTIALLY_FILLED", "TRADE FILLED", "EXPIRED EXPIRED", "EXPIRED EXPIRED_IN_MATCH",
            "TRADE_PREVENTION NEW", "CANCELED CANCELED", "REPLACED NEW", "REPLACED PARTIALLY_FILLED",
            "stp EXPIRE_TAKER", "stp EXPIRE_MAKER", "stp EXPIRE_BOTH", "stp DECREMENT",
            "stop triggered STOP_LOSS", "stop triggered STOP_LOSS_LIMIT", "stop triggered TAKE_PROFIT",
            "stop triggered TAKE_PROFIT_LIMIT", "iceberg fill", "market quote", "market budget", "market quantity",
            "cancelReplace STOP_ON_FAILURE", "cancelReplace ALLOW_FAILURE",
            "rejected \(BookRejection.duplicateOrder.message)", "rejected \(BookRejection.badQuantity.message)",
            "rejected \(BookRejection.wouldTake.message)", "rejected \(BookRejection.stopWouldTrigger.message)",
            "rejected \(BookRejection.unknownOrder.message)", "rejected \(BookRejection.cancelRestricted.message)",
            "rejected \(BookRejection.stpModeNotAllowed.message)", "rejected \(BookRejection.amendNotLess.message)",
        ]
        for key in required {
            #expect(seen[key, default: 0] >= 3, "generator never produced \(key): \(seen)")
        }
    }
}

/// ReferenceBook with one deliberate bug: the 500th level change reports one raw unit too much.
struct MutantBook: OrderBookEngine {
    var inner: ReferenceBook
    var levelChanges = 0

    init(rules: SymbolRules) { inner = ReferenceBook(rules: rules) }
    init(snapshot: [UInt8]) throws { inner = try ReferenceBook(snapshot: snapshot) }
    var rules: SymbolRules { inner.rules }
    var lastTradePrice: Int64 { inner.lastTradePrice }
    var lastUpdateID: Int64 { inner.lastUpdateID }
    var openOrderCount: Int { inner.openOrderCount }
    func depth(limit: Int) -> (bids: [(price: Int64, quantity: Int64)], asks: [(price: Int64, quantity: Int64)]) {
        inner.depth(limit: limit)
    }
    func stateHash() -> UInt64 { inner.stateHash() }
    func snapshot() -> [UInt8] { inner.snapshot() }

    mutating func apply(_ command: MatchingCommand, into events: inout MatchingEvents) {
        var own: [MatchingEvent] = []
        inner.apply(command, into: &own)
        for i in own.indices {
            if case .levelChanged(let side, let price, let quantity, let updateID) = own[i] {
                levelChanges += 1
                if levelChanges == 500 {
                    own[i] = .levelChanged(side: side, price: price, quantity: quantity + 1, updateID: updateID)
                }
            }
        }
        events.append(contentsOf: own)
    }
}

/// ReferenceBook whose hash disagrees once more than 20 orders are open: a state bug no event shows.
struct HashMutantBook: OrderBookEngine {
    var inner: ReferenceBook

    init(rules: SymbolRules) { inner = ReferenceBook(rules: rules) }
    init(snapshot: [UInt8]) throws { inner = try ReferenceBook(snapshot: snapshot) }
    var rules: SymbolRules { inner.rules }
    var lastTradePrice: Int64 { inner.lastTradePrice }
    var lastUpdateID: Int64 { inner.lastUpdateID }
    var openOrderCount: Int { inner.openOrderCount }
    func depth(limit: Int) -> (bids: [(price: Int64, quantity: Int64)], asks: [(price: Int64, quantity: Int64)]) {
        inner.depth(limit: limit)
    }
    func stateHash() -> UInt64 { inner.openOrderCount > 20 ? inner.stateHash() ^ 1 : inner.stateHash() }
    func snapshot() -> [UInt8] { inner.snapshot() }
    mutating func apply(_ command: MatchingCommand, into events: inout MatchingEvents) { inner.apply(command, into: &events) }
}
