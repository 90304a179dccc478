import ExchangeProtocol

/// One normalized market-data record to publish: its topic, key (the symbol) and payload.
/// Depth diffs, the bulk of the stream, stay plain values (`DepthDiffRecord`) and are encoded
/// straight to protobuf bytes by `DepthDiffRecord.envelopeBytes`; `payload` builds the message.
public struct MarketDataRecord: Sendable {
    public enum Body: Sendable {
        case message(Exchange_V1_Envelope.OneOf_Payload)
        case depthDiff(DepthDiffRecord)
    }

    public var topic: String
    public var symbol: String
    public var body: Body

    public init(topic: String, symbol: String, payload: Exchange_V1_Envelope.OneOf_Payload) {
        self.topic = topic
        self.symbol = symbol
        self.body = .message(payload)
    }

    public init(topic: String, symbol: String, depthDiff: DepthDiffRecord) {
        self.topic = topic
        self.symbol = symbol
        self.body = .depthDiff(depthDiff)
    }

    /// The record as an Envelope payload.
    public var payload: Exchange_V1_Envelope.OneOf_Payload {
        switch body {
        case .message(let payload): return payload
        case .depthDiff(let diff): return .mdDepthDiff(diff.message)
        }
    }
}

/// Counters of everything the engine saw; exported as metrics by the service.
public struct IngestionCounters: Sendable, Equatable {
    public var frames = 0
    public var depthApplied = 0
    public var depthBuffered = 0
    public var depthStale = 0
    public var resyncs = 0
    public var snapshotsApplied = 0
    public var snapshotsTooOld = 0
    public var snapshotParseErrors = 0
    public var trades = 0
    public var aggTrades = 0
    public var bookTickers = 0
    public var klines = 0
    public var unknownSymbol = 0
    public var unknownKind = 0
    public var parseErrors: [FrameParseError: Int] = [:]
    public var duplicatesMarked = 0

    public init() {}

    public var parseErrorTotal: Int { parseErrors.values.reduce(0, +) }
}

/// The output of feeding the engine: records to publish and snapshots to fetch.
public struct IngestionOutput: Sendable {
    public var records: [MarketDataRecord] = []
    /// Symbols whose REST snapshot must be fetched now (Binance's step 2, or a refetch).
    public var snapshotRequests: [String] = []
    public init() {}

    public mutating func removeAll() {
        records.removeAll(keepingCapacity: true)
        snapshotRequests.removeAll(keepingCapacity: true)
    }
}

/// The pure core of an ingestion worker: parses upstream frames, keeps every assigned symbol's
/// book in sync (`DepthSync`) and turns what happened into normalized `md.*` records. The
/// service around it owns the sockets, the REST calls and the event log.
///
/// Handover: `markPublished` tells the engine what the previous owner of a symbol already
/// published; records at or below those ids come out with `duplicate` set.
public struct IngestionEngine: Sendable {
    public struct Configuration: Sendable {
        public var venue: String
        public var worker: String
        /// Build records (publishing on); off measures parse + apply alone.
        public var emitRecords: Bool
        /// A full-book MdDepthSnapshot at most this often per symbol (and after every sync).
        public var snapshotIntervalMs: Int64
        /// Levels per side in published snapshots.
        public var snapshotLevels: Int

        public init(venue: String = "binance", worker: String = "market-data-0", emitRecords: Bool = true,
                    snapshotIntervalMs: Int64 = 10_000, snapshotLevels: Int = 5000) {
            self.venue = venue
            self.worker = worker
            self.emitRecords = emitRecords
            self.snapshotIntervalMs = snapshotIntervalMs
            self.snapshotLevels = snapshotLevels
        }
    }

    /// What a symbol's previous owner published (handover watermarks).
    public struct Watermarks: Sendable, Equatable {
        public var depthUpdateID: Int64 = 0
        public var tradeID: Int64 = 0
        public var aggTradeID: Int64 = 0
        public var bookTickerUpdateID: Int64 = 0
        public init(depthUpdateID: Int64 = 0, tradeID: Int64 = 0, aggTradeID: Int64 = 0, bookTickerUpdateID: Int64 = 0) {
            self.depthUpdateID = depthUpdateID
            self.tradeID = tradeID
            self.aggTradeID = aggTradeID
            self.bookTickerUpdateID = bookTickerUpdateID
        }
    }

    struct SymbolState: Sendable {
        var name: String
        var sync = DepthSync()
        var lastSnapshotPublishedMs: Int64 = 0
        var inherited = Watermarks()
        var published = Watermarks()
        var bookTicker: Exchange_V1_MdBookTicker?
    }

    public let configuration: Configuration
    public private(set) var counters = IngestionCounters()
    var symbols: [SymbolState] = []
    var index: [SymbolKey: Int] = [:]
    let parser = BinanceFrameParser()
    var frame = BinanceFrame()

    public init(symbols: [String], configuration: Configuration) {
        self.configuration = configuration
        for name in symbols { _ = addSymbol(name) }
    }

    /// Starts tracking `name` (upper case); returns false when already tracked or too long.
    @discardableResult
    public mutating func addSymbol(_ name: String) -> Bool {
        guard let key = SymbolKey(name.uppercased()), index[key] == nil else { return false }
        index[key] = symbols.count
        symbols.append(SymbolState(name: name.uppercased()))
        return true
    }

    public var symbolNames: [String] { symbols.map(\.name) }

    /// Records the previous owner's published ids for a symbol taken over.
    public mutating func markPublished(symbol: String, _ watermarks: Watermarks) {
        guard let key = SymbolKey(symbol), let slot = index[key] else { return }
        symbols[slot].inherited = watermarks
    }

    /// What this engine has published for a symbol (the watermarks a successor inherits).
    public func published(symbol: String) -> Watermarks? {
        guard let key = SymbolKey(symbol), let slot = index[key] else { return nil }
        return symbols[slot].published
    }

    /// The synced book of a symbol (nil when unknown), its last update id and phase.
    public func book(symbol: String) -> (book: LocalBook, lastUpdateID: Int64, phase: DepthSync.Phase)? {
        guard let key = SymbolKey(symbol), let slot = index[key] else { return nil }
        let sync = symbols[slot].sync
        return (sync.book, sync.lastUpdateID, sync.phase)
    }

    /// The latest book ticker of a symbol.
    public func bookTicker(symbol: String) -> Exchange_V1_MdBookTicker? {
        guard let key = SymbolKey(symbol), let slot = index[key] else { return nil }
        return symbols[slot].bookTicker
    }

    // MARK: Frames

    /// Feeds one frame's bytes.
    public mutating func handle(_ bytes: UnsafeBufferPointer<UInt8>, nowMs: Int64, into output: inout IngestionOutput) {
        counters.frames += 1
        if let error = parser.parse(bytes, into: &frame) {
            counters.parseErrors[error, default: 0] += 1
            return
        }
        let kind = frame.kind
        guard kind != .unknown, kind != .control else {
            if kind == .unknown { counters.unknownKind += 1 }
            return
        }
        guard let slot = index[frame.symbol] else {
            counters.unknownSymbol += 1
            return
        }
        switch kind {
        case .depthUpdate: handleDepth(slot: slot, nowMs: nowMs, into: &output)
        case .bookTicker: handleBookTicker(slot: slot, into: &output)
        case .trade: handleTrade(slot: slot, into: &output)
        case .aggTrade: handleAggTrade(slot: slot, into: &output)
        case .kline: handleKline(slot: slot, into: &output)
        case .unknown, .control: break
        }
    }

    /// Feeds one frame given as a string.
    public mutating func handle(_ text: String, nowMs: Int64, into output: inout IngestionOutput) {
        var text = text
        text.withUTF8 { handle($0, nowMs: nowMs, into: &output) }
    }

    private mutating func handleDepth(slot: Int, nowMs: Int64, into output: inout IngestionOutput) {
        let outcome = symbols[slot].sync.apply(first: frame.firstUpdateID, final: frame.finalUpdateID, bids: frame.bids, asks: frame.asks)
        switch outcome {
        case .applied:
            counters.depthApplied += 1
            if configuration.emitRecords {
                let duplicate = frame.finalUpdateID <= symbols[slot].inherited.depthUpdateID
                if duplicate { counters.duplicatesMarked += 1 }
                let diff = DepthDiffRecord(
                    symbol: symbols[slot].name, venue: configuration.venue, firstUpdateID: frame.firstUpdateID,
                    finalUpdateID: frame.finalUpdateID, eventTime: frame.eventTime, bids: frame.bids, asks: frame.asks,
                    duplicate: duplicate, worker: configuration.worker, syncEpoch: symbols[slot].sync.epoch)
                symbols[slot].published.depthUpdateID = frame.finalUpdateID
                output.records.append(MarketDataRecord(topic: Topics.mdDepth.name, symbol: symbols[slot].name, depthDiff: diff))
                if nowMs - symbols[slot].lastSnapshotPublishedMs >= configuration.snapshotIntervalMs {
                    emitSnapshot(slot: slot, nowMs: nowMs, into: &output)
                }
            }
        case .buffered(let request):
            counters.depthBuffered += 1
            if request { output.snapshotRequests.append(symbols[slot].name) }
        case .ignoredStale:
            counters.depthStale += 1
        case .resync(let reason, let lastGood):
            counters.resyncs += 1
            emitResync(slot: slot, reason: reason.rawValue, lastGood: lastGood, nowMs: nowMs, into: &output)
            output.snapshotRequests.append(symbols[slot].name)
        }
    }

    private mutating func handleBookTicker(slot: Int, into output: inout IngestionOutput) {
        counters.bookTickers += 1
        var ticker = Exchange_V1_MdBookTicker()
        ticker.symbol = symbols[slot].name
        ticker.venue = configuration.venue
        ticker.updateID = frame.finalUpdateID
        ticker.bidPrice = frame.bidPrice
        ticker.bidQuantity = frame.bidQuantity
        ticker.askPrice = frame.askPrice
        ticker.askQuantity = frame.askQuantity
        ticker.eventTime = frame.eventTime
        if frame.finalUpdateID <= symbols[slot].inherited.bookTickerUpdateID {
            ticker.duplicate = true
            counters.duplicatesMarked += 1
        }
        symbols[slot].bookTicker = ticker
        symbols[slot].published.bookTickerUpdateID = frame.finalUpdateID
        if configuration.emitRecords {
            output.records.append(MarketDataRecord(topic: Topics.mdTickers.name, symbol: symbols[slot].name, payload: .mdBookTicker(ticker)))
        }
    }

    private mutating func handleTrade(slot: Int, into output: inout IngestionOutput) {
        counters.trades += 1
        guard configuration.emitRecords else { return }
        var trade = Exchange_V1_MdTrade()
        trade.symbol = symbols[slot].name
        trade.venue = configuration.venue
        trade.tradeID = frame.tradeID
        trade.price = frame.price
        trade.quantity = frame.quantity
        trade.buyerOrderID = frame.buyerOrderID
        trade.sellerOrderID = frame.sellerOrderID
        trade.tradeTime = frame.tradeTime
        trade.eventTime = frame.eventTime
        trade.buyerIsMaker = frame.buyerIsMaker
        if frame.tradeID <= symbols[slot].inherited.tradeID {
            trade.duplicate = true
            counters.duplicatesMarked += 1
        }
        symbols[slot].published.tradeID = frame.tradeID
        output.records.append(MarketDataRecord(topic: Topics.mdTrades.name, symbol: symbols[slot].name, payload: .mdTrade(trade)))
    }

    private mutating func handleAggTrade(slot: Int, into output: inout IngestionOutput) {
        counters.aggTrades += 1
        guard configuration.emitRecords else { return }
        var trade = Exchange_V1_MdAggTrade()
        trade.symbol = symbols[slot].name
        trade.venue = configuration.venue
        trade.aggTradeID = frame.tradeID
        trade.price = frame.price
        trade.quantity = frame.quantity
        trade.firstTradeID = frame.firstTradeID
        trade.lastTradeID = frame.lastTradeID
        trade.tradeTime = frame.tradeTime
        trade.eventTime = frame.eventTime
        trade.buyerIsMaker = frame.buyerIsMaker
        if frame.tradeID <= symbols[slot].inherited.aggTradeID {
            trade.duplicate = true
            counters.duplicatesMarked += 1
        }
        symbols[slot].published.aggTradeID = frame.tradeID
        output.records.append(MarketDataRecord(topic: Topics.mdTrades.name, symbol: symbols[slot].name, payload: .mdAggTrade(trade)))
    }

    private mutating func handleKline(slot: Int, into output: inout IngestionOutput) {
        counters.klines += 1
        guard configuration.emitRecords, let interval = frame.kline.interval else { return }
        let k = frame.kline
        var kline = Exchange_V1_MdKline()
        kline.symbol = symbols[slot].name
        kline.venue = configuration.venue
        kline.interval = interval.rawValue
        kline.openTime = k.openTime
        kline.closeTime = k.closeTime
        kline.firstTradeID = k.firstTradeID
        kline.lastTradeID = k.lastTradeID
        kline.open = k.open
        kline.high = k.high
        kline.low = k.low
        kline.close = k.close
        kline.volume = k.volume
        kline.quoteVolume = k.quoteVolume
        kline.tradeCount = k.tradeCount
        kline.takerBuyBaseVolume = k.takerBuyBaseVolume
        kline.takerBuyQuoteVolume = k.takerBuyQuoteVolume
        kline.closed = k.closed
        kline.eventTime = frame.eventTime
        output.records.append(MarketDataRecord(topic: Topics.mdTickers.name, symbol: symbols[slot].name, payload: .mdKline(kline)))
    }

    // MARK: Snapshots and resets

    /// Feeds a REST depth snapshot body for `symbol`.
    public mutating func applySnapshot(symbol: String, body: UnsafeBufferPointer<UInt8>, nowMs: Int64, into output: inout IngestionOutput) {
        guard let key = SymbolKey(symbol), let slot = index[key] else { return }
        let snapshot: DepthSnapshot
        switch DepthSnapshot.parse(body) {
        case .success(let parsed): snapshot = parsed
        case .failure:
            counters.snapshotParseErrors += 1
            output.snapshotRequests.append(symbols[slot].name)
            return
        }
        switch symbols[slot].sync.applySnapshot(lastUpdateID: snapshot.lastUpdateID, bids: snapshot.bids, asks: snapshot.asks) {
        case .synced:
            counters.snapshotsApplied += 1
            if configuration.emitRecords { emitSnapshot(slot: slot, nowMs: nowMs, into: &output) }
        case .tooOld:
            counters.snapshotsTooOld += 1
            output.snapshotRequests.append(symbols[slot].name)
        case .gapInBuffer:
            counters.resyncs += 1
            output.snapshotRequests.append(symbols[slot].name)
        case .notAwaiting:
            break
        }
    }

    public mutating func applySnapshot(symbol: String, body: [UInt8], nowMs: Int64, into output: inout IngestionOutput) {
        body.withUnsafeBufferPointer { applySnapshot(symbol: symbol, body: $0, nowMs: nowMs, into: &output) }
    }

    /// A new upstream connection: every book starts over (diffs of the old one may be lost).
    public mutating func resetAll(reason: DepthSync.ResyncReason, nowMs: Int64, into output: inout IngestionOutput) {
        for slot in symbols.indices {
            let wasLive = symbols[slot].sync.phase != .idle
            let lastGood = symbols[slot].sync.lastUpdateID
            symbols[slot].sync.reset()
            if wasLive {
                counters.resyncs += 1
                emitResync(slot: slot, reason: reason.rawValue, lastGood: lastGood, nowMs: nowMs, into: &output)
            }
        }
    }

    private mutating func emitSnapshot(slot: Int, nowMs: Int64, into output: inout IngestionOutput) {
        symbols[slot].lastSnapshotPublishedMs = nowMs
        symbols[slot].published.depthUpdateID = max(symbols[slot].published.depthUpdateID, symbols[slot].sync.lastUpdateID)
        output.records.append(MarketDataRecord(topic: Topics.mdDepth.name, symbol: symbols[slot].name, payload: .mdDepthSnapshot(snapshotMessage(slot: slot, nowMs: nowMs))))
    }

    func snapshotMessage(slot: Int, nowMs: Int64) -> Exchange_V1_MdDepthSnapshot {
        let sync = symbols[slot].sync
        let (bids, asks) = sync.book.top(configuration.snapshotLevels)
        var snapshot = Exchange_V1_MdDepthSnapshot()
        snapshot.symbol = symbols[slot].name
        snapshot.venue = configuration.venue
        snapshot.lastUpdateID = sync.lastUpdateID
        snapshot.bids = bids.map(Self.level)
        snapshot.asks = asks.map(Self.level)
        snapshot.time = nowMs
        snapshot.worker = configuration.worker
        snapshot.syncEpoch = sync.epoch
        return snapshot
    }

    /// The current book of a symbol as an MdDepthSnapshot (nil unless synced): what Redis keeps.
    public func depthSnapshot(symbol: String, nowMs: Int64) -> Exchange_V1_MdDepthSnapshot? {
        guard let key = SymbolKey(symbol), let slot = index[key], symbols[slot].sync.phase == .synced else { return nil }
        return snapshotMessage(slot: slot, nowMs: nowMs)
    }

    private mutating func emitResync(slot: Int, reason: String, lastGood: Int64, nowMs: Int64, into output: inout IngestionOutput) {
        guard configuration.emitRecords else { return }
        var resync = Exchange_V1_MdDepthResync()
        resync.symbol = symbols[slot].name
        resync.venue = configuration.venue
        resync.reason = reason
        resync.lastGoodUpdateID = lastGood
        resync.time = nowMs
        resync.worker = configuration.worker
        resync.syncEpoch = symbols[slot].sync.epoch
        output.records.append(MarketDataRecord(topic: Topics.mdDepth.name, symbol: symbols[slot].name, payload: .mdDepthResync(resync)))
    }

    static func level(_ level: PriceQuantity) -> Exchange_V1_PriceLevel {
        var out = Exchange_V1_PriceLevel()
        out.price = level.price
        out.quantity = level.quantity
        return out
    }
}
