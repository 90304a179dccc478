import ExchangeProtocol
import MatchingEngine
import Testing

/// An independent FNV-1a 64 over explicit byte lists, so the layout test does not reuse the book's hasher.
private func fnv(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 14_695_981_039_346_656_037
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 1_099_511_628_211
    }
    return h
}

private func le(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
private func le(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

@Suite("ReferenceBook state: stateHash layout and snapshots")
struct ReferenceBookStateTests {
    @Test func emptyBookHashIsTheCountersOnly() {
        let book = ReferenceBook(rules: SymbolRules(symbol: "X", baseAsset: "B", quoteAsset: "Q"))
        #expect(book.stateHash() == fnv(le(Int64(1)) + le(Int64(1)) + le(Int64(1)) + le(Int64(0))))
    }

    @Test func hashLayoutMatchesTheDocumentedBytes() {
        var b = BookDriver<ReferenceBook>()
        let hundred: Int64 = 10_000_000_000
        b.limit(5, user: 50, .buy, price: 99, quantity: 2, clientOrderID: "bé")
        b.apply(.place(OrderRequest(orderID: 6, userID: 60, side: .buy, type: .limit, price: hundred,
                                    quantity: 700_000_000, icebergQty: 300_000_000, time: b.time)))
        b.limit(7, user: 70, .sell, price: 101, quantity: 1)
        b.apply(.place(OrderRequest(orderID: 8, userID: 80, clientOrderID: "s", side: .sell, type: .stopLoss,
                                    quantity: 100_000_000, stopPrice: 5_000_000_000, time: b.time)))
        // A trade so the counters move: 1 unit from #6 (visible 3 -> 2, remaining 7 -> 6, cumulative 1).
        b.apply(.place(OrderRequest(orderID: 9, userID: 90, side: .sell, type: .market, quantity: 100_000_000, time: b.time)))
        #expect(b.book.lastUpdateID == 4)
        var bytes: [UInt8] = []
        // Bids best first: #6 at 100, then #5 at 99.
        bytes += le(UInt64(6)) + le(UInt64(60)) + le(Int64(600_000_000)) + le(Int64(200_000_000)) + le(Int64(100_000_000))
        bytes += le(UInt64(0))
        bytes += le(UInt64(5)) + le(UInt64(50)) + le(Int64(200_000_000)) + le(Int64(200_000_000)) + le(Int64(0))
        bytes += le(UInt64(3)) + Array("bé".utf8)
        // Asks: #7.
        bytes += le(UInt64(7)) + le(UInt64(70)) + le(Int64(100_000_000)) + le(Int64(100_000_000)) + le(Int64(0))
        bytes += le(UInt64(0))
        // Stops: #8.
        bytes += le(UInt64(8))
        // Next trade id 2, next update id 5, next prevented match id 1, last price 100.
        bytes += le(Int64(2)) + le(Int64(5)) + le(Int64(1)) + le(hundred)
        #expect(b.book.stateHash() == fnv(bytes))
    }

    @Test func snapshotRoundTripsAndContinuesIdentically() throws {
        var generator = CommandGenerator(seed: 42)
        var book = ReferenceBook(rules: CommandGenerator.rules(seed: 42))
        var events: [MatchingEvent] = []
        for _ in 0..<1_500 { book.apply(generator.next(), into: &events) }
        #expect(book.openOrderCount > 0)
        let bytes = book.snapshot()
        var restored = try ReferenceBook(snapshot: bytes)
        #expect(restored.snapshot() == bytes)
        #expect(restored.stateHash() == book.stateHash())
        #expect(restored.rules == book.rules)
        for _ in 0..<1_500 {
            let command = generator.next()
            var a: [MatchingEvent] = []
            var b: [MatchingEvent] = []
            book.apply(command, into: &a)
            restored.apply(command, into: &b)
            #expect(a == b)
            if a != b { break }
        }
        #expect(restored.snapshot() == book.snapshot())
    }

    @Test func snapshotChangesWithState() {
        var b = BookDriver<ReferenceBook>()
        let empty = b.book.snapshot()
        b.limit(1, user: 1, .buy, price: 1, quantity: 1)
        #expect(b.book.snapshot() != empty)
        #expect(b.book.stateHash() != ReferenceBook(rules: b.book.rules).stateHash())
    }

    @Test func badSnapshotsAreRefused() {
        var b = BookDriver<ReferenceBook>()
        b.limit(1, user: 1, .buy, price: 1, quantity: 1, clientOrderID: "abc")
        let bytes = b.book.snapshot()
        #expect(throws: ReferenceBookSnapshotError.badHeader) { try ReferenceBook(snapshot: [1, 2, 3]) }
        #expect(throws: ReferenceBookSnapshotError.truncated) { try ReferenceBook(snapshot: Array(bytes.dropLast())) }
        #expect(throws: ReferenceBookSnapshotError.trailingBytes) { try ReferenceBook(snapshot: bytes + [0]) }
    }
}
