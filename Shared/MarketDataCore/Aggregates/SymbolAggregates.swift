import ExchangeProtocol
import SwiftProtobuf

/// What the aggregates of a symbol emit, in order. The service maps each onto its `md.*` topic.
public enum AggregateOutput: Sendable, Equatable {
    case trade(Exchange_V1_MdTrade)
    case aggTrade(Exchange_V1_MdAggTrade)
    case kline(Exchange_V1_MdKline)
    case ticker(Exchange_V1_MdTicker)
    case avgPrice(Exchange_V1_MdAvgPrice)
    case bookTicker(Exchange_V1_MdBookTicker)
    case depthDiff(Exchange_V1_MdDepthDiff)
}

/// Klines of all 16 intervals, the 24 h rolling window, avgPrice and (for internal books) aggTrades,
/// the book and its top, of one symbol, from its trades and book deltas in log order. Pure and
/// deterministic: every time is a trade's or delta's own, never a clock.
///
/// Streams are throttled by event time as Binance throttles them by wall time: a kline update per
/// interval at most every 2 s (1 s for `1s`) plus every close, the 24 h ticker, mini ticker and
/// avgPrice at most every 1 s. A kline is closed by the first trade of a later interval (the
/// service's side effects close it on the stream by the clock; REST shows it with its closeTime).
public struct SymbolAggregates: Sendable, Equatable {
    public let symbol: String
    public let venue: String
    /// The current kline per interval, `KlineInterval.allCases` order; tradeCount 0 before the first trade.
    public private(set) var current: [Exchange_V1_MdKline]
    /// 1m klines with trades over the last 24 h (plus the one before, for prevClosePrice), ascending.
    public private(set) var minutes: [Exchange_V1_MdKline] = []
    public private(set) var lastTrade: AggregateTrade?
    var pendingAgg: Exchange_V1_MdAggTrade?
    var pendingTaker: Int64 = 0
    public private(set) var nextAggTradeID: Int64 = 1
    var klineEmittedAt: [Int64]
    var tickerEmittedAt: Int64 = Int64.min
    /// The internal book built from matching's deltas (empty for upstream symbols).
    public private(set) var book = LocalBook()
    var lastTop: Exchange_V1_MdBookTicker?

    static let intervals = KlineInterval.allCases
    static let day: Int64 = 86_400_000

    public init(symbol: String, venue: String) {
        self.symbol = symbol
        self.venue = venue
        current = Self.intervals.map { .empty(symbol: symbol, venue: venue, interval: $0, openTime: -1) }
        klineEmittedAt = Array(repeating: Int64.min, count: Self.intervals.count)
    }

    /// Adds a trade: its MdTrade (internal symbols only: upstream trades are on md.trades already),
    /// the aggTrade it closes, klines, and the throttled tickers.
    public mutating func add(_ trade: AggregateTrade, emitTrade: Bool, aggregate: Bool, into out: inout [AggregateOutput]) {
        if emitTrade {
            var t = Exchange_V1_MdTrade()
            t.symbol = symbol
            t.venue = venue
            t.tradeID = trade.id
            t.price = trade.price
            t.quantity = trade.quantity
            t.tradeTime = trade.time
            t.eventTime = trade.time
            t.buyerIsMaker = trade.buyerIsMaker
            t.buyerOrderID = trade.buyerIsMaker ? 0 : trade.takerOrderID
            t.sellerOrderID = trade.buyerIsMaker ? trade.takerOrderID : 0
            out.append(.trade(t))
        }
        if aggregate {
            if let pending = pendingAgg, pendingTaker != trade.takerOrderID || pending.price != trade.price || trade.takerOrderID == 0 {
                flush(into: &out)
            }
            if pendingAgg == nil {
                var a = Exchange_V1_MdAggTrade()
                a.symbol = symbol
                a.venue = venue
                a.aggTradeID = nextAggTradeID
                nextAggTradeID += 1
                a.price = trade.price
                a.firstTradeID = trade.id
                a.tradeTime = trade.time
                a.eventTime = trade.time
                a.buyerIsMaker = trade.buyerIsMaker
                pendingAgg = a
                pendingTaker = trade.takerOrderID
            }
            pendingAgg!.quantity &+= trade.quantity
            pendingAgg!.lastTradeID = trade.id
        }
        for (index, interval) in Self.intervals.enumerated() {
            let openTime = interval.openTime(containing: trade.time)
            if current[index].openTime != openTime && openTime > current[index].openTime {
                if current[index].tradeCount > 0 {
                    var closed = current[index]
                    closed.closed = true
                    closed.eventTime = trade.time
                    out.append(.kline(closed))
                }
                current[index] = .empty(symbol: symbol, venue: venue, interval: interval, openTime: openTime)
            }
            current[index].add(trade)
            let every: Int64 = interval == .s1 ? 1000 : 2000
            if trade.time &- klineEmittedAt[index] >= every || klineEmittedAt[index] == Int64.min {
                var update = current[index]
                update.eventTime = trade.time
                out.append(.kline(update))
                klineEmittedAt[index] = trade.time
            }
        }
        let minute = current[1]  // KlineInterval.m1
        if let last = minutes.last, last.openTime == minute.openTime {
            minutes[minutes.count - 1] = minute
        } else {
            minutes.append(minute)
        }
        // Keep 24 h, and the newest kline before that (prevClosePrice).
        let start = trade.time - Self.day
        var drop = 0
        while drop + 1 < minutes.count && minutes[drop + 1].closeTime <= start { drop += 1 }
        if drop > 0 { minutes.removeFirst(drop) }
        lastTrade = trade
        if trade.time &- tickerEmittedAt >= 1000 || tickerEmittedAt == Int64.min {
            tickerEmittedAt = trade.time
            var ticker = RollingStatistics.ticker(
                symbol: symbol, venue: venue, window: "1d", windowMs: Self.day, minutes: minutes, now: trade.time,
                last: (trade.price, trade.quantity))
            if let top = lastTop {
                ticker.bidPrice = top.bidPrice
                ticker.bidQuantity = top.bidQuantity
                ticker.askPrice = top.askPrice
                ticker.askQuantity = top.askQuantity
            }
            out.append(.ticker(ticker))
            out.append(.ticker(RollingStatistics.miniTicker(of: ticker)))
            out.append(.avgPrice(RollingStatistics.averagePrice(
                symbol: symbol, venue: venue, minutes: minutes.suffix(6), now: trade.time, last: (trade.price, trade.time))))
        }
    }

    /// Closes the aggTrade being built (the command that produced its trades has ended).
    public mutating func flush(into out: inout [AggregateOutput]) {
        if let pending = pendingAgg {
            out.append(.aggTrade(pending))
            pendingAgg = nil
            pendingTaker = 0
        }
    }

    /// Applies an internal book's delta: the depth diff (U/u kept) and, if the top changed, the book ticker.
    public mutating func apply(delta: Exchange_V1_BookDelta, into out: inout [AggregateOutput]) {
        flush(into: &out)
        let bids = delta.bids.map { PriceQuantity(price: $0.price, quantity: $0.quantity) }
        let asks = delta.asks.map { PriceQuantity(price: $0.price, quantity: $0.quantity) }
        if delta.isSnapshot { book.load(bids: bids, asks: asks) } else { book.apply(bids: bids, asks: asks) }
        var diff = Exchange_V1_MdDepthDiff()
        diff.symbol = symbol
        diff.venue = venue
        diff.firstUpdateID = delta.firstUpdateID
        diff.finalUpdateID = delta.lastUpdateID
        diff.eventTime = delta.eventTime
        diff.bids = delta.bids
        diff.asks = delta.asks
        out.append(.depthDiff(diff))
        var top = Exchange_V1_MdBookTicker()
        top.symbol = symbol
        top.venue = venue
        top.updateID = delta.lastUpdateID
        top.eventTime = delta.eventTime
        if let bid = book.bestBid {
            top.bidPrice = bid.price
            top.bidQuantity = bid.quantity
        }
        if let ask = book.bestAsk {
            top.askPrice = ask.price
            top.askQuantity = ask.quantity
        }
        if let last = lastTop, last.bidPrice == top.bidPrice, last.bidQuantity == top.bidQuantity,
           last.askPrice == top.askPrice, last.askQuantity == top.askQuantity {
            lastTop = top  // same top, newer id; no event (Binance sends bookTicker on top changes)
            return
        }
        lastTop = top
        out.append(.bookTicker(top))
    }

    /// The best bid and ask last seen (internal books), for REST and tickers.
    public var top: Exchange_V1_MdBookTicker? { lastTop }
}

// MARK: Snapshot

extension SymbolAggregates {
    /// Writes the whole state (snapshot bytes; equal states write equal bytes).
    public func encode(into w: inout SnapshotWriter) {
        w.string(symbol)
        w.string(venue)
        func message<M: FastProtoMessage>(_ m: M) { let b = EnvelopeCodec.encode(message: m); w.u32(UInt32(b.count)); w.raw(b) }
        for k in current { message(k) }
        w.u32(UInt32(minutes.count))
        for k in minutes { message(k) }
        w.bool(lastTrade != nil)
        if let t = lastTrade {
            w.i64(t.id); w.i64(t.price); w.i64(t.quantity); w.i64(t.quoteQuantity); w.i64(t.time); w.bool(t.buyerIsMaker); w.i64(t.takerOrderID)
            w.i64(t.firstID)
        }
        w.bool(pendingAgg != nil)
        if let a = pendingAgg { message(a) }
        w.i64(pendingTaker)
        w.i64(nextAggTradeID)
        for t in klineEmittedAt { w.i64(t) }
        w.i64(tickerEmittedAt)
        w.u32(UInt32(book.bidCount))
        for i in 0..<book.bidCount { w.i64(book.bidPrices[i]); w.i64(book.bidQuantities[i]) }
        w.u32(UInt32(book.askCount))
        for i in 0..<book.askCount { w.i64(book.askPrices[i]); w.i64(book.askQuantities[i]) }
        w.bool(lastTop != nil)
        if let top = lastTop { message(top) }
    }

    /// Reads what `encode(into:)` wrote.
    public init(from r: inout SnapshotReader) throws {
        self.init(symbol: try r.string(), venue: try r.string())
        func bytes() throws -> [UInt8] { Array(try r.take(Int(try r.u32()))) }
        for index in current.indices { current[index] = try Exchange_V1_MdKline(fastSerializedBytes: try bytes()) }
        minutes = try (0..<Int(try r.u32())).map { _ in try Exchange_V1_MdKline(fastSerializedBytes: try bytes()) }
        if try r.bool() {
            lastTrade = AggregateTrade(
                id: try r.i64(), price: try r.i64(), quantity: try r.i64(), quoteQuantity: try r.i64(), time: try r.i64(),
                buyerIsMaker: try r.bool(), takerOrderID: try r.i64(), firstID: try r.i64())
        }
        if try r.bool() { pendingAgg = try Exchange_V1_MdAggTrade(fastSerializedBytes: try bytes()) }
        pendingTaker = try r.i64()
        nextAggTradeID = try r.i64()
        for index in klineEmittedAt.indices { klineEmittedAt[index] = try r.i64() }
        tickerEmittedAt = try r.i64()
        var bids: [PriceQuantity] = []
        for _ in 0..<Int(try r.u32()) { bids.append(PriceQuantity(price: try r.i64(), quantity: try r.i64())) }
        var asks: [PriceQuantity] = []
        for _ in 0..<Int(try r.u32()) { asks.append(PriceQuantity(price: try r.i64(), quantity: try r.i64())) }
        book.load(bids: bids, asks: asks)
        if try r.bool() { lastTop = try Exchange_V1_MdBookTicker(fastSerializedBytes: try bytes()) }
    }
}
