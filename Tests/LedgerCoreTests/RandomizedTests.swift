import ExchangeProtocol
import LedgerCore
import MatchingEngine
import Testing

/// Long seeded runs of the ledger in front of real books (`EndToEndHarness`): nothing bridged from
/// matching is ever refused (so no budget or lock is ever exceeded), audits stay clean with zero
/// drift, the ledger's open orders are exactly the books', a snapshot restored midway behaves
/// identically, and replaying the command log gives the same hash.
@Suite struct RandomizedTests {
    static let seeds: [UInt64] = [1, 2, 3, 4]

    @Test(arguments: seeds)
    func longRun(seed: UInt64) throws {
        let operations = EndToEndHarness.totalOperations / Self.seeds.count
        var h = EndToEndHarness(seed: seed)
        var twin: EndToEndHarness?
        for index in 0..<operations {
            if index == operations / 2 {
                // Snapshot and restore midway; the twin continues with the restored ledger.
                var copy = h
                copy.ledger = try Ledger(snapshot: h.ledger.snapshot())
                copy.recordLog = false
                #expect(copy.ledger.stateHash() == h.ledger.stateHash())
                twin = copy
            }
            let events = h.step(index: index)
            if var t = twin {
                let twinEvents = t.step(index: index)
                twin = t
                if twinEvents != events {
                    Issue.record("seed \(seed): restored twin diverged at operation \(index)")
                    twin = nil
                }
            }
            if index % 5_000 == 4_999 || index == operations - 1 {
                let audit = h.ledger.audit()
                #expect(audit.findings == [], "seed \(seed) op \(index)")
                #expect(audit.assets.allSatisfy { $0.drift == 0 && $0.clearing == 0 })
                #expect(h.ledger.openOrderCount == h.bookOpenOrders, "seed \(seed) op \(index): ledger and books disagree on open orders")
            }
            if !h.failures.isEmpty { break }
        }
        #expect(h.failures == [], "seed \(seed)")
        if let t = twin { #expect(t.ledger.stateHash() == h.ledger.stateHash()) }

        // Replaying the whole log on a fresh ledger gives the same state.
        var replayed = Ledger()
        var events: [LedgerEvent] = []
        for command in h.log {
            events.removeAll(keepingCapacity: true)
            replayed.apply(command, into: &events)
        }
        #expect(replayed.stateHash() == h.ledger.stateHash())
        #expect(replayed.snapshot() == h.ledger.snapshot())

        // The run exercised what it is meant to.
        let s = h.stats
        #expect(s["trades", default: 0] > operations / 20, "\(s)")
        for key in ["closed.FILLED", "closed.CANCELED", "closed.EXPIRED", "closed.EXPIRED_IN_MATCH", "rejected.insufficientBalance",
                    "rejected.duplicateTrade", "rejected.unknownOrder", "funded.MARKET", "funded.STOP_LOSS_LIMIT"] {
            #expect(s[key, default: 0] > 0, "seed \(seed): \(key) never happened: \(s)")
        }
    }
}
