import ExchangeProtocol
import MarketDataCore

/// The market-data endpoints, from market-data's projections (`MarketStore`). Rolling statistics
/// are computed at request time from the 1m klines, at Binance's minute precision.
extension OrderRouterAPI {
    /// `limit` with Binance's default and maximum (larger values are capped, as depth does).
    static func limit(_ call: inout Call, default value: Int, max: Int) throws(APIError) -> Int {
        guard let text = call.parameters.optional("limit") else { return value }
        guard let n = Int(text), n > 0 else { throw .illegalChars("limit", pattern: "^[0-9]{1,20}$") }
        return min(n, max)
    }

    static func long(_ call: inout Call, _ name: String) throws(APIError) -> Int64? {
        switch call.parameters.long(name) {
        case .success(let value): return value
        case .failure(let error): throw error
        }
    }

    // GET /api/v3/trades: symbol, limit (500, at most 1000).
    func trades(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        let limit = try Self.limit(&call, default: 500, max: 1000)
        try call.finish()
        return Self.tradesJSON(try await market.recentTrades(symbol: rules.config.symbol, limit: limit))
    }

    // GET /api/v3/historicalTrades: symbol, limit (500, at most 1000), fromId.
    func historicalTrades(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        let limit = try Self.limit(&call, default: 500, max: 1000)
        let fromID = try Self.long(&call, "fromId")
        try call.finish()
        let symbol = rules.config.symbol
        let trades = if let fromID {
            try await market.trades(symbol: symbol, fromID: fromID, limit: limit)
        } else {
            try await market.recentTrades(symbol: symbol, limit: limit)
        }
        return Self.tradesJSON(trades)
    }

    static func tradesJSON(_ trades: [Exchange_V1_MdTrade]) -> String {
        var w = JSONWriter()
        w.arrayStart()
        for t in trades {
            w.objectStart()
            w.field("id", t.tradeID)
            w.field("price", decimal: Fixed8(raw: t.price))
            w.field("qty", decimal: Fixed8(raw: t.quantity))
            w.field("quoteQty", decimal: Fixed8(raw: t.price).multiplied(by: Fixed8(raw: t.quantity)) ?? Fixed8(raw: 0))
            w.field("time", t.tradeTime)
            w.field("isBuyerMaker", t.buyerIsMaker)
            w.field("isBestMatch", true)
            w.objectEnd()
        }
        w.arrayEnd()
        return w.text
    }

    // GET /api/v3/aggTrades: symbol, fromId, startTime, endTime, limit (500, at most 1000).
    func aggTrades(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        let fromID = try Self.long(&call, "fromId")
        let start = try Self.long(&call, "startTime")
        let end = try Self.long(&call, "endTime")
        let limit = try Self.limit(&call, default: 500, max: 1000)
        try call.finish()
        let symbol = rules.config.symbol
        if fromID != nil && (start != nil || end != nil) { throw APIError(code: -1128, msg: "Combination of optional parameters invalid.") }
        if let start, let end {
            guard end >= start else { throw APIError(code: -1128, msg: "Combination of optional parameters invalid.") }
            guard end - start <= 3_600_000 else { throw APIError(code: -1127, msg: "More than 1 hours between startTime and endTime.") }
        }
        let aggs: [Exchange_V1_MdAggTrade]
        if let fromID {
            aggs = try await market.aggTrades(symbol: symbol, fromID: fromID, limit: limit)
        } else if start != nil || end != nil {
            let lower = start ?? (end! - 3_600_000)
            let upper = end ?? (start! + 3_600_000)
            aggs = Array(try await market.allAggTrades(symbol: symbol).lazy.filter { $0.tradeTime >= lower && $0.tradeTime <= upper }.prefix(limit))
        } else {
            aggs = try await market.recentAggTrades(symbol: symbol, limit: limit)
        }
        var w = JSONWriter()
        w.arrayStart()
        for a in aggs {
            w.objectStart()
            w.aggTradeFields(a)
            w.objectEnd()
        }
        w.arrayEnd()
        return w.text
    }

    // GET /api/v3/klines and /api/v3/uiKlines: symbol, interval, startTime, endTime, timeZone, limit (500, at most 1000).
    func klines(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        guard let intervalText = call.parameters.optional("interval") else { throw APIError.mandatory("interval") }
        guard let interval = KlineInterval(rawValue: intervalText) else { throw APIError.invalidInterval }
        let start = try Self.long(&call, "startTime")
        let end = try Self.long(&call, "endTime")
        let offset = try Self.timeZoneOffset(&call)
        let limit = try Self.limit(&call, default: 500, max: 1000)
        try call.finish()
        let symbol = rules.config.symbol
        let rows: [Exchange_V1_MdKline]
        if offset != 0 && !Self.offsetKeepsBoundaries(offset, interval) {
            // Klines are kept in UTC; in a zone that moves this interval's boundaries they are
            // composed from the finest stored interval the offset does not move (so they reach
            // back as far as that one is kept: 1h about 41 days, 1m 7 days).
            let source = TimeZoneKlines.source(forOffset: offset)
            let kept = source == .m1 ? RedisNames.minuteKlinesKept : RedisNames.klinesKept
            let finer = try await market.klines(symbol: symbol, interval: source.rawValue, start: nil, end: end, limit: kept)
            let first = start.map { TimeZoneKlines.openTime(interval, containing: $0, offsetMs: offset) }
            let composed = TimeZoneKlines.compose(finer, into: interval, offsetMs: offset)
                .filter { k in (first.map { k.openTime >= $0 } ?? true) && (end.map { k.openTime <= $0 } ?? true) }
            rows = first == nil ? Array(composed.suffix(limit)) : Array(composed.prefix(limit))
        } else {
            // A kline whose interval contains startTime counts, as on Binance.
            let first = start.map { interval.openTime(containing: $0) }
            rows = try await market.klines(symbol: symbol, interval: interval.rawValue, start: first, end: end, limit: limit)
        }
        var w = JSONWriter()
        w.arrayStart()
        for k in rows {
            w.arrayStart()
            w.int(k.openTime)
            w.decimal(Fixed8(raw: k.open))
            w.decimal(Fixed8(raw: k.high))
            w.decimal(Fixed8(raw: k.low))
            w.decimal(Fixed8(raw: k.close))
            w.decimal(Fixed8(raw: k.volume))
            w.int(k.closeTime)
            w.decimal(Fixed8(raw: k.quoteVolume))
            w.int(k.tradeCount)
            w.decimal(Fixed8(raw: k.takerBuyBaseVolume))
            w.decimal(Fixed8(raw: k.takerBuyQuoteVolume))
            w.string("0")
            w.arrayEnd()
        }
        w.arrayEnd()
        return w.text
    }

    /// Binance's `timeZone`: hours[:minutes] from -12:00 to +14:00 (default 0), in ms.
    static func timeZoneOffset(_ call: inout Call) throws(APIError) -> Int64 {
        guard let text = call.parameters.optional("timeZone") else { return 0 }
        var body = Substring(text)
        var sign: Int64 = 1
        if body.first == "-" { sign = -1; body = body.dropFirst() } else if body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let hours = Int64(parts[0]), parts[0].count <= 2,
              let minutes = parts.count == 2 ? Int64(parts[1]) : 0, minutes < 60 else {
            throw .invalidParameter("timeZone")
        }
        let offset = sign * (hours * 3_600_000 + minutes * 60_000)
        guard offset >= -12 * 3_600_000, offset <= 14 * 3_600_000 else { throw .invalidParameter("timeZone") }
        return offset
    }

    static func offsetKeepsBoundaries(_ offset: Int64, _ interval: KlineInterval) -> Bool {
        guard let length = interval.fixedMilliseconds, interval != .w1, interval != .d3 else { return false }
        return offset % length == 0
    }

    // GET /api/v3/avgPrice: symbol.
    func avgPrice(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        try call.finish()
        let symbol = rules.config.symbol
        let minutes = Int32(rules.config.info.filters.first { $0.avgPriceMins != nil }?.avgPriceMins ?? 5)
        let inputs = try await market.tickerInputs(symbols: [symbol], windowStart: call.nowMs - Int64(minutes) * 60_000)[0]
        let avg = RollingStatistics.averagePrice(
            symbol: symbol, venue: "", minutes: inputs.minutes, minutesBack: minutes, now: call.nowMs,
            last: inputs.lastTrade.map { ($0.price, $0.tradeTime) })
        var w = JSONWriter()
        w.objectStart()
        w.field("mins", Int(avg.minutes))
        w.field("price", decimal: Fixed8(raw: avg.price))
        w.field("closeTime", avg.closeTime)
        w.objectEnd()
        return w.text
    }

    /// `symbol` or `symbols` (a JSON array); with neither, every listed symbol unless `required`.
    /// Returns the names and whether one object (not an array) is answered.
    func tickerSymbols(_ call: inout Call, required: Bool) throws(APIError) -> (names: [String], single: Bool) {
        let symbol = call.parameters.optional("symbol")
        let list = call.parameters.optional("symbols")
        if symbol != nil && list != nil { throw APIError(code: -1128, msg: "Combination of optional parameters invalid.") }
        if let symbol {
            guard symbols[symbol] != nil else { throw .invalidSymbol }
            return ([symbol], true)
        }
        if let list {
            guard let names = Self.jsonStringArray(list), !names.isEmpty else {
                throw .illegalChars("symbols", pattern: "^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$")
            }
            for name in names where symbols[name] == nil { throw .invalidSymbol }
            return (names, false)
        }
        if required { throw .eitherMandatory("symbol", "symbols") }
        return (symbolOrder, false)
    }

    /// `type`: FULL (default) or MINI.
    static func tickerType(_ call: inout Call) throws(APIError) -> Bool {
        switch call.parameters.optional("type") {
        case nil, "FULL"?: return false
        case "MINI"?: return true
        default: throw .invalidParameter("type")
        }
    }

    enum TickerKind { case day24, rolling, tradingDay }

    // GET /api/v3/ticker/24hr: symbol | symbols | neither, type.
    func ticker24h(_ call: inout Call) async throws -> String {
        let (names, single) = try tickerSymbols(&call, required: false)
        let mini = try Self.tickerType(&call)
        try call.finish()
        return try await tickers(names, single: single, mini: mini, kind: .day24, windowMs: 86_400_000, window: "1d", nowMs: call.nowMs)
    }

    // GET /api/v3/ticker: symbol | symbols, windowSize (1m...59m, 1h...23h, 1d...7d; default 1d), type.
    func rollingTicker(_ call: inout Call) async throws -> String {
        let (names, single) = try tickerSymbols(&call, required: true)
        let window = call.parameters.optional("windowSize") ?? "1d"
        guard let windowMs = RollingStatistics.windowMilliseconds(window) else { throw APIError.invalidParameter("windowSize") }
        let mini = try Self.tickerType(&call)
        try call.finish()
        return try await tickers(names, single: single, mini: mini, kind: .rolling, windowMs: windowMs, window: window, nowMs: call.nowMs)
    }

    // GET /api/v3/ticker/tradingDay: symbol | symbols, timeZone, type.
    func tradingDayTicker(_ call: inout Call) async throws -> String {
        let (names, single) = try tickerSymbols(&call, required: true)
        let offset = try Self.timeZoneOffset(&call)
        let mini = try Self.tickerType(&call)
        try call.finish()
        let dayStart = KlineInterval.d1.openTime(containing: call.nowMs + offset) - offset
        return try await tickers(names, single: single, mini: mini, kind: .tradingDay, windowMs: call.nowMs - dayStart, window: "1d",
                                 nowMs: call.nowMs)
    }

    /// One object per symbol (`body` gets its index): the object alone for `single`, else an array of them.
    func perSymbol(_ names: [String], single: Bool, _ body: (Int, inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        if !single { w.arrayStart() }
        for index in names.indices { body(index, &w) }
        if !single { w.arrayEnd() }
        return w.text
    }

    func tickers(_ names: [String], single: Bool, mini: Bool, kind: TickerKind, windowMs: Int64, window: String, nowMs: Int64) async throws -> String {
        let inputs = try await market.tickerInputs(symbols: names, windowStart: nowMs - windowMs)
        return perSymbol(names, single: single) { i, w in
            var t = RollingStatistics.ticker(
                symbol: names[i], venue: "", window: window, windowMs: windowMs, minutes: inputs[i].minutes, now: nowMs,
                last: inputs[i].lastTrade.map { ($0.price, $0.quantity) })
            if kind == .tradingDay { t.closeTime = t.openTime + 86_400_000 - 1 }
            Self.write(t, top: inputs[i].top, mini: mini, kind: kind, to: &w)
        }
    }

    static func write(_ t: Exchange_V1_MdTicker, top: Exchange_V1_MdBookTicker?, mini: Bool, kind: TickerKind, to w: inout JSONWriter) {
        w.objectStart()
        w.field("symbol", t.symbol)
        if !mini {
            w.field("priceChange", decimal: Fixed8(raw: t.priceChange))
            w.field("priceChangePercent", RollingStatistics.percentText(t.priceChangePercent))
            w.field("weightedAvgPrice", decimal: Fixed8(raw: t.weightedAvgPrice))
            if kind == .day24 {
                w.field("prevClosePrice", decimal: Fixed8(raw: t.prevClosePrice))
                w.field("lastPrice", decimal: Fixed8(raw: t.lastPrice))
                w.field("lastQty", decimal: Fixed8(raw: t.lastQuantity))
                w.field("bidPrice", decimal: Fixed8(raw: top?.bidPrice ?? 0))
                w.field("bidQty", decimal: Fixed8(raw: top?.bidQuantity ?? 0))
                w.field("askPrice", decimal: Fixed8(raw: top?.askPrice ?? 0))
                w.field("askQty", decimal: Fixed8(raw: top?.askQuantity ?? 0))
            }
        }
        w.field("openPrice", decimal: Fixed8(raw: t.openPrice))
        w.field("highPrice", decimal: Fixed8(raw: t.highPrice))
        w.field("lowPrice", decimal: Fixed8(raw: t.lowPrice))
        if mini || kind != .day24 { w.field("lastPrice", decimal: Fixed8(raw: t.lastPrice)) }
        w.field("volume", decimal: Fixed8(raw: t.volume))
        w.field("quoteVolume", decimal: Fixed8(raw: t.quoteVolume))
        w.field("openTime", t.openTime)
        w.field("closeTime", t.closeTime)
        w.field("firstId", t.firstTradeID)
        w.field("lastId", t.lastTradeID)
        w.field("count", t.tradeCount)
        w.objectEnd()
    }

    // GET /api/v3/ticker/price: symbol | symbols | neither.
    func priceTicker(_ call: inout Call) async throws -> String {
        let (names, single) = try tickerSymbols(&call, required: false)
        try call.finish()
        let latest = try await market.latest(symbols: names)
        return perSymbol(names, single: single) { i, w in
            w.objectStart()
            w.field("symbol", names[i])
            w.field("price", decimal: Fixed8(raw: latest[i].lastTrade?.price ?? 0))
            w.objectEnd()
        }
    }

    // GET /api/v3/ticker/bookTicker: symbol | symbols | neither.
    func bookTicker(_ call: inout Call) async throws -> String {
        let (names, single) = try tickerSymbols(&call, required: false)
        try call.finish()
        let latest = try await market.latest(symbols: names)
        return perSymbol(names, single: single) { i, w in
            let top = latest[i].top
            w.objectStart()
            w.field("symbol", names[i])
            w.field("bidPrice", decimal: Fixed8(raw: top?.bidPrice ?? 0))
            w.field("bidQty", decimal: Fixed8(raw: top?.bidQuantity ?? 0))
            w.field("askPrice", decimal: Fixed8(raw: top?.askPrice ?? 0))
            w.field("askQty", decimal: Fixed8(raw: top?.askQuantity ?? 0))
            w.objectEnd()
        }
    }

    /// Weight of the ticker endpoints by how many symbols a request names.
    static func tickerWeight(_ p: inout RequestParameters, single: Int, perSymbol: (Int) -> Int, all: Int) -> Int {
        if p.optional("symbol") != nil { return single }
        guard let list = p.optional("symbols") else { return all }
        return perSymbol(jsonStringArray(list)?.count ?? 1)
    }
}

extension JSONWriter {
    /// An aggregate trade's fields as Binance names them, in its order: a GET /api/v3/aggTrades row,
    /// and the `<s>@aggTrade` stream payload after its `e`, `E` and `s`.
    public mutating func aggTradeFields(_ a: Exchange_V1_MdAggTrade) {
        field("a", a.aggTradeID)
        field("p", decimal: Fixed8(raw: a.price))
        field("q", decimal: Fixed8(raw: a.quantity))
        field("f", a.firstTradeID)
        field("l", a.lastTradeID)
        field("T", a.tradeTime)
        field("m", a.buyerIsMaker)
        field("M", true)
    }
}
