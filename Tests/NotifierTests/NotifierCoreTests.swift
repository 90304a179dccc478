import ExchangeProtocol
import Foundation
import MarketDataCore
import NotifierCore
import Testing

/// The recorded Binance session (Tests/Fixtures/binance), for byte-exact payload checks.
enum Capture {
    static let frames: [BinanceCapture.Frame] = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = repo.appendingPathComponent("Tests/Fixtures/binance")
        let ws = try! String(contentsOfFile: dir.appendingPathComponent("spot-ws-2021-10-12.txt").path, encoding: .utf8)
        let rest = try! String(contentsOfFile: dir.appendingPathComponent("spot-rest-2021-10-12.txt").path, encoding: .utf8)
        return try! BinanceCapture.parse(webSocket: ws, rest: [rest]).frames
    }()

    static func levels(_ l: [PriceQuantity]) -> [Exchange_V1_PriceLevel] {
        l.map {
            var p = Exchange_V1_PriceLevel()
            p.price = $0.price
            p.quantity = $0.quantity
            return p
        }
    }

    /// The Md record the ingestion worker would publish for a recorded frame.
    static func record(_ frame: BinanceFrame, symbol: String) -> Exchange_V1_Envelope.OneOf_Payload? {
        switch frame.kind {
        case .depthUpdate:
            var d = Exchange_V1_MdDepthDiff()
            d.symbol = symbol
            d.firstUpdateID = frame.firstUpdateID
            d.finalUpdateID = frame.finalUpdateID
            d.eventTime = frame.eventTime
            d.bids = levels(frame.bids)
            d.asks = levels(frame.asks)
            return .mdDepthDiff(d)
        case .aggTrade:
            var t = Exchange_V1_MdAggTrade()
            t.symbol = symbol
            t.aggTradeID = frame.tradeID
            t.price = frame.price
            t.quantity = frame.quantity
            t.firstTradeID = frame.firstTradeID
            t.lastTradeID = frame.lastTradeID
            t.tradeTime = frame.tradeTime
            t.eventTime = frame.eventTime
            t.buyerIsMaker = frame.buyerIsMaker
            return .mdAggTrade(t)
        case .bookTicker:
            var t = Exchange_V1_MdBookTicker()
            t.symbol = symbol
            t.updateID = frame.finalUpdateID
            t.bidPrice = frame.bidPrice
            t.bidQuantity = frame.bidQuantity
            t.askPrice = frame.askPrice
            t.askQuantity = frame.askQuantity
            return .mdBookTicker(t)
        case .kline:
            var k = Exchange_V1_MdKline()
            let f = frame.kline
            k.symbol = symbol
            k.interval = f.interval?.rawValue ?? ""
            k.openTime = f.openTime
            k.closeTime = f.closeTime
            k.firstTradeID = f.firstTradeID
            k.lastTradeID = f.lastTradeID
            k.open = f.open
            k.high = f.high
            k.low = f.low
            k.close = f.close
            k.volume = f.volume
            k.quoteVolume = f.quoteVolume
            k.tradeCount = f.tradeCount
            k.takerBuyBaseVolume = f.takerBuyBaseVolume
            k.takerBuyQuoteVolume = f.takerBuyQuoteVolume
            k.closed = f.closed
            k.eventTime = frame.eventTime
            return .mdKline(k)
        default:
            return nil
        }
    }

    /// A stream's payload for one record, as the notifier renders it.
    static func render(_ payload: Exchange_V1_Envelope.OneOf_Payload) -> String? {
        switch payload {
        case .mdAggTrade(let t): return MarketPayloads.aggTrade(t)
        case .mdBookTicker(let t): return MarketPayloads.bookTicker(t)
        case .mdKline(let k): return MarketPayloads.kline(k)
        case .mdDepthDiff(let d):
            var w = DepthDiffWindow(symbol: d.symbol)
            _ = w.add(d)
            return w.flush()?.payload
        default: return nil
        }
    }
}

@Suite("Notifier core")
struct NotifierCoreTests {
    @Test("every recorded Binance frame is rendered back byte for byte from its Md record")
    func payloadsMatchTheCapture() throws {
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        var checked: [String: Int] = [:]
        for recorded in Capture.frames {
            frame.reset()
            guard parser.parse(recorded.data, into: &frame) == nil else { continue }
            let symbol = String(recorded.stream.prefix { $0 != "@" }).uppercased()
            guard let record = Capture.record(frame, symbol: symbol), let rendered = Capture.render(record) else { continue }
            // Binance sends the upstream depth diff levels in its own order; ours is best first,
            // which is the same order in every recorded frame.
            #expect(rendered == recorded.data, "\(recorded.stream)")
            let kind = String(recorded.stream.split(separator: "@").dropFirst().first ?? "")
            checked[kind, default: 0] += 1
            let combined = MarketPayloads.combined(stream: recorded.stream, data: rendered)
            #expect(combined == recorded.combined)
        }
        #expect(checked["depth"] ?? 0 > 100)
        #expect(checked["bookTicker"] ?? 0 > 50)
        #expect(checked["aggTrade"] ?? 0 >= 1)
        #expect(checked["kline_1m"] ?? 0 >= 1)
    }

    static func ticker(_ symbol: String, mini: Bool) -> Exchange_V1_MdTicker {
        var t = Exchange_V1_MdTicker()
        t.symbol = symbol
        t.window = "1d"
        t.mini = mini
        t.priceChange = 150_000
        t.priceChangePercent = 25_000_000_000  // 250 %
        t.weightedAvgPrice = 180_000
        t.prevClosePrice = 90_000
        t.lastPrice = 250_000
        t.lastQuantity = 1_000_000_000
        t.bidPrice = 240_000
        t.bidQuantity = 1_000_000_000
        t.askPrice = 260_000
        t.askQuantity = 10_000_000_000
        t.openPrice = 100_000
        t.highPrice = 250_000
        t.lowPrice = 100_000
        t.volume = 1_000_000_000_000
        t.quoteVolume = 1_800_000_000
        t.openTime = 0
        t.closeTime = 86_400_000
        t.firstTradeID = 0
        t.lastTradeID = 18150
        t.tradeCount = 18151
        t.eventTime = 123456789
        return t
    }

    @Test("ticker, mini ticker, avgPrice and trade payloads in Binance's member order")
    func tickerPayloads() {
        #expect(MarketPayloads.ticker(Self.ticker("BNBBTC", mini: false))
            == #"{"e":"24hrTicker","E":123456789,"s":"BNBBTC","p":"0.00150000","P":"250.000","w":"0.00180000","x":"0.00090000","c":"0.00250000","Q":"10.00000000","b":"0.00240000","B":"10.00000000","a":"0.00260000","A":"100.00000000","o":"0.00100000","h":"0.00250000","l":"0.00100000","v":"10000.00000000","q":"18.00000000","O":0,"C":86400000,"F":0,"L":18150,"n":18151}"#)
        #expect(MarketPayloads.miniTicker(Self.ticker("BNBBTC", mini: true))
            == #"{"e":"24hrMiniTicker","E":123456789,"s":"BNBBTC","c":"0.00250000","o":"0.00100000","h":"0.00250000","l":"0.00100000","v":"10000.00000000","q":"18.00000000"}"#)
        #expect(MarketPayloads.miniTickerArray([Self.ticker("A", mini: true), Self.ticker("B", mini: true)]).hasPrefix(#"[{"e":"24hrMiniTicker","E":123456789,"s":"A","#))
        var a = Exchange_V1_MdAvgPrice()
        a.symbol = "BTCUSDT"
        a.minutes = 5
        a.price = 2_577_686_000_000
        a.closeTime = 1693907032213
        #expect(MarketPayloads.avgPrice(a) == #"{"e":"avgPrice","E":1693907032213,"s":"BTCUSDT","i":"5m","w":"25776.86000000","T":1693907032213}"#)
        var t = Exchange_V1_MdTrade()
        t.symbol = "BNBBTC"
        t.tradeID = 12345
        t.price = 100_000
        t.quantity = 10_000_000_000
        t.tradeTime = 1672515782136
        t.eventTime = 1672515782136
        t.buyerIsMaker = true
        #expect(MarketPayloads.trade(t) == #"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.00100000","q":"100.00000000","T":1672515782136,"m":true,"M":true}"#)
        #expect(MarketPayloads.serverShutdown(eventTime: 5) == #"{"e":"serverShutdown","E":5}"#)
    }

    @Test("stream names: every documented form parses to its canonical name, others do not")
    func streamNames() {
        let good: [(String, String)] = [
            ("btcusdt@trade", "btcusdt@trade"), ("BTCUSDT@aggTrade", "btcusdt@aggTrade"),
            ("btcusdt@depth", "btcusdt@depth"), ("btcusdt@depth@100ms", "btcusdt@depth@100ms"),
            ("btcusdt@depth@1000ms", "btcusdt@depth"), ("btcusdt@depth5", "btcusdt@depth5"),
            ("btcusdt@depth10@100ms", "btcusdt@depth10@100ms"), ("btcusdt@depth20", "btcusdt@depth20"),
            ("btcusdt@bookTicker", "btcusdt@bookTicker"), ("btcusdt@miniTicker", "btcusdt@miniTicker"),
            ("btcusdt@ticker", "btcusdt@ticker"), ("btcusdt@avgPrice", "btcusdt@avgPrice"),
            ("!miniTicker@arr", "!miniTicker@arr"),
        ]
        for (name, canonical) in good {
            #expect(MarketStream(name: name)?.name == canonical, "\(name)")
        }
        for interval in MarketStream.klineIntervals {
            #expect(MarketStream(name: "ethbtc@kline_\(interval)") == .kline(symbol: "ETHBTC", interval: interval))
        }
        #expect(MarketStream.klineIntervals.count == 16)
        for bad in ["btcusdt@depth7", "btcusdt@kline_2m", "btcusdt@trade@100ms", "btcusdt", "@trade", "btc-usdt@trade",
                    "btcusdt@bookticker", "btcusdt@depth@10ms", "!ticker@arr", ""] {
            #expect(MarketStream(name: bad) == nil, "\(bad)")
        }
        #expect(MarketStream(name: "btcusdt@trade")?.channels(allSymbols: []) == ["md.trades.BTCUSDT"])
        #expect(MarketStream(name: "btcusdt@depth5")?.channels(allSymbols: []) == ["md.depth.BTCUSDT"])
        #expect(MarketStream(name: "btcusdt@kline_1M")?.channels(allSymbols: []) == ["md.tickers.BTCUSDT"])
        #expect(MarketStream.allMiniTickers.channels(allSymbols: ["A", "B"]) == ["md.tickers.A", "md.tickers.B"])
    }

    @Test("live methods: Binance's id rules and error replies")
    func liveMethods() {
        #expect(StreamControl.parse(#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#)
            == .subscribe(id: "1", streams: [.trade(symbol: "BTCUSDT")]))
        #expect(StreamControl.parse(#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":"abc9"}"#)
            == .unsubscribe(id: "\"abc9\"", streams: [.trade(symbol: "BTCUSDT")]))
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":null}"#) == .list(id: "null"))
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":"0f8e2a4c-5b1d-4c3e-9a7f-2d6b8c1e3f50"}"#)
            == .list(id: #""0f8e2a4c-5b1d-4c3e-9a7f-2d6b8c1e3f50""#))
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":-9223372036854775808}"#) == .list(id: "-9223372036854775808"))
        #expect(StreamControl.parse(#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#) == .setCombined(id: "5", true))
        #expect(StreamControl.parse(#"{"method":"GET_PROPERTY","params":["combined"],"id":2}"#) == .getCombined(id: "2"))

        let idError = StreamControl.error(id: "null", code: 2, msg: "Invalid request: request ID must be an unsigned integer")
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":1.5}"#) == idError)
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":true}"#) == idError)
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS"}"#) == idError)
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":"has space"}"#) == idError)
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":"\#(String(repeating: "a", count: 37))"}"#) == idError)
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":9223372036854775808}"#) == idError)
        #expect(StreamControl.parse(#"{"method":"LIST_SUBSCRIPTIONS","id":"\#(String(repeating: "a", count: 36))"}"#)
            == .list(id: "\"\(String(repeating: "a", count: 36))\""))

        #expect(StreamControl.parse(#"{"method":"SUBSCRIBEX","id":1}"#) == .error(
            id: "1", code: 2,
            msg: "Invalid request: unknown variant `SUBSCRIBEX`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"))
        #expect(StreamControl.parse(#"{"method":"SUBSCRIBE","params":["nope"],"id":1}"#)
            == .error(id: "1", code: 2, msg: "Invalid request: invalid stream"))
        #expect(StreamControl.parse(#"{"method":"SET_PROPERTY","params":["combined","yes"],"id":1}"#)
            == .error(id: "1", code: 1, msg: "Invalid value type: expected Boolean"))
        #expect(StreamControl.parse(#"{"method":"SET_PROPERTY","params":["other",true],"id":1}"#)
            == .error(id: "1", code: 0, msg: "Unknown property"))
        #expect(StreamControl.parse(#"{"method":"SET_PROPERTY","params":[1,true],"id":1}"#)
            == .error(id: "1", code: 2, msg: "Invalid request: property name must be a string"))
        #expect(StreamControl.parse(#"{"method":"SET_PROPERTY","params":["combined",true,1],"id":1}"#)
            == .error(id: "1", code: 2, msg: "Invalid request: too many parameters"))
        #expect(StreamControl.parse(#"{"params":[],"id":7}"#) == .error(id: "7", code: 2, msg: "Invalid request: missing field `method`"))
        if case .error(_, let code, let msg) = StreamControl.parse(#"{"method":"#) {
            #expect(code == 3)
            #expect(msg.hasPrefix("Invalid JSON: "))
        } else {
            Issue.record("malformed JSON is code 3")
        }
        #expect(StreamControl.result("null", id: "1") == #"{"result":null,"id":1}"#)
        #expect(StreamControl.errorReply(code: 2, msg: "Invalid request: invalid stream", id: "\"x\"")
            == #"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":"x"}"#)
        #expect(StreamControl.list([.trade(symbol: "BTCUSDT"), .allMiniTickers]) == #"["btcusdt@trade","!miniTicker@arr"]"#)
    }

    static func diff(_ first: Int64, _ last: Int64, bids: [(Int64, Int64)] = [], asks: [(Int64, Int64)] = [], symbol: String = "BTCUSDT") -> Exchange_V1_MdDepthDiff {
        var d = Exchange_V1_MdDepthDiff()
        d.symbol = symbol
        d.firstUpdateID = first
        d.finalUpdateID = last
        d.eventTime = last * 10
        d.bids = bids.map { DepthDiffWindowTestsLevel.make($0.0, $0.1) }
        d.asks = asks.map { DepthDiffWindowTestsLevel.make($0.0, $0.1) }
        return d
    }

    @Test("a depth window merges continuous diffs (latest quantity per price) and splits at a gap")
    func depthWindow() {
        var w = DepthDiffWindow(symbol: "BTCUSDT")
        #expect(w.flush() == nil)
        #expect(w.add(Self.diff(10, 12, bids: [(100, 1), (99, 2)])) == nil)
        #expect(w.add(Self.diff(13, 15, bids: [(100, 0)], asks: [(101, 5)])) == nil)
        let merged = w.flush()
        #expect(merged?.firstUpdateID == 10)
        #expect(merged?.finalUpdateID == 15)
        #expect(merged?.payload == #"{"e":"depthUpdate","E":150,"s":"BTCUSDT","U":10,"u":15,"b":[["0.00000100","0.00000000"],["0.00000099","0.00000002"]],"a":[["0.00000101","0.00000005"]]}"#)
        #expect(w.isEmpty)
        _ = w.add(Self.diff(16, 16, bids: [(1, 1)]))
        let closed = w.add(Self.diff(20, 21, bids: [(2, 1)]))
        #expect(closed?.firstUpdateID == 16)
        #expect(closed?.finalUpdateID == 16)
        #expect(w.flush()?.firstUpdateID == 20)
    }

    @Test("the partial-depth book follows Binance's procedure: buffered diffs, stale ones dropped, a gap drops the book")
    func partialBook() {
        var book = PartialDepthBook(symbol: "BTCUSDT")
        #expect(book.isWaiting)
        // Diffs before the snapshot are kept and applied past it.
        #expect(book.apply(Self.diff(5, 6, bids: [(100, 9)])) == .none)
        #expect(book.apply(Self.diff(7, 8, asks: [(105, 1)])) == .none)
        #expect(book.load(lastUpdateID: 6, bids: [DepthDiffWindowTestsLevel.make(100, 3)], asks: [DepthDiffWindowTestsLevel.make(104, 2)]) == .none)
        #expect(book.lastUpdateID == 8)
        let top = book.top(5)
        #expect(top?.bids.map(\.price) == [100])
        #expect(top?.bids.map(\.quantity) == [3])
        #expect(top?.asks.map(\.price) == [104, 105])
        #expect(MarketPayloads.partialDepth(lastUpdateID: 8, bids: top!.bids, asks: top!.asks)
            == #"{"lastUpdateId":8,"bids":[["0.00000100","0.00000003"]],"asks":[["0.00000104","0.00000002"],["0.00000105","0.00000001"]]}"#)
        #expect(book.apply(Self.diff(3, 8)) == .none)
        #expect(book.apply(Self.diff(11, 12)) == .needSnapshot)
        #expect(book.isWaiting)
        #expect(book.load(lastUpdateID: 10, bids: [], asks: []) == .none)
        #expect(book.lastUpdateID == 12)
    }

    @Test("user events: executionReport, outboundAccountPosition and balanceUpdate in Binance's shapes")
    func userPayloads() {
        var u = Exchange_V1_OrderUpdate()
        u.userID = 7
        u.symbol = "ETHBTC"
        u.orderID = 4293153
        u.clientOrderID = "mUvoqJxFIILMdfAW5iGSOW"
        u.side = .buy
        u.type = .limit
        u.timeInForce = .gtc
        u.quantity = 100_000_000
        u.price = 10_000_000
        u.executionType = .new
        u.status = .new
        u.rejectReason = "NONE"
        u.transactionTime = 1499405658657
        u.tradeID = -1
        u.isWorking = true
        u.workingTime = 1499405658657
        u.orderCreationTime = 1499405658657
        u.selfTradePreventionMode = .none
        var env = Exchange_V1_Envelope()
        env.emittedAtMs = 1499405658658
        env.orderUpdate = u
        #expect(UserPayloads.events(env) == [
            #"{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10000000","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"NEW","X":"NEW","r":"NONE","i":4293153,"l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0.00000000","N":null,"T":1499405658657,"t":-1,"I":0,"w":true,"m":false,"M":false,"O":1499405658657,"Z":"0.00000000","Y":"0.00000000","Q":"0.00000000","W":1499405658657,"V":"NONE"}"#,
        ])
        var change = Exchange_V1_BalanceChange()
        change.userID = 7
        change.reason = .deposit
        change.time = 1564034571073
        var b = Exchange_V1_AssetBalance()
        b.asset = "BTC"
        b.free = 150_000_000
        change.balances = [b]
        var d = Exchange_V1_AssetDelta()
        d.asset = "BTC"
        d.freeDelta = 50_000_000
        change.deltas = [d]
        var env2 = Exchange_V1_Envelope()
        env2.emittedAtMs = 1564034571105
        env2.balanceChange = change
        #expect(UserPayloads.events(env2) == [
            #"{"e":"balanceUpdate","E":1564034571105,"a":"BTC","d":"0.50000000","T":1564034571073}"#,
            #"{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"BTC","f":"1.50000000","l":"0.00000000"}]}"#,
        ])
        change.reason = .trade
        env2.balanceChange = change
        #expect(UserPayloads.events(env2).count == 1)
        #expect(UserPayloads.wrapped(subscriptionID: 0, event: "{}") == #"{"subscriptionId":0,"event":{}}"#)
        #expect(UserPayloads.listenKeyExpired(listenKey: "k", eventTime: 5) == #"{"e":"listenKeyExpired","E":5,"listenKey":"k"}"#)
    }

    @Test("WebSocket API requests: ids, params, the sorted signature payload, Binance's envelope")
    func wsapiRequests() throws {
        let r = try WSAPIRequest.parse(#"{"id":"x1","method":"session.logon","params":{"timestamp":1700000000000,"signature":"ab+c=","apiKey":"KEY"}}"#).get()
        #expect(r.id == "\"x1\"")
        #expect(r.method == "session.logon")
        #expect(r.param("timestamp") == "1700000000000")
        #expect(r.signedQuery == "apiKey=KEY&timestamp=1700000000000&signature=ab+c=")
        let bad = WSAPIRequest.parse(#"{"id":3,"method":"ping","params":[1]}"#)
        if case .failure(let f) = bad { #expect(f.id == "3"); #expect(f.error.code == -1135) } else { Issue.record("params must be an object") }
        #expect(WSAPIResponse.result(id: "1", json: "{}", weight: .init(limit: 6000, count: 1))
            == #"{"id":1,"status":200,"result":{},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":1}]}"#)
        #expect(WSAPIResponse.session(apiKey: nil, authorizedSince: nil, connectedSince: 1, userDataStream: false, serverTime: 2)
            == #"{"apiKey":null,"authorizedSince":null,"connectedSince":1,"returnRateLimits":true,"serverTime":2,"userDataStream":false}"#)
    }

    @Test("limits: 5 messages per second per connection, 300 connections per 5 minutes per IP")
    func limits() {
        var m = MessageRateLimiter(limit: 5)
        #expect((0..<5).allSatisfy { _ in m.admit(nowMs: 1000) })
        let over = m.admit(nowMs: 1500)
        #expect(!over)
        let nextSecond = m.admit(nowMs: 2000)
        #expect(nextSecond)
        var c = ConnectionRateLimiter(limit: 300, windowMs: 300_000)
        #expect((0..<300).allSatisfy { c.admit(ip: "1.2.3.4", nowMs: Int64($0)) })
        let overIP = c.admit(ip: "1.2.3.4", nowMs: 1000)
        #expect(!overIP)
        let otherIP = c.admit(ip: "5.6.7.8", nowMs: 1000)
        #expect(otherIP)
        let later = c.admit(ip: "1.2.3.4", nowMs: 300_001)
        #expect(later)
    }
}

enum DepthDiffWindowTestsLevel {
    static func make(_ price: Int64, _ quantity: Int64) -> Exchange_V1_PriceLevel {
        var l = Exchange_V1_PriceLevel()
        l.price = price
        l.quantity = quantity
        return l
    }
}
