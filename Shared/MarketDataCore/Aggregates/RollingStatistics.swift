import ExchangeProtocol

/// One trade as the aggregates see it, from `matching.events` (internal symbols) or upstream
/// `md.trades` (Binance symbols).
public struct AggregateTrade: Sendable, Equatable {
    public var id: Int64
    public var price: Int64
    public var quantity: Int64
    /// price x quantity, as the trade reported it (matching's exact quote; upstream's rounded down).
    public var quoteQuantity: Int64
    public var time: Int64
    public var buyerIsMaker: Bool
    /// The taker's order id, which groups trades into an aggTrade; 0 when unknown.
    public var takerOrderID: Int64
    /// An upstream aggTrade stands for trades `firstID...id` (`count` of them); a trade for itself.
    public var firstID: Int64
    public var count: Int64

    public init(id: Int64, price: Int64, quantity: Int64, quoteQuantity: Int64, time: Int64, buyerIsMaker: Bool, takerOrderID: Int64,
                firstID: Int64? = nil) {
        self.id = id
        self.firstID = firstID ?? id
        self.count = id - (firstID ?? id) + 1
        self.price = price
        self.quantity = quantity
        self.quoteQuantity = quoteQuantity
        self.time = time
        self.buyerIsMaker = buyerIsMaker
        self.takerOrderID = takerOrderID
    }
}

extension Exchange_V1_MdKline {
    /// An empty kline of `interval` opening at `openTime` (no trade yet: trade ids -1).
    public static func empty(symbol: String, venue: String, interval: KlineInterval, openTime: Int64) -> Exchange_V1_MdKline {
        var k = Exchange_V1_MdKline()
        k.symbol = symbol
        k.venue = venue
        k.interval = interval.rawValue
        k.openTime = openTime
        k.closeTime = interval.closeTime(openTime: openTime)
        k.firstTradeID = -1
        k.lastTradeID = -1
        return k
    }

    /// Adds one trade: OHLC, volumes, count, trade ids; the taker-buy volumes when the buyer took.
    public mutating func add(_ trade: AggregateTrade) {
        if tradeCount == 0 {
            open = trade.price
            high = trade.price
            low = trade.price
            firstTradeID = trade.firstID
        } else {
            if trade.price > high { high = trade.price }
            if trade.price < low { low = trade.price }
        }
        close = trade.price
        lastTradeID = trade.id
        tradeCount += trade.count
        volume &+= trade.quantity
        quoteVolume &+= trade.quoteQuantity
        if !trade.buyerIsMaker {
            takerBuyBaseVolume &+= trade.quantity
            takerBuyQuoteVolume &+= trade.quoteQuantity
        }
    }
}

/// Rolling-window statistics (24 h ticker, rolling-window tickers, mini tickers, avgPrice) from
/// one-minute klines, at Binance's minute precision: a window of length W ending at `now` counts
/// every minute kline whose minute overlaps (now - W, now]. The aggregator (stream tickers) and the
/// router (REST, at request time) compute them the same way.
public enum RollingStatistics {
    /// Binance's `windowSize` values: 1m...59m, 1h...23h, 1d...7d, in ms; nil when invalid.
    public static func windowMilliseconds(_ text: String) -> Int64? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        switch unit {
        case "m" where count <= 59: return count * 60_000
        case "h" where count <= 23: return count * 3_600_000
        case "d" where count <= 7: return count * 86_400_000
        default: return nil
        }
    }

    /// The ticker of a window. `minutes` are 1m klines in ascending open time (more than the window
    /// is fine: the kline just before it gives `prevClosePrice`). `last` is the latest trade (price,
    /// quantity) ever seen, which a window without trades still shows as its last price.
    public static func ticker<C: Collection>(
        symbol: String, venue: String, window: String, windowMs: Int64, minutes: C, now: Int64, last: (price: Int64, quantity: Int64)?
    ) -> Exchange_V1_MdTicker where C.Element == Exchange_V1_MdKline {
        var t = Exchange_V1_MdTicker()
        t.symbol = symbol
        t.venue = venue
        t.window = window
        t.openTime = now - windowMs
        t.closeTime = now
        t.eventTime = now
        t.firstTradeID = -1
        t.lastTradeID = -1
        let start = now - windowMs
        var counted = false
        for k in minutes where k.tradeCount > 0 && k.openTime <= now {
            if k.closeTime <= start {
                t.prevClosePrice = k.close
                continue
            }
            if !counted {
                t.openPrice = k.open
                t.highPrice = k.high
                t.lowPrice = k.low
                t.firstTradeID = k.firstTradeID
                counted = true
            } else {
                if k.high > t.highPrice { t.highPrice = k.high }
                if k.low < t.lowPrice { t.lowPrice = k.low }
            }
            t.lastPrice = k.close
            t.lastTradeID = k.lastTradeID
            t.volume &+= k.volume
            t.quoteVolume &+= k.quoteVolume
            t.tradeCount &+= k.tradeCount
        }
        if let last {
            if !counted { t.lastPrice = last.price }
            t.lastQuantity = counted ? last.quantity : 0
        }
        if counted {
            t.priceChange = t.lastPrice - t.openPrice
            if t.openPrice != 0 {
                // percent with 8 decimals: change / open * 100, rounded half away from zero
                let scaled = Int128(t.priceChange) * 100 * 100_000_000
                t.priceChangePercent = Int64(roundedDivision(scaled, Int128(t.openPrice)))
            }
            if t.volume != 0 {
                t.weightedAvgPrice = Int64(roundedDivision(Int128(t.quoteVolume) * 100_000_000, Int128(t.volume)))
            }
        }
        return t
    }

    /// A mini ticker (`24hrMiniTicker`): the 24 h window's open, high, low, close and volumes.
    public static func miniTicker(of ticker: Exchange_V1_MdTicker) -> Exchange_V1_MdTicker {
        var m = Exchange_V1_MdTicker()
        m.symbol = ticker.symbol
        m.venue = ticker.venue
        m.window = ticker.window
        m.mini = true
        m.eventTime = ticker.eventTime
        m.openPrice = ticker.openPrice
        m.highPrice = ticker.highPrice
        m.lowPrice = ticker.lowPrice
        m.lastPrice = ticker.lastPrice
        m.volume = ticker.volume
        m.quoteVolume = ticker.quoteVolume
        m.openTime = ticker.openTime
        m.closeTime = ticker.closeTime
        return m
    }

    /// The volume-weighted average price of the last `minutesBack` minutes (Binance's avgPrice,
    /// `avgPriceMins` 5); the last trade's price when the window had no trade.
    public static func averagePrice<C: Collection>(
        symbol: String, venue: String, minutes: C, minutesBack: Int32 = 5, now: Int64, last: (price: Int64, time: Int64)?
    ) -> Exchange_V1_MdAvgPrice where C.Element == Exchange_V1_MdKline {
        var a = Exchange_V1_MdAvgPrice()
        a.symbol = symbol
        a.venue = venue
        a.minutes = minutesBack
        let start = now - Int64(minutesBack) * 60_000
        var volume: Int128 = 0
        var quote: Int128 = 0
        for k in minutes where k.tradeCount > 0 && k.closeTime > start && k.openTime <= now {
            volume += Int128(k.volume)
            quote += Int128(k.quoteVolume)
        }
        if volume > 0 {
            a.price = Int64(roundedDivision(quote * 100_000_000, volume))
        } else if let last {
            a.price = last.price
        }
        a.closeTime = last?.time ?? now
        return a
    }

    /// A percent with 8 decimals (`MdTicker.priceChangePercent`) as Binance shows it, in REST and
    /// on the `@ticker` stream alike: 3 decimals, rounded half away from zero ("-1.234").
    public static func percentText(_ raw: Int64) -> String {
        let step: Int64 = 100_000
        var rounded = raw / step
        if abs(raw % step) * 2 >= step { rounded += raw < 0 ? -1 : 1 }
        return Fixed8(raw: rounded * step).formatted(decimals: 3)
    }

    /// a / b rounded half away from zero (b > 0).
    static func roundedDivision(_ a: Int128, _ b: Int128) -> Int128 {
        let q = a / b
        let r = a % b
        if r == 0 { return q }
        let twice = (r < 0 ? -r : r) * 2
        if twice >= b { return a < 0 ? q - 1 : q + 1 }
        return q
    }
}

/// Klines of an interval in another time zone (Binance's `timeZone`), composed from finer UTC
/// klines whose boundaries the offset does not move: an interval of a day or more (or hours the
/// offset does not divide) starts at local midnight (local hour), i.e. `offset` earlier in UTC.
public enum TimeZoneKlines {
    /// The finest stored interval whose boundaries stay put under `offsetMs` (1h for whole hours,
    /// 30m/15m/5m/1m for the rest).
    public static func source(forOffset offsetMs: Int64) -> KlineInterval {
        for interval in [KlineInterval.h1, .m30, .m15, .m5] where offsetMs % interval.fixedMilliseconds! == 0 { return interval }
        return .m1
    }

    /// The open time (UTC ms) of the `interval` containing `time` in a zone `offsetMs` ahead of UTC.
    public static func openTime(_ interval: KlineInterval, containing time: Int64, offsetMs: Int64) -> Int64 {
        interval.openTime(containing: time + offsetMs) - offsetMs
    }

    /// Merges `finer` (ascending, non-overlapping) into klines of `interval` in the zone.
    public static func compose(_ finer: [Exchange_V1_MdKline], into interval: KlineInterval, offsetMs: Int64) -> [Exchange_V1_MdKline] {
        var out: [Exchange_V1_MdKline] = []
        for k in finer where k.tradeCount > 0 {
            let open = openTime(interval, containing: k.openTime, offsetMs: offsetMs)
            if out.last?.openTime != open {
                var fresh = Exchange_V1_MdKline.empty(symbol: k.symbol, venue: k.venue, interval: interval, openTime: open)
                fresh.closeTime = interval.closeTime(openTime: open + offsetMs) - offsetMs
                out.append(fresh)
            }
            var merged = out[out.count - 1]
            if merged.tradeCount == 0 {
                merged.open = k.open
                merged.high = k.high
                merged.low = k.low
                merged.firstTradeID = k.firstTradeID
            } else {
                merged.high = max(merged.high, k.high)
                merged.low = min(merged.low, k.low)
            }
            merged.close = k.close
            merged.lastTradeID = k.lastTradeID
            merged.tradeCount += k.tradeCount
            merged.volume &+= k.volume
            merged.quoteVolume &+= k.quoteVolume
            merged.takerBuyBaseVolume &+= k.takerBuyBaseVolume
            merged.takerBuyQuoteVolume &+= k.takerBuyQuoteVolume
            out[out.count - 1] = merged
        }
        return out
    }
}
