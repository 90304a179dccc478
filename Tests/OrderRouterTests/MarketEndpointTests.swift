import ExchangeProtocol
import ExchangeTestSupport
import Logging
import MarketDataService
import Messaging
import ServiceKit
import Testing

@testable import OrderRouterCore

/// The REST market endpoints over what market-data's aggregates really write: matching-style
/// trades and deltas go through `MarketAggregatesProcessor` and its side effects into the
/// harness's redis-server, then the router answers from there.
@Suite("router: market endpoints")
struct MarketEndpointTests {
    static func trade(_ id: Int64, _ price: String, _ qty: String, time: Int64, taker: UInt64, buyerIsMaker: Bool) -> Exchange_V1_Envelope {
        MatchingEventSamples.trade(id, price, qty, time: time, taker: taker, buyerIsMaker: buyerIsMaker)
    }
    static func delta(_ id: Int64, bids: [(String, String)], asks: [(String, String)], time: Int64) -> Exchange_V1_Envelope {
        MatchingEventSamples.delta(id, id, bids: bids, asks: asks, time: time)
    }

    /// Feeds envelopes through the aggregates and applies their side effects to the harness's Redis.
    static func ingest(_ envelopes: [Exchange_V1_Envelope], into h: RouterHarness) async throws {
        var processor = MarketAggregatesProcessor()
        var outputs: [ProcessorOutput] = []
        for (i, envelope) in envelopes.enumerated() {
            let record = ConsumedRecord(topicPartition: TopicPartition("matching.events", 0), offset: Int64(i), key: [],
                                        value: EnvelopeCodec.encode(envelope), timestampMs: 0)
            outputs += processor.apply(ProcessorInput(record: record, envelope: envelope))
        }
        var planner = MarketAggregatesSideEffects()
        let sink = RedisSideEffectSink(endpoint: RedisEndpoint(host: h.server.configuration.host, port: h.server.configuration.port),
                                       logger: Logger(label: "test"))
        let effects = planner.plan(durable: outputs, processors: [processor], nowMs: h.nowMs)
        try await sink.apply(effects)
        try await sink.apply(effects)  // a replay writes the same projections again: nothing changes
        await sink.close()
    }

    @Test func tradesKlinesTickersFromTheAggregates() async throws {
        try await RouterHarness.with { h in
            let now = h.nowMs  // 2026-09-21T14:13:20Z
            let first = now - 100_000, second = now - 39_000
            try await Self.ingest([
                Self.trade(1, "100", "1", time: first, taker: 100, buyerIsMaker: false),
                Self.trade(2, "100", "2", time: first, taker: 100, buyerIsMaker: false),
                Self.trade(3, "101", "1", time: first, taker: 100, buyerIsMaker: false),
                Self.delta(1, bids: [("98", "10")], asks: [("101", "4")], time: first),
                Self.trade(4, "99", "0.5", time: second, taker: 200, buyerIsMaker: true),
                Self.delta(2, bids: [("99", "0")], asks: [], time: second),
            ], into: h)

            #expect(await h.get("/api/v3/trades", "symbol=BTCUSDT&limit=2").body == """
                [{"id":3,"price":"101.00000000","qty":"1.00000000","quoteQty":"101.00000000","time":\(first),"isBuyerMaker":false,"isBestMatch":true},\
                {"id":4,"price":"99.00000000","qty":"0.50000000","quoteQty":"49.50000000","time":\(second),"isBuyerMaker":true,"isBestMatch":true}]
                """)
            let historical = await h.get("/api/v3/historicalTrades", "symbol=BTCUSDT&fromId=2&limit=2")
            #expect(historical.body.hasPrefix(#"[{"id":2,"#) && historical.body.contains(#"{"id":3,"#) && !historical.body.contains(#""id":4"#))
            #expect(await h.get("/api/v3/aggTrades", "symbol=BTCUSDT").body == """
                [{"a":1,"p":"100.00000000","q":"3.00000000","f":1,"l":2,"T":\(first),"m":false,"M":true},\
                {"a":2,"p":"101.00000000","q":"1.00000000","f":3,"l":3,"T":\(first),"m":false,"M":true},\
                {"a":3,"p":"99.00000000","q":"0.50000000","f":4,"l":4,"T":\(second),"m":true,"M":true}]
                """)
            #expect(await h.get("/api/v3/aggTrades", "symbol=BTCUSDT&fromId=3").body.hasPrefix(#"[{"a":3,"#))
            #expect(await h.get("/api/v3/aggTrades", "symbol=BTCUSDT&startTime=\(second)&endTime=\(now)").body.hasPrefix(#"[{"a":3,"#))

            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1h").body == """
                [[1789999200000,"100.00000000","101.00000000","99.00000000","99.00000000","4.50000000",1790002799999,\
                "450.50000000",4,"4.00000000","401.00000000","0"]]
                """)
            let minutes = await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m")
            #expect(minutes.body == """
                [[1789999860000,"100.00000000","101.00000000","100.00000000","101.00000000","4.00000000",1789999919999,\
                "401.00000000",3,"4.00000000","401.00000000","0"],\
                [1789999920000,"99.00000000","99.00000000","99.00000000","99.00000000","0.50000000",1789999979999,\
                "49.50000000",1,"0.00000000","0.00000000","0"]]
                """)
            // In UTC+8 the day starts at 16:00 UTC: composed from the hourly klines.
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1d&timeZone=8").body == """
                [[1789920000000,"100.00000000","101.00000000","99.00000000","99.00000000","4.50000000",1790006399999,\
                "450.50000000",4,"4.00000000","401.00000000","0"]]
                """)
            // In UTC-5:30 hours start at :30 UTC (13:30Z for trades at 14:11Z): composed from the 30-minute klines.
            let westHours = await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1h&timeZone=-5:30").body
            #expect(westHours.hasPrefix(
                #"[[1789997400000,"100.00000000","101.00000000","99.00000000","99.00000000","4.50000000",1790000999999,"#))
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1d&timeZone=8&startTime=1790006400000").body == "[]")
            #expect(await h.get("/api/v3/uiKlines", "symbol=BTCUSDT&interval=1m&startTime=\(second)").body.hasPrefix("[[1789999920000,"))
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&limit=1").body.hasPrefix("[[1789999920000,"))
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&endTime=1789999919999").body.hasPrefix("[[1789999860000,"))

            #expect(await h.get("/api/v3/ticker/24hr", "symbol=BTCUSDT").body == """
                {"symbol":"BTCUSDT","priceChange":"-1.00000000","priceChangePercent":"-1.000","weightedAvgPrice":"100.11111111",\
                "prevClosePrice":"0.00000000","lastPrice":"99.00000000","lastQty":"0.50000000","bidPrice":"98.00000000","bidQty":"10.00000000",\
                "askPrice":"101.00000000","askQty":"4.00000000","openPrice":"100.00000000","highPrice":"101.00000000","lowPrice":"99.00000000",\
                "volume":"4.50000000","quoteVolume":"450.50000000","openTime":\(now - 86_400_000),"closeTime":\(now),"firstId":1,"lastId":4,"count":4}
                """)
            #expect(await h.get("/api/v3/ticker/24hr", "symbols=%5B%22BTCUSDT%22%5D&type=MINI").body == """
                [{"symbol":"BTCUSDT","openPrice":"100.00000000","highPrice":"101.00000000","lowPrice":"99.00000000","lastPrice":"99.00000000",\
                "volume":"4.50000000","quoteVolume":"450.50000000","openTime":\(now - 86_400_000),"closeTime":\(now),"firstId":1,"lastId":4,"count":4}]
                """)
            // A 1-minute window at 14:13:20 overlaps only the second trade's minute.
            #expect(await h.get("/api/v3/ticker", "symbol=BTCUSDT&windowSize=1m").body == """
                {"symbol":"BTCUSDT","priceChange":"0.00000000","priceChangePercent":"0.000","weightedAvgPrice":"99.00000000",\
                "openPrice":"99.00000000","highPrice":"99.00000000","lowPrice":"99.00000000","lastPrice":"99.00000000",\
                "volume":"0.50000000","quoteVolume":"49.50000000","openTime":\(now - 60_000),"closeTime":\(now),"firstId":4,"lastId":4,"count":1}
                """)
            let day = await h.get("/api/v3/ticker/tradingDay", "symbol=BTCUSDT")
            #expect(day.body.contains(#""openTime":1789948800000,"closeTime":1790035199999,"firstId":1,"lastId":4,"count":4}"#))
            #expect(await h.get("/api/v3/avgPrice", "symbol=BTCUSDT").body == #"{"mins":5,"price":"100.11111111","closeTime":\#(second)}"#)
            #expect(await h.get("/api/v3/ticker/price", "symbol=BTCUSDT").body == #"{"symbol":"BTCUSDT","price":"99.00000000"}"#)
            #expect(await h.get("/api/v3/ticker/bookTicker", "symbol=BTCUSDT").body
                == #"{"symbol":"BTCUSDT","bidPrice":"98.00000000","bidQty":"10.00000000","askPrice":"101.00000000","askQty":"4.00000000"}"#)
            let all = await h.get("/api/v3/ticker/price")
            #expect(all.body == #"[{"symbol":"BTCUSDT","price":"99.00000000"},{"symbol":"ETHBTC","price":"0.00000000"}]"#)
        }
    }

    @Test func marketEndpointErrorsAndWeights() async throws {
        try await RouterHarness.with { h in
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT").body == APIError.mandatory("interval").body)
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=2m").body == APIError.invalidInterval.body)
            #expect(await h.get("/api/v3/klines", "symbol=NOPE&interval=1m").body == APIError.invalidSymbol.body)
            #expect(await h.get("/api/v3/trades").body == APIError.mandatory("symbol").body)
            #expect(await h.get("/api/v3/trades", "symbol=BTCUSDT&limit=abc").status == 400)
            #expect(await h.get("/api/v3/ticker", "symbol=BTCUSDT&windowSize=60m").body == APIError.invalidParameter("windowSize").body)
            #expect(await h.get("/api/v3/ticker").body == APIError.eitherMandatory("symbol", "symbols").body)
            #expect(await h.get("/api/v3/ticker/24hr", "symbol=BTCUSDT&symbols=%5B%22BTCUSDT%22%5D").body
                == #"{"code":-1128,"msg":"Combination of optional parameters invalid."}"#)
            #expect(await h.get("/api/v3/aggTrades", "symbol=BTCUSDT&startTime=0&endTime=3600001").body
                == #"{"code":-1127,"msg":"More than 1 hours between startTime and endTime."}"#)
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&timeZone=+15:00").body == APIError.invalidParameter("timeZone").body)
            // Empty projections answer Binance's empty shapes.
            #expect(await h.get("/api/v3/trades", "symbol=BTCUSDT").body == "[]")
            #expect(await h.get("/api/v3/klines", "symbol=BTCUSDT&interval=1d&timeZone=0").body == "[]")
            let ticker = await h.get("/api/v3/ticker/24hr", "symbol=BTCUSDT")
            #expect(ticker.body.hasSuffix(#""firstId":-1,"lastId":-1,"count":0}"#))
            // Weights: 25 trades, 2 klines, 80 ticker/24hr for every symbol, 2 for one.
            let before = Int(await h.get("/api/v3/ping").header("X-MBX-USED-WEIGHT-1M") ?? "") ?? 0
            let trades = Int(await h.get("/api/v3/trades", "symbol=BTCUSDT").header("X-MBX-USED-WEIGHT-1M") ?? "") ?? 0
            let allTickers = Int(await h.get("/api/v3/ticker/24hr").header("X-MBX-USED-WEIGHT-1M") ?? "") ?? 0
            #expect(trades - before == 25 && allTickers - trades == 80)
        }
    }
}
