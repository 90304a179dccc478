import ExchangeProtocol
import Foundation
import MarketDataCore
import Testing

/// The byte parser against Foundation's JSONSerialization on every recorded frame, and on bad input.
@Suite("binance frame parser")
struct ParserTests {
    static func fixed(_ text: Any?) -> Int64? {
        guard let text = text as? String, let value = Fixed8(text) else { return nil }
        return value.raw
    }

    static func int(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    static func levels(_ value: Any?) -> [PriceQuantity]? {
        guard let array = value as? [[String]] else { return nil }
        return array.map { PriceQuantity(price: fixed($0[0])!, quantity: fixed($0[1])!) }
    }

    @Test func everyRecordedFrameMatchesTheReferenceDecode() throws {
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        var kinds: [BinanceEventKind: Int] = [:]
        for recorded in Fixtures.capture.frames {
            for text in [recorded.combined, recorded.data] {
                let parsed1 = parser.parse(text, into: &frame)
                #expect(parsed1 == nil, "\(text.prefix(80))")
                let object = try #require(try JSONSerialization.jsonObject(with: Data(recorded.data.utf8)) as? [String: Any])
                #expect(frame.symbol.description == object["s"] as? String)
                switch object["e"] as? String {
                case "depthUpdate":
                    #expect(frame.kind == .depthUpdate)
                    #expect(frame.eventTime == Self.int(object["E"]))
                    #expect(frame.firstUpdateID == Self.int(object["U"]))
                    #expect(frame.finalUpdateID == Self.int(object["u"]))
                    #expect(frame.bids == Self.levels(object["b"]))
                    #expect(frame.asks == Self.levels(object["a"]))
                case "aggTrade":
                    #expect(frame.kind == .aggTrade)
                    #expect(frame.tradeID == Self.int(object["a"]))
                    #expect(frame.price == Self.fixed(object["p"]))
                    #expect(frame.quantity == Self.fixed(object["q"]))
                    #expect(frame.firstTradeID == Self.int(object["f"]))
                    #expect(frame.lastTradeID == Self.int(object["l"]))
                    #expect(frame.tradeTime == Self.int(object["T"]))
                    #expect(frame.buyerIsMaker == (object["m"] as? Bool))
                case "kline":
                    #expect(frame.kind == .kline)
                    let k = try #require(object["k"] as? [String: Any])
                    #expect(frame.kline.interval?.rawValue == k["i"] as? String)
                    #expect(frame.kline.openTime == Self.int(k["t"]))
                    #expect(frame.kline.closeTime == Self.int(k["T"]))
                    #expect(frame.kline.firstTradeID == Self.int(k["f"]))
                    #expect(frame.kline.lastTradeID == Self.int(k["L"]))
                    #expect(frame.kline.open == Self.fixed(k["o"]))
                    #expect(frame.kline.high == Self.fixed(k["h"]))
                    #expect(frame.kline.low == Self.fixed(k["l"]))
                    #expect(frame.kline.close == Self.fixed(k["c"]))
                    #expect(frame.kline.volume == Self.fixed(k["v"]))
                    #expect(frame.kline.quoteVolume == Self.fixed(k["q"]))
                    #expect(frame.kline.takerBuyBaseVolume == Self.fixed(k["V"]))
                    #expect(frame.kline.takerBuyQuoteVolume == Self.fixed(k["Q"]))
                    #expect(frame.kline.tradeCount == Self.int(k["n"]))
                    #expect(frame.kline.closed == (k["x"] as? Bool))
                case nil:
                    #expect(frame.kind == .bookTicker)
                    #expect(frame.finalUpdateID == Self.int(object["u"]))
                    #expect(frame.bidPrice == Self.fixed(object["b"]))
                    #expect(frame.bidQuantity == Self.fixed(object["B"]))
                    #expect(frame.askPrice == Self.fixed(object["a"]))
                    #expect(frame.askQuantity == Self.fixed(object["A"]))
                default:
                    Issue.record("unexpected event \(String(describing: object["e"]))")
                }
            }
            kinds[frame.kind, default: 0] += 1
        }
        // Every shape of the capture was seen (so none of the branches above is vacuous).
        #expect(kinds[.depthUpdate] == 177 && kinds[.bookTicker] == 84 && kinds[.aggTrade] == 2 && kinds[.kline] == 2)
    }

    @Test func tradeFramesAndControlReplies() {
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        let trade = #"{"e":"trade","E":123456789,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","b":88,"a":50,"T":123456785,"m":true,"M":true}"#
        let parsed2 = parser.parse(trade, into: &frame)
        #expect(parsed2 == nil)
        #expect(frame.kind == .trade && frame.tradeID == 12345 && frame.buyerOrderID == 88 && frame.sellerOrderID == 50)
        #expect(frame.price == 100_000 && frame.quantity == 10_000_000_000 && frame.buyerIsMaker)
        // "a" before "t" must not leave the seller order id as the trade id.
        let reordered = #"{"e":"trade","a":50,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1,"m":false}"#
        let parsed3 = parser.parse(reordered, into: &frame)
        #expect(parsed3 == nil)
        #expect(frame.tradeID == 12345 && frame.sellerOrderID == 50)
        let parsed4 = parser.parse(#"{"result":null,"id":1}"#, into: &frame)
        #expect(parsed4 == nil)
        #expect(frame.kind == .control)
        let parsed5 = parser.parse(#" { "stream" : "x@y" , "data" : { "e" : "other", "x": [1, {"y": null}, -2.5e3] } } "#, into: &frame)
        #expect(parsed5 == nil)
        #expect(frame.kind == .unknown)
    }

    @Test(arguments: [
        (#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["0.123456789","1"]],"a":[]}"#, FrameParseError.badDecimal),
        (#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["92233720368.54775808","1"]],"a":[]}"#, .badDecimal),
        (#"{"e":"depthUpdate","s":"X","U":1,"u":99999999999999999999,"b":[],"a":[]}"#, .badNumber),
        (#"{"e":"depthUpdate","s":"X","U":1.5,"u":2,"b":[],"a":[]}"#, .badNumber),
        (#"{"e":"depthUpdate","s":"X","U":1,"b":[],"a":[]}"#, .missingField),
        (#"{"e":"depthUpdate","s":"ABCDEFGHIJKLMNOPQRSTUVWXYZ","U":1,"u":2,"b":[],"a":[]}"#, .symbolTooLong),
        (#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["1","2"]],"a":[]}x"#, .syntax),
        (#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[[".5","2"]],"a":[]}"#, .badDecimal),
        (#"{"a":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}"#, .syntax),
        (#"{"x":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}"#, .tooDeep),
    ])
    func malformedFramesAreRefused(text: String, expected: FrameParseError) {
        var frame = BinanceFrame()
        let parsed6 = BinanceFrameParser().parse(text, into: &frame)
        #expect(parsed6 == expected)
    }

    @Test func decimalsBeyondEightPlacesAreAcceptedOnlyWhenZero() {
        var frame = BinanceFrame()
        let parsed7 = BinanceFrameParser().parse(#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["1.1234567800","92233720368.54775807"]],"a":[]}"#, into: &frame)
        #expect(parsed7 == nil)
        #expect(frame.bids == [PriceQuantity(price: 112_345_678, quantity: .max)])
    }

    /// Every proper prefix of every recorded frame is refused, and random corruption never traps.
    @Test func truncatedAndCorruptedFramesNeverCrash() {
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        var generator = SplitMix64(seed: 7)
        var refused = 0
        for recorded in Fixtures.capture.frames.prefix(60) {
            let bytes = Array(recorded.combined.utf8)
            for length in 0..<bytes.count {
                let error = bytes.withUnsafeBufferPointer { parser.parse(UnsafeBufferPointer(rebasing: $0[0..<length]), into: &frame) }
                #expect(error != nil)
                if error != nil { refused += 1 }
            }
            for _ in 0..<200 {
                var corrupted = bytes
                for _ in 0..<3 { corrupted[Int(generator.next() % UInt64(corrupted.count))] = UInt8(truncatingIfNeeded: generator.next()) }
                _ = corrupted.withUnsafeBufferPointer { parser.parse($0, into: &frame) }
            }
        }
        #expect(refused > 1000)
    }

    @Test func restSnapshotBodiesParse() throws {
        for symbol in Fixtures.symbols {
            let body = try #require(Fixtures.capture.depthSnapshotBody(symbol: symbol))
            let snapshot = try DepthSnapshot.parse(body).get()
            let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(snapshot.lastUpdateID == Self.int(object["lastUpdateId"]))
            #expect(snapshot.bids == Self.levels(object["bids"]))
            #expect(snapshot.asks == Self.levels(object["asks"]))
            // Formatting back gives Binance's exact text.
            #expect(snapshot.json() == body)
        }
    }
}
