import ExchangeProtocol
import MarketDataCore
import Testing

@Suite("local book and depth sync")
struct BookSyncTests {
    static func level(_ price: Int64, _ quantity: Int64) -> PriceQuantity { PriceQuantity(price: price, quantity: quantity) }

    @Test func bookKeepsSidesSortedBestFirst() {
        var book = LocalBook()
        book.load(bids: [Self.level(100, 1), Self.level(99, 2), Self.level(101, 0)], asks: [Self.level(102, 3), Self.level(103, 4)])
        #expect(book.bestBid == Self.level(100, 1) && book.bestAsk == Self.level(102, 3))
        book.apply(bids: [Self.level(101, 5), Self.level(99, 0), Self.level(98, 7)], asks: [Self.level(102, 0), Self.level(101_5, 1)])
        let (bids, asks) = book.top(10)
        #expect(bids == [Self.level(101, 5), Self.level(100, 1), Self.level(98, 7)])
        #expect(asks == [Self.level(103, 4), Self.level(1015, 1)])
        // Removing a level that is not there changes nothing.
        book.setBid(price: 50, quantity: 0)
        #expect(book.bidCount == 3)
    }

    @Test func bookMatchesADictionaryOnRandomUpdates() {
        var book = LocalBook()
        var reference: [Int64: Int64] = [:]
        var generator = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let price = Int64(generator.next() % 300) + 1
            let quantity = generator.next() % 4 == 0 ? 0 : Int64(generator.next() % 1000) + 1
            book.setAsk(price: price, quantity: quantity)
            reference[price] = quantity == 0 ? nil : quantity
        }
        let expected = reference.sorted { $0.key < $1.key }.map { Self.level($0.key, $0.value) }
        #expect(book.top(.max).asks == expected)
    }

    /// Binance's procedure, step by step: buffer, refetch a snapshot older than the first
    /// buffered U, drop u <= lastUpdateId, apply the rest, restart on a gap.
    @Test func binanceProcedure() {
        var sync = DepthSync()
        do {
            let result = sync.apply(first: 10, final: 12, bids: [Self.level(5, 1)], asks: [])
            #expect(result == .buffered(requestSnapshot: true))
        }
        do {
            let result = sync.apply(first: 13, final: 15, bids: [Self.level(6, 1)], asks: [])
            #expect(result == .buffered(requestSnapshot: false))
        // A snapshot at 8 is older than U=10 - 1: refetch.
        }
        do {
            let result = sync.applySnapshot(lastUpdateID: 8, bids: [], asks: [])
            #expect(result == .tooOld(snapshotID: 8, firstBuffered: 10))
        // At 13: the first buffered diff (u=12) is dropped, the second (13...15) straddles it and applies.
        }
        do {
            let result = sync.applySnapshot(lastUpdateID: 13, bids: [Self.level(4, 9)], asks: [])
            #expect(result == .synced(appliedBuffered: 1))
        }
        #expect(sync.lastUpdateID == 15)
        #expect(sync.book.top(5).bids == [Self.level(6, 1), Self.level(4, 9)])
        do {
            let result = sync.apply(first: 16, final: 16, bids: [], asks: [Self.level(9, 1)])
            #expect(result == .applied)
        }
        do {
            let result = sync.apply(first: 16, final: 16, bids: [], asks: [])
            #expect(result == .ignoredStale)
        }
        let epoch = sync.epoch
        do {
            let result = sync.apply(first: 18, final: 19, bids: [], asks: [])
            #expect(result == .resync(reason: .gap, lastGood: 16))
        }
        #expect(sync.phase == .awaitingSnapshot && sync.book.bidCount == 0 && sync.epoch == epoch + 1)
        do {
            let result = sync.applySnapshot(lastUpdateID: 18, bids: [], asks: [])
            #expect(result == .synced(appliedBuffered: 1))
        }
        do {
            let result = sync.apply(first: 5, final: 6, bids: [], asks: [])
            #expect(result == .resync(reason: .backwards, lastGood: 19))
        // A snapshot nobody asked for is ignored.
        }
        var idle = DepthSync()
        do {
            let result = idle.applySnapshot(lastUpdateID: 1, bids: [], asks: [])
            #expect(result == .notAwaiting)
        }
    }

    @Test func gapInsideTheBufferRestartsFromTheGap() {
        var sync = DepthSync()
        _ = sync.apply(first: 10, final: 12, bids: [], asks: [])
        _ = sync.apply(first: 20, final: 22, bids: [], asks: [])
        do {
            let result = sync.applySnapshot(lastUpdateID: 11, bids: [], asks: [])
            #expect(result == .gapInBuffer)
        }
        #expect(sync.firstBufferedID == 20)
        do {
            let result = sync.applySnapshot(lastUpdateID: 21, bids: [], asks: [])
            #expect(result == .synced(appliedBuffered: 1))
        }
        #expect(sync.lastUpdateID == 22)
    }

    /// The engine fed the whole capture (snapshot requested after the first diff, answered with
    /// the recorded one) ends with exactly the independently reconstructed books.
    @Test func engineReplayEqualsTheReferenceReconstruction() throws {
        var engine = IngestionEngine(symbols: Fixtures.symbols, configuration: .init(snapshotIntervalMs: .max))
        var output = IngestionOutput()
        var published: [String: Int] = [:]
        for frame in Fixtures.capture.frames {
            output.removeAll()
            engine.handle(frame.combined, nowMs: 0, into: &output)
            for symbol in output.snapshotRequests {
                engine.applySnapshot(symbol: symbol, body: Array(Fixtures.capture.depthSnapshotBody(symbol: symbol)!.utf8), nowMs: 0, into: &output)
            }
            for record in output.records { published[record.topic, default: 0] += 1 }
        }
        #expect(engine.counters.parseErrorTotal == 0 && engine.counters.resyncs == 0 && engine.counters.unknownSymbol == 0)
        #expect(engine.counters.snapshotsApplied == 4)
        let reference = Fixtures.referenceBooks()
        for symbol in Fixtures.symbols {
            let state = try #require(engine.book(symbol: symbol))
            #expect(state.phase == .synced)
            #expect(Fixtures.reference(of: state.book, lastUpdateID: state.lastUpdateID) == reference[symbol])
        }
        #expect(published[Topics.mdDepth.name, default: 0] > 100)
        #expect(published[Topics.mdTickers.name] == 84 + 2)
        #expect(published[Topics.mdTrades.name] == 2)
    }

    /// The direct encoder writes exactly SwiftProtobuf's bytes for every recorded diff (and edge values).
    @Test func depthDiffBytesEqualSwiftProtobufs() throws {
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        var records: [DepthDiffRecord] = []
        for recorded in Fixtures.capture.frames where recorded.stream.contains("@depth") {
            let error = parser.parse(recorded.data, into: &frame)
            #expect(error == nil)
            records.append(DepthDiffRecord(
                symbol: frame.symbol.description, venue: "binance", firstUpdateID: frame.firstUpdateID, finalUpdateID: frame.finalUpdateID,
                eventTime: frame.eventTime, bids: frame.bids, asks: frame.asks, duplicate: records.count % 2 == 0,
                worker: "market-data-0", syncEpoch: UInt64(records.count)))
        }
        records.append(DepthDiffRecord(
            symbol: "", venue: "", firstUpdateID: -1, finalUpdateID: .max, eventTime: .min, bids: [Self.level(0, -5)],
            asks: [Self.level(.max, 0)], duplicate: false, worker: String(repeating: "w", count: 300), syncEpoch: .max))
        for record in records {
            for producer in ["", "md-1"] {
                let expected = EnvelopeCodec.encode(Exchange_V1_Envelope(
                    payload: .mdDepthDiff(record.message), createdAtMs: 1_633_998_512_068, emittedAtMs: 1_633_998_512_069, producer: producer))
                let bytes = record.envelopeBytes(createdAtMs: 1_633_998_512_068, emittedAtMs: 1_633_998_512_069, producer: producer)
                #expect(bytes == expected)
            }
        }
        #expect(records.count == 178)
    }

    @Test func handoverRecordsAtOrBelowTheInheritedIdsAreMarkedDuplicate() {
        var engine = IngestionEngine(symbols: ["NKNUSDT"], configuration: .init())
        engine.markPublished(symbol: "NKNUSDT", .init(bookTickerUpdateID: 499_869_770))
        var output = IngestionOutput()
        var duplicates = 0
        var fresh = 0
        for frame in Fixtures.capture.frames where frame.stream == "nknusdt@bookTicker" {
            output.removeAll()
            engine.handle(frame.data, nowMs: 0, into: &output)
            guard case .mdBookTicker(let ticker) = output.records.first?.payload else { continue }
            #expect(ticker.duplicate == (ticker.updateID <= 499_869_770))
            if ticker.duplicate { duplicates += 1 } else { fresh += 1 }
        }
        #expect(duplicates > 0 && fresh > 0)
        #expect(engine.counters.duplicatesMarked == duplicates)
    }

    @Test func badFramesAreCountedNotFatal() {
        var engine = IngestionEngine(symbols: ["NKNUSDT"], configuration: .init())
        var output = IngestionOutput()
        engine.handle("{\"stream\":", nowMs: 0, into: &output)
        engine.handle(#"{"e":"depthUpdate","E":1,"s":"ETHBTC","U":1,"u":2,"b":[],"a":[]}"#, nowMs: 0, into: &output)
        #expect(engine.counters.parseErrors[.unexpectedEnd] == 1)
        #expect(engine.counters.unknownSymbol == 1)
        #expect(output.records.isEmpty)
    }
}
