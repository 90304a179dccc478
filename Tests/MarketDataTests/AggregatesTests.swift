import ExchangeProtocol
import ExchangeTestSupport
import MarketDataCore
import MarketDataService
import MatchingEngine
import Messaging
import ServiceKit
import Testing

/// Market aggregates from matching's events: trades, aggTrades by Binance's rule, klines of every
/// interval, rolling statistics, the internal book's diffs and top, and deterministic replay.
@Suite("market aggregates")
struct AggregatesTests {
    static let t0: Int64 = 1_790_000_000_000  // 2026-09-21T14:13:20Z

    static func fx(_ text: String) -> Int64 { MatchingEventSamples.fx(text) }
    static func trade(_ id: Int64, _ price: String, _ qty: String, time: Int64, taker: UInt64, buyerIsMaker: Bool) -> Exchange_V1_Envelope {
        MatchingEventSamples.trade(id, price, qty, time: time, taker: taker, buyerIsMaker: buyerIsMaker)
    }
    static func delta(_ first: Int64, _ last: Int64, bids: [(String, String)], asks: [(String, String)], time: Int64) -> Exchange_V1_Envelope {
        MatchingEventSamples.delta(first, last, bids: bids, asks: asks, time: time)
    }

    static func input(_ envelope: Exchange_V1_Envelope, offset: Int64, topic: String = "matching.events") -> ProcessorInput {
        ProcessorInput(
            record: ConsumedRecord(topicPartition: TopicPartition(topic, 0), offset: offset, key: Array("BTCUSDT".utf8),
                                   value: EnvelopeCodec.encode(envelope), timestampMs: 0),
            envelope: envelope)
    }

    /// Two commands a minute apart: a taker BUY sweeping 100, 100, 101, then a taker SELL at 99.
    static func scenario(start: Int64 = t0) -> [Exchange_V1_Envelope] {
        let second = start + 61_000
        return [
            trade(1, "100", "1", time: start, taker: 100, buyerIsMaker: false),
            trade(2, "100", "2", time: start, taker: 100, buyerIsMaker: false),
            trade(3, "101", "1", time: start, taker: 100, buyerIsMaker: false),
            delta(1, 3, bids: [("98", "10")], asks: [("100", "0"), ("101", "4")], time: start),
            trade(4, "99", "0.5", time: second, taker: 200, buyerIsMaker: true),
            delta(4, 4, bids: [("99", "0")], asks: [], time: second),
        ]
    }

    static func run(_ envelopes: [Exchange_V1_Envelope], on processor: inout MarketAggregatesProcessor, from offset: Int64 = 0) -> [ProcessorOutput] {
        var outputs: [ProcessorOutput] = []
        for (i, envelope) in envelopes.enumerated() { outputs += processor.apply(input(envelope, offset: offset + Int64(i))) }
        return outputs
    }

    @Test func tradesAggTradesKlinesAndTickersFromMatchingEvents() {
        var processor = MarketAggregatesProcessor()
        let outputs = Self.run(Self.scenario(), on: &processor)
        let trades = outputs.compactMap { if case .mdTrade(let t) = $0.envelope.payload { t } else { nil } }
        #expect(trades.map(\.tradeID) == [1, 2, 3, 4])
        #expect(outputs.allSatisfy { $0.key == "BTCUSDT" && !$0.isEffectOnly })
        #expect(outputs.filter { if case .mdTrade = $0.envelope.payload { true } else { false } }.allSatisfy { $0.topic == "md.trades" })

        // One taker at one price is one aggTrade; a new price or the command's end closes it.
        let aggs = outputs.compactMap { if case .mdAggTrade(let a) = $0.envelope.payload { a } else { nil } }
        #expect(aggs.map(\.aggTradeID) == [1, 2, 3])
        #expect(aggs.map { [$0.price, $0.quantity, $0.firstTradeID, $0.lastTradeID] } == [
            [Self.fx("100"), Self.fx("3"), 1, 2], [Self.fx("101"), Self.fx("1"), 3, 3], [Self.fx("99"), Self.fx("0.5"), 4, 4],
        ])
        #expect(aggs.map(\.buyerIsMaker) == [false, false, true])

        // The first minute closes when the second command's trade lands in the next one.
        let klines = outputs.compactMap { if case .mdKline(let k) = $0.envelope.payload { k } else { nil } }
        let closed = klines.filter(\.closed)
        #expect(closed.map(\.interval) == ["1s", "1m"])
        let minute = closed.first { $0.interval == "1m" }!
        #expect(minute.openTime == 1_789_999_980_000 && minute.closeTime == 1_790_000_039_999)
        #expect([minute.open, minute.high, minute.low, minute.close] == [Self.fx("100"), Self.fx("101"), Self.fx("100"), Self.fx("101")])
        #expect([minute.volume, minute.quoteVolume, minute.tradeCount] == [Self.fx("4"), Self.fx("401"), 3])
        #expect([minute.takerBuyBaseVolume, minute.takerBuyQuoteVolume, minute.firstTradeID, minute.lastTradeID] == [Self.fx("4"), Self.fx("401"), 1, 3])

        let hour = processor.symbols["BTCUSDT"]!.current[KlineInterval.allCases.firstIndex(of: .h1)!]
        #expect(hour.openTime == 1_789_999_200_000 && hour.closeTime == 1_790_002_799_999)
        #expect([hour.open, hour.high, hour.low, hour.close] == [Self.fx("100"), Self.fx("101"), Self.fx("99"), Self.fx("99")])
        #expect([hour.volume, hour.quoteVolume, hour.tradeCount, hour.takerBuyBaseVolume] == [Self.fx("4.5"), Self.fx("450.5"), 4, Self.fx("4")])
        let month = processor.symbols["BTCUSDT"]!.current[KlineInterval.allCases.firstIndex(of: .mo1)!]
        #expect(month.openTime == 1_788_220_800_000)  // 2026-09-01

        // The 24 h ticker after the second command (first one a second or more after the last).
        let tickers = outputs.compactMap { if case .mdTicker(let t) = $0.envelope.payload, !t.mini { t } else { nil } }
        let ticker = tickers.last!
        #expect(ticker.window == "1d" && ticker.eventTime == Self.t0 + 61_000)
        #expect([ticker.openPrice, ticker.highPrice, ticker.lowPrice, ticker.lastPrice] == [Self.fx("100"), Self.fx("101"), Self.fx("99"), Self.fx("99")])
        #expect(ticker.priceChange == Self.fx("-1") && ticker.priceChangePercent == Self.fx("-1"))
        #expect(ticker.weightedAvgPrice == Self.fx("100.11111111"))
        #expect([ticker.volume, ticker.quoteVolume, ticker.tradeCount, ticker.firstTradeID, ticker.lastTradeID] == [Self.fx("4.5"), Self.fx("450.5"), 4, 1, 4])
        #expect(ticker.lastQuantity == Self.fx("0.5"))
        #expect([ticker.bidPrice, ticker.bidQuantity, ticker.askPrice, ticker.askQuantity] == [Self.fx("98"), Self.fx("10"), Self.fx("101"), Self.fx("4")])
        let avg = outputs.compactMap { if case .mdAvgPrice(let a) = $0.envelope.payload { a } else { nil } }.last!
        #expect(avg.minutes == 5 && avg.price == Self.fx("100.11111111") && avg.closeTime == Self.t0 + 61_000)

        // Depth diffs keep matching's update ids; a book ticker only when the top changed.
        let diffs = outputs.compactMap { if case .mdDepthDiff(let d) = $0.envelope.payload { d } else { nil } }
        #expect(diffs.map { [$0.firstUpdateID, $0.finalUpdateID] } == [[1, 3], [4, 4]])
        let tops = outputs.compactMap { if case .mdBookTicker(let b) = $0.envelope.payload { b } else { nil } }
        #expect(tops.count == 1)
        #expect([tops[0].bidPrice, tops[0].askPrice, tops[0].askQuantity, tops[0].updateID] == [Self.fx("98"), Self.fx("101"), Self.fx("4"), 3])
    }

    @Test func throttledStreamsButEveryClose() {
        var processor = MarketAggregatesProcessor()
        // 200 trades 10 ms apart from one taker each: 2 s of trades.
        let envelopes = (1...200).map { i in
            Self.trade(Int64(i), "100", "1", time: Self.t0 + Int64(i) * 10, taker: UInt64(1000 + i), buyerIsMaker: false)
        }
        let outputs = Self.run(envelopes, on: &processor)
        let klines = outputs.compactMap { if case .mdKline(let k) = $0.envelope.payload { k } else { nil } }
        let secondKlines = klines.filter { $0.interval == "1s" }
        #expect(secondKlines.filter(\.closed).count == 2)  // 14:13:20 and :21 close; :22 is open
        #expect(klines.filter { $0.interval == "1h" }.count <= 2)  // throttled to one per 2 s of trade time
        let tickers = outputs.compactMap { if case .mdTicker(let t) = $0.envelope.payload, !t.mini { t } else { nil } }
        #expect(tickers.count == 2)  // t0+10 and t0+1010
        // Each trade is its own aggTrade (a new taker), closed by the next trade.
        let aggs = outputs.compactMap { if case .mdAggTrade(let a) = $0.envelope.payload { a } else { nil } }
        #expect(aggs.count == 199)
    }

    @Test func upstreamAggTradesFeedKlinesAndTradesAreKeptForREST() {
        var processor = MarketAggregatesProcessor()
        var a = Exchange_V1_MdAggTrade()
        a.symbol = "LRCBTC"
        a.venue = "binance"
        a.aggTradeID = 9
        a.firstTradeID = 55
        a.lastTradeID = 57
        a.price = Self.fx("0.00001234")
        a.quantity = Self.fx("100")
        a.tradeTime = Self.t0
        let outputs = processor.apply(Self.input(Exchange_V1_Envelope(payload: .mdAggTrade(a), createdAtMs: Self.t0, emittedAtMs: Self.t0), offset: 0, topic: "md.trades"))
        #expect(outputs.first?.isEffectOnly == true)
        #expect(!outputs.dropFirst().contains { if case .mdAggTrade = $0.envelope.payload { true } else { false } })
        let minute = processor.symbols["LRCBTC"]!.current[1]
        #expect(minute.quoteVolume == Self.fx("0.001234") && minute.venue == "binance")
        #expect([minute.firstTradeID, minute.lastTradeID, minute.tradeCount] == [55, 57, 3])
        // REST sees the aggTrade and the klines it moved (nothing is re-published: the worker did).
        var planner = MarketAggregatesSideEffects()
        let effects = planner.plan(durable: outputs.filter(\.isEffectOnly), processors: [processor], nowMs: Self.t0)
        let keys = effects.compactMap { if case .sortedSetPut(let key, _, _, _) = $0 { key } else { nil } }
        #expect(keys.first == "mdAggTrades:LRCBTC" && keys.contains("mdKlines:LRCBTC:1m") && keys.contains("mdKlines:LRCBTC:1M"))
        #expect(!effects.contains { if case .publish = $0 { true } else { false } })
        // An upstream trade is kept for REST only (its aggTrade already counted it).
        var t = Exchange_V1_MdTrade()
        t.symbol = "LRCBTC"
        t.venue = "binance"
        t.tradeID = 58
        t.tradeTime = Self.t0
        let kept = processor.apply(Self.input(Exchange_V1_Envelope(payload: .mdTrade(t), createdAtMs: 0, emittedAtMs: 0), offset: 1, topic: "md.trades"))
        #expect(kept.count == 1 && kept[0].isEffectOnly)
        // Our own records (venue internal) and handover duplicates are not counted again.
        var own = a
        own.venue = "internal"
        var duplicate = a
        duplicate.duplicate = true
        for m in [own, duplicate] {
            #expect(processor.apply(Self.input(Exchange_V1_Envelope(payload: .mdAggTrade(m), createdAtMs: 0, emittedAtMs: 0), offset: 2, topic: "md.trades")).isEmpty)
        }
        #expect(processor.symbols["LRCBTC"]!.current[1].tradeCount == 3)
    }

    @Test func snapshotRestoreAndReplayAreExact() throws {
        var rng = SplitMix64(seed: 7)
        var envelopes: [Exchange_V1_Envelope] = []
        var time = Self.t0
        var id: Int64 = 0
        var update: Int64 = 0
        for command in 0..<3000 {
            time += Int64(rng.next() % 40_000)
            let fills = Int(rng.next() % 4)
            for _ in 0..<fills {
                id += 1
                let price = 100 + Int(rng.next() % 5)
                envelopes.append(Self.trade(id, "\(price)", "0.\(1 + rng.next() % 9)", time: time, taker: UInt64(command + 1), buyerIsMaker: rng.next() % 2 == 0))
            }
            update += 1
            let level = ("\(90 + rng.next() % 20)", "\(rng.next() % 3)")
            envelopes.append(Self.delta(update, update, bids: rng.next() % 2 == 0 ? [level] : [], asks: rng.next() % 2 == 0 ? [] : [level], time: time))
        }
        var whole = MarketAggregatesProcessor()
        let all = Self.run(envelopes, on: &whole)
        let cut = envelopes.count / 2
        var first = MarketAggregatesProcessor()
        let head = Self.run(Array(envelopes[..<cut]), on: &first)
        var restored = try MarketAggregatesProcessor(state: first.encodeState())
        #expect(restored.encodeState() == first.encodeState())
        let tail = Self.run(Array(envelopes[cut...]), on: &restored, from: Int64(cut))
        #expect((head + tail).map { EnvelopeCodec.encode($0.envelope) } == all.map { EnvelopeCodec.encode($0.envelope) })
        #expect(restored.encodeState() == whole.encodeState())
        // 24 h of minutes at most (plus the one before), however long the run.
        #expect(whole.symbols["BTCUSDT"]!.minutes.count <= 24 * 60 + 2)
        #expect(throws: (any Error).self) { try MarketAggregatesProcessor(state: Array(first.encodeState().dropLast(3))) }
    }

    @Test func sideEffectsPublishAndProjectIdempotently() {
        var processor = MarketAggregatesProcessor()
        let outputs = Self.run(Self.scenario(), on: &processor)
        var planner = MarketAggregatesSideEffects()
        let effects = planner.plan(durable: outputs, processors: [processor], nowMs: Self.t0)
        let publishes = effects.compactMap { if case .publish(let channel, _) = $0 { channel } else { nil } }
        #expect(publishes.count == outputs.count)
        #expect(Set(publishes) == ["md.trades.BTCUSDT", "md.tickers.BTCUSDT", "md.depth.BTCUSDT"])
        let puts = effects.compactMap { if case .sortedSetPut(let key, let score, _, let keep) = $0 { "\(key) \(score) \(keep)" } else { nil } }
        #expect(puts.filter { $0.hasPrefix("mdTrades:BTCUSDT ") }.count == 4)
        #expect(puts.filter { $0.hasPrefix("mdAggTrades:BTCUSDT ") }.count == 3)
        #expect(puts.contains("mdKlines:BTCUSDT:1m 1789999980000 10080"))  // the closed minute
        #expect(puts.contains("mdKlines:BTCUSDT:1m 1790000040000 10080"))  // the current one, from state
        #expect(puts.contains("mdKlines:BTCUSDT:1M 1788220800000 1000"))
        #expect(effects.contains { if case .set(let key, _) = $0 { key == "bookTicker:BTCUSDT" } else { false } })
        // A failed application is redone (without the publishes) on the next plan.
        planner.failed(effects)
        let again = planner.plan(durable: [], processors: [processor], nowMs: Self.t0 + 1)
        #expect(again.count == effects.count - publishes.count)
    }

    @Test func klineStreamsCloseOnTimeWithoutATrade() throws {
        var processor = MarketAggregatesProcessor()
        var planner = MarketAggregatesSideEffects()
        _ = planner.plan(durable: Self.run(Self.scenario(), on: &processor), processors: [processor], nowMs: Self.t0 + 61_500)
        func closedIntervals(_ effects: [SideEffect]) throws -> [String] {
            try effects.compactMap { effect -> String? in
                guard case .publish(let channel, let message) = effect, channel == "md.tickers.BTCUSDT",
                      case .mdKline(let k) = try EnvelopeCodec.decode(message).payload, k.closed else { return nil }
                return k.interval
            }
        }
        // Two hours later, quiet market: every interval that ended is closed on the stream, once.
        let later = planner.plan(durable: [], processors: [processor], nowMs: Self.t0 + 7_200_000)
        let closed = try closedIntervals(later)
        #expect(closed == ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h"])  // 6h, 12h, 1d... still open
        #expect(try closedIntervals(planner.plan(durable: [], processors: [processor], nowMs: Self.t0 + 7_200_001)).isEmpty)
        // The next trade closes them in the log too; the stream does not get those closes twice.
        let outputs = Self.run([Self.trade(5, "100", "1", time: Self.t0 + 7_200_000, taker: 300, buyerIsMaker: false)], on: &processor, from: 6)
        #expect(outputs.contains { if case .mdKline(let k) = $0.envelope.payload { k.closed && k.interval == "1h" } else { false } })
        let effects = planner.plan(durable: outputs, processors: [processor], nowMs: Self.t0 + 7_200_002)
        #expect(try closedIntervals(effects).isEmpty)
        #expect(effects.contains { if case .sortedSetPut(let key, _, _, _) = $0 { key == "mdKlines:BTCUSDT:1h" } else { false } })
    }

    @Test func timeZoneKlinesComposeFromIntervalsTheOffsetKeeps() {
        #expect(TimeZoneKlines.source(forOffset: 8 * 3_600_000) == .h1)
        #expect(TimeZoneKlines.source(forOffset: -(5 * 3_600_000 + 1_800_000)) == .m30)
        #expect(TimeZoneKlines.source(forOffset: 5 * 3_600_000 + 2_700_000) == .m15)
        // The month of 2026-09-30T20:00Z in UTC+8 is October (local 04:00 on Oct 1).
        let time: Int64 = 1_790_798_400_000
        #expect(TimeZoneKlines.openTime(.mo1, containing: time, offsetMs: 8 * 3_600_000) == 1_790_784_000_000)  // 2026-09-30T16:00Z
        var hours: [Exchange_V1_MdKline] = []
        for (i, price) in ["10", "12"].enumerated() {
            var k = Exchange_V1_MdKline.empty(symbol: "X", venue: "internal", interval: .h1, openTime: time + Int64(i) * 3_600_000)
            k.add(AggregateTrade(id: Int64(i + 1), price: Self.fx(price), quantity: Self.fx("1"), quoteQuantity: Self.fx(price),
                                 time: k.openTime, buyerIsMaker: false, takerOrderID: 1))
            hours.append(k)
        }
        let months = TimeZoneKlines.compose(hours, into: .mo1, offsetMs: 8 * 3_600_000)
        #expect(months.count == 1 && months[0].openTime == 1_790_784_000_000 && months[0].closeTime == 1_793_462_399_999)
        #expect([months[0].open, months[0].close, months[0].tradeCount, months[0].quoteVolume] == [Self.fx("10"), Self.fx("12"), 2, Self.fx("22")])
    }

    @Test func rollingWindowsAtMinutePrecision() {
        // Percent change as REST and the @ticker stream both show it: 3 decimals, half away from zero.
        #expect(RollingStatistics.percentText(Self.fx("-8.33333333")) == "-8.333")
        #expect(RollingStatistics.percentText(Self.fx("0.0005")) == "0.001")
        #expect(RollingStatistics.percentText(Self.fx("-0.0005")) == "-0.001")
        #expect(RollingStatistics.percentText(Self.fx("0.00049999")) == "0.000")
        #expect(RollingStatistics.percentText(Self.fx("250")) == "250.000")
        #expect(RollingStatistics.windowMilliseconds("1m") == 60_000)
        #expect(RollingStatistics.windowMilliseconds("59m") == 3_540_000)
        #expect(RollingStatistics.windowMilliseconds("23h") == 82_800_000)
        #expect(RollingStatistics.windowMilliseconds("7d") == 604_800_000)
        for bad in ["60m", "24h", "8d", "0m", "1w", "", "m", "-1h"] { #expect(RollingStatistics.windowMilliseconds(bad) == nil) }
        var minutes: [Exchange_V1_MdKline] = []
        for (i, price) in ["10", "12", "8", "11"].enumerated() {
            var k = Exchange_V1_MdKline.empty(symbol: "X", venue: "internal", interval: .m1, openTime: Int64(i) * 60_000)
            k.add(AggregateTrade(id: Int64(i + 1), price: Self.fx(price), quantity: Self.fx("1"), quoteQuantity: Self.fx(price), time: Int64(i) * 60_000, buyerIsMaker: false, takerOrderID: 1))
            minutes.append(k)
        }
        // A 2-minute window ending 5 s into minute 3 overlaps minutes 1, 2 and 3 (Binance's precision:
        // up to 59,999 ms more than the window); minute 0 gives the previous close.
        let t = RollingStatistics.ticker(symbol: "X", venue: "", window: "2m", windowMs: 120_000, minutes: minutes, now: 3 * 60_000 + 5_000, last: (Self.fx("11"), Self.fx("1")))
        #expect([t.openPrice, t.highPrice, t.lowPrice, t.lastPrice, t.prevClosePrice] == [Self.fx("12"), Self.fx("12"), Self.fx("8"), Self.fx("11"), Self.fx("10")])
        #expect(t.priceChange == Self.fx("-1") && t.priceChangePercent == Self.fx("-8.33333333"))
        #expect(t.firstTradeID == 2 && t.lastTradeID == 4 && t.tradeCount == 3 && t.weightedAvgPrice == Self.fx("10.33333333"))
        // No trade in the window: the last price stays, everything else is empty.
        let quiet = RollingStatistics.ticker(symbol: "X", venue: "", window: "1m", windowMs: 60_000, minutes: minutes, now: 10 * 60_000, last: (Self.fx("11"), Self.fx("1")))
        #expect(quiet.lastPrice == Self.fx("11") && quiet.openPrice == 0 && quiet.tradeCount == 0 && quiet.firstTradeID == -1 && quiet.lastQuantity == 0)
        #expect(quiet.prevClosePrice == Self.fx("11"))
    }
}
