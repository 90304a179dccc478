import ExchangeProtocol
import MarketDataCore
import OrderRouterCore

/// Binance's market-stream payloads, member for member and in Binance's order, from the Md*
/// records market-data publishes. Prices and quantities are 8-decimal strings, as Binance sends.
public enum MarketPayloads {
    /// `<s>@trade`. Binance dropped the buyer/seller order ids (`b`, `a`) from this stream in 2023.
    public static func trade(_ t: Exchange_V1_MdTrade) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "trade")
        w.field("E", t.eventTime)
        w.field("s", t.symbol)
        w.field("t", t.tradeID)
        w.field("p", decimal: Fixed8(raw: t.price))
        w.field("q", decimal: Fixed8(raw: t.quantity))
        w.field("T", t.tradeTime)
        w.field("m", t.buyerIsMaker)
        w.field("M", true)
        w.objectEnd()
        return w.text
    }

    /// `<s>@aggTrade`.
    public static func aggTrade(_ t: Exchange_V1_MdAggTrade) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "aggTrade")
        w.field("E", t.eventTime)
        w.field("s", t.symbol)
        w.aggTradeFields(t)
        w.objectEnd()
        return w.text
    }

    /// `<s>@bookTicker` (spot's has no event time).
    public static func bookTicker(_ t: Exchange_V1_MdBookTicker) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("u", t.updateID)
        w.field("s", t.symbol)
        w.field("b", decimal: Fixed8(raw: t.bidPrice))
        w.field("B", decimal: Fixed8(raw: t.bidQuantity))
        w.field("a", decimal: Fixed8(raw: t.askPrice))
        w.field("A", decimal: Fixed8(raw: t.askQuantity))
        w.objectEnd()
        return w.text
    }

    /// `<s>@kline_<interval>`; `B` is Binance's ignored field, always "0".
    public static func kline(_ k: Exchange_V1_MdKline) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "kline")
        w.field("E", k.eventTime)
        w.field("s", k.symbol)
        w.key("k")
        w.objectStart()
        w.field("t", k.openTime)
        w.field("T", k.closeTime)
        w.field("s", k.symbol)
        w.field("i", k.interval)
        w.field("f", k.firstTradeID)
        w.field("L", k.lastTradeID)
        w.field("o", decimal: Fixed8(raw: k.open))
        w.field("c", decimal: Fixed8(raw: k.close))
        w.field("h", decimal: Fixed8(raw: k.high))
        w.field("l", decimal: Fixed8(raw: k.low))
        w.field("v", decimal: Fixed8(raw: k.volume))
        w.field("n", k.tradeCount)
        w.field("x", k.closed)
        w.field("q", decimal: Fixed8(raw: k.quoteVolume))
        w.field("V", decimal: Fixed8(raw: k.takerBuyBaseVolume))
        w.field("Q", decimal: Fixed8(raw: k.takerBuyQuoteVolume))
        w.field("B", "0")
        w.objectEnd()
        w.objectEnd()
        return w.text
    }

    /// `<s>@ticker` (24 h rolling window). The percent change has Binance's 3 decimals.
    public static func ticker(_ t: Exchange_V1_MdTicker) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "24hrTicker")
        w.field("E", t.eventTime)
        w.field("s", t.symbol)
        w.field("p", decimal: Fixed8(raw: t.priceChange))
        w.field("P", RollingStatistics.percentText(t.priceChangePercent))
        w.field("w", decimal: Fixed8(raw: t.weightedAvgPrice))
        w.field("x", decimal: Fixed8(raw: t.prevClosePrice))
        w.field("c", decimal: Fixed8(raw: t.lastPrice))
        w.field("Q", decimal: Fixed8(raw: t.lastQuantity))
        w.field("b", decimal: Fixed8(raw: t.bidPrice))
        w.field("B", decimal: Fixed8(raw: t.bidQuantity))
        w.field("a", decimal: Fixed8(raw: t.askPrice))
        w.field("A", decimal: Fixed8(raw: t.askQuantity))
        w.field("o", decimal: Fixed8(raw: t.openPrice))
        w.field("h", decimal: Fixed8(raw: t.highPrice))
        w.field("l", decimal: Fixed8(raw: t.lowPrice))
        w.field("v", decimal: Fixed8(raw: t.volume))
        w.field("q", decimal: Fixed8(raw: t.quoteVolume))
        w.field("O", t.openTime)
        w.field("C", t.closeTime)
        w.field("F", t.firstTradeID)
        w.field("L", t.lastTradeID)
        w.field("n", t.tradeCount)
        w.objectEnd()
        return w.text
    }

    /// `<s>@miniTicker` and the elements of `!miniTicker@arr`.
    public static func miniTicker(_ t: Exchange_V1_MdTicker) -> String {
        var w = JSONWriter()
        writeMiniTicker(t, to: &w)
        return w.text
    }

    static func writeMiniTicker(_ t: Exchange_V1_MdTicker, to w: inout JSONWriter) {
        w.objectStart()
        w.field("e", "24hrMiniTicker")
        w.field("E", t.eventTime)
        w.field("s", t.symbol)
        w.field("c", decimal: Fixed8(raw: t.lastPrice))
        w.field("o", decimal: Fixed8(raw: t.openPrice))
        w.field("h", decimal: Fixed8(raw: t.highPrice))
        w.field("l", decimal: Fixed8(raw: t.lowPrice))
        w.field("v", decimal: Fixed8(raw: t.volume))
        w.field("q", decimal: Fixed8(raw: t.quoteVolume))
        w.objectEnd()
    }

    /// `!miniTicker@arr`: the tickers that changed, as one array.
    public static func miniTickerArray(_ tickers: [Exchange_V1_MdTicker]) -> String {
        var w = JSONWriter()
        w.arrayStart()
        for t in tickers { writeMiniTicker(t, to: &w) }
        w.arrayEnd()
        return w.text
    }

    /// `<s>@avgPrice`. The record has no event time of its own; its close time stands in.
    public static func avgPrice(_ a: Exchange_V1_MdAvgPrice) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "avgPrice")
        w.field("E", a.closeTime)
        w.field("s", a.symbol)
        w.field("i", "\(a.minutes)m")
        w.field("w", decimal: Fixed8(raw: a.price))
        w.field("T", a.closeTime)
        w.objectEnd()
        return w.text
    }

    /// `<s>@depth[@100ms]`: one merged window of diffs.
    public static func depthUpdate(
        symbol: String, eventTime: Int64, firstUpdateID: Int64, finalUpdateID: Int64,
        bids: [Exchange_V1_PriceLevel], asks: [Exchange_V1_PriceLevel]
    ) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "depthUpdate")
        w.field("E", eventTime)
        w.field("s", symbol)
        w.field("U", firstUpdateID)
        w.field("u", finalUpdateID)
        w.key("b")
        writeLevels(bids, to: &w)
        w.key("a")
        writeLevels(asks, to: &w)
        w.objectEnd()
        return w.text
    }

    /// `<s>@depth<N>[@100ms]`: the top of the book, as GET /api/v3/depth shapes it.
    public static func partialDepth(lastUpdateID: Int64, bids: [Exchange_V1_PriceLevel], asks: [Exchange_V1_PriceLevel]) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("lastUpdateId", lastUpdateID)
        w.key("bids")
        writeLevels(bids, to: &w)
        w.key("asks")
        writeLevels(asks, to: &w)
        w.objectEnd()
        return w.text
    }

    static func writeLevels(_ levels: [Exchange_V1_PriceLevel], to w: inout JSONWriter) {
        w.arrayStart()
        for level in levels {
            w.arrayStart()
            w.decimal(Fixed8(raw: level.price))
            w.decimal(Fixed8(raw: level.quantity))
            w.arrayEnd()
        }
        w.arrayEnd()
    }

    /// `serverShutdown`, sent to every connection before a graceful shutdown closes it.
    public static func serverShutdown(eventTime: Int64) -> String {
        "{\"e\":\"serverShutdown\",\"E\":\(eventTime)}"
    }

    /// A combined-stream frame: `{"stream":"<name>","data":<payload>}`.
    public static func combined(stream: String, data: String) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("stream", stream)
        w.key("data")
        w.raw(data)
        w.objectEnd()
        return w.text
    }
}
