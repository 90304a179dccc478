import ExchangeProtocol
import Foundation
import Testing

@testable import OrderRouterCore

/// Every filter, each failing with Binance's "Filter failure: NAME".
@Suite struct FilterTests {
    static func filter(_ type: String, _ configure: (inout SymbolFilter) -> Void) -> SymbolFilter {
        var f = SymbolFilter(filterType: type)
        configure(&f)
        return f
    }

    /// BTCUSDT's filters as Binance published them in 2021, plus the newer NOTIONAL,
    /// PERCENT_PRICE_BY_SIDE and MAX_NUM_ICEBERG_ORDERS.
    static let rules: SymbolRules = {
        let filters = [
            filter("PRICE_FILTER") { $0.minPrice = "0.01000000"; $0.maxPrice = "1000000.00000000"; $0.tickSize = "0.01000000" },
            filter("PERCENT_PRICE") { $0.multiplierUp = "5"; $0.multiplierDown = "0.2"; $0.avgPriceMins = 5 },
            filter("PERCENT_PRICE_BY_SIDE") {
                $0.bidMultiplierUp = "1.2"; $0.bidMultiplierDown = "0.2"; $0.askMultiplierUp = "5"; $0.askMultiplierDown = "0.8"; $0.avgPriceMins = 5
            },
            filter("LOT_SIZE") { $0.minQty = "0.00001000"; $0.maxQty = "9000.00000000"; $0.stepSize = "0.00001000" },
            filter("MIN_NOTIONAL") { $0.minNotional = "10.00000000"; $0.applyToMarket = true; $0.avgPriceMins = 5 },
            filter("NOTIONAL") { $0.minNotional = "5.00000000"; $0.applyMinToMarket = true; $0.maxNotional = "9000000.00000000"; $0.applyMaxToMarket = false; $0.avgPriceMins = 5 },
            filter("ICEBERG_PARTS") { $0.limit = 10 },
            filter("MARKET_LOT_SIZE") { $0.minQty = "0.00000000"; $0.maxQty = "100.05381873"; $0.stepSize = "0.00000000" },
            filter("MAX_NUM_ORDERS") { $0.maxNumOrders = 200 },
            filter("MAX_NUM_ALGO_ORDERS") { $0.maxNumAlgoOrders = 5 },
            filter("MAX_NUM_ICEBERG_ORDERS") { $0.maxNumIcebergOrders = 2 },
        ]
        let config = SymbolConfig(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", info: SymbolExchangeInfo(filters: filters))
        return try! SymbolRules(config)
    }()

    static func d(_ text: String) -> Fixed8 { Fixed8(text)! }

    static func limit(_ side: Side = .buy, qty: String, price: String, iceberg: String? = nil) -> SymbolRules.Candidate {
        SymbolRules.Candidate(side: side, type: .limit, quantity: d(qty), price: d(price), icebergQty: iceberg.map(d))
    }

    static let none = SymbolRules.OpenCounts(onSymbol: 0, algoOnSymbol: 0, icebergOnSymbol: 0)

    @Test func passes() {
        #expect(Self.rules.check(Self.limit(qty: "0.001", price: "50000.01"), referencePrice: Self.d("50000"), open: Self.none) == nil)
    }

    @Test(arguments: [
        ("0.001", "0.001", "PRICE_FILTER"),         // below minPrice
        ("0.001", "2000000", "PRICE_FILTER"),       // above maxPrice
        ("0.001", "50000.015", "PRICE_FILTER"),     // off tick
        ("0.000001", "50000", "LOT_SIZE"),          // below minQty
        ("9001", "50000", "LOT_SIZE"),              // above maxQty
        ("0.000015", "50000", "LOT_SIZE"),          // off step
        ("0.0001", "50000", "MIN_NOTIONAL"),        // 5 USDT < 10
    ])
    func limitOrderFailures(qty: String, price: String, expected: String) {
        #expect(Self.rules.check(Self.limit(qty: qty, price: price), referencePrice: nil, open: Self.none) == .filterFailure(expected))
    }

    @Test func percentPriceNeedsAReference() {
        let far = Self.limit(qty: "0.001", price: "300000")
        #expect(Self.rules.check(far, referencePrice: nil, open: Self.none) == nil)
        #expect(Self.rules.check(far, referencePrice: Self.d("50000"), open: Self.none) == .filterFailure("PERCENT_PRICE"))
        // Within PERCENT_PRICE (x5) but above the bid side's x1.2.
        #expect(Self.rules.check(Self.limit(qty: "0.001", price: "70000"), referencePrice: Self.d("50000"), open: Self.none)
            == .filterFailure("PERCENT_PRICE_BY_SIDE"))
        // A sell at 0.75x the reference is under askMultiplierDown 0.8.
        #expect(Self.rules.check(Self.limit(.sell, qty: "0.001", price: "37500"), referencePrice: Self.d("50000"), open: Self.none)
            == .filterFailure("PERCENT_PRICE_BY_SIDE"))
    }

    @Test func marketOrders() {
        let big = SymbolRules.Candidate(side: .buy, type: .market, quantity: Self.d("200"))
        #expect(Self.rules.check(big, referencePrice: nil, open: Self.none) == .filterFailure("MARKET_LOT_SIZE"))
        let small = SymbolRules.Candidate(side: .buy, type: .market, quantity: Self.d("0.0001"))
        #expect(Self.rules.check(small, referencePrice: nil, open: Self.none) == nil)  // no price to judge the notional
        #expect(Self.rules.check(small, referencePrice: Self.d("50000"), open: Self.none) == .filterFailure("MIN_NOTIONAL"))
        let quote = SymbolRules.Candidate(side: .buy, type: .market, quantity: nil, quoteOrderQty: Self.d("9"))
        #expect(Self.rules.check(quote, referencePrice: nil, open: Self.none) == .filterFailure("MIN_NOTIONAL"))
    }

    @Test func notionalMaxAndIceberg() throws {
        var config = Self.rules.config
        config.info.filters.removeAll { $0.filterType == "MIN_NOTIONAL" }
        let rules = try SymbolRules(config)
        #expect(rules.check(Self.limit(qty: "0.00005", price: "50000"), referencePrice: nil, open: Self.none) == .filterFailure("NOTIONAL"))
        #expect(rules.check(Self.limit(qty: "200", price: "50000"), referencePrice: nil, open: Self.none) == .filterFailure("NOTIONAL"))
        #expect(rules.check(Self.limit(qty: "1", price: "50000", iceberg: "0.09"), referencePrice: nil, open: Self.none)
            == .filterFailure("ICEBERG_PARTS"))
        #expect(rules.check(Self.limit(qty: "1", price: "50000", iceberg: "0.1"), referencePrice: nil, open: Self.none) == nil)
    }

    @Test func openOrderCounts() {
        let order = Self.limit(qty: "0.001", price: "50000")
        #expect(Self.rules.check(order, referencePrice: nil, open: .init(onSymbol: 200, algoOnSymbol: 0, icebergOnSymbol: 0))
            == .filterFailure("MAX_NUM_ORDERS"))
        let stop = SymbolRules.Candidate(side: .sell, type: .stopLossLimit, quantity: Self.d("0.001"), price: Self.d("50000"), stopPrice: Self.d("50000"))
        #expect(Self.rules.check(stop, referencePrice: nil, open: .init(onSymbol: 5, algoOnSymbol: 5, icebergOnSymbol: 0))
            == .filterFailure("MAX_NUM_ALGO_ORDERS"))
        #expect(Self.rules.check(Self.limit(qty: "1", price: "50000", iceberg: "0.5"), referencePrice: nil,
                                 open: .init(onSymbol: 2, algoOnSymbol: 0, icebergOnSymbol: 2)) == .filterFailure("MAX_NUM_ICEBERG_ORDERS"))
        var max = SymbolFilter(filterType: "EXCHANGE_MAX_NUM_ORDERS")
        max.maxNumOrders = 1000
        #expect(ExchangeRules(filters: [max]).check(openOrders: 1000, openAlgoOrders: 0, isAlgo: false) == .filterFailure("EXCHANGE_MAX_NUM_ORDERS"))
        #expect(ExchangeRules(filters: [max]).check(openOrders: 999, openAlgoOrders: 0, isAlgo: false) == nil)
    }

    @Test func errorBodyIsBinancesBytes() {
        #expect(APIError.filterFailure("LOT_SIZE").body == #"{"code":-1013,"msg":"Filter failure: LOT_SIZE"}"#)
        #expect(APIError.invalidSignature.body == #"{"code":-1022,"msg":"Signature for this request is not valid."}"#)
    }
}

/// `exchange admin symbols import` on a real exchangeInfo capture's shape.
@Suite struct SymbolImportTests {
    static let capture = """
    https://api.binance.com/api/v3/exchangeInfo -> 1633998511.132921: {"timezone":"UTC","serverTime":1633998511098,"rateLimits":[],"exchangeFilters":[{"filterType":"EXCHANGE_MAX_NUM_ORDERS","maxNumOrders":1000}],"symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC","quotePrecision":8,"quoteAssetPrecision":8,"baseCommissionPrecision":8,"quoteCommissionPrecision":8,"orderTypes":["LIMIT","LIMIT_MAKER","MARKET","STOP_LOSS_LIMIT","TAKE_PROFIT_LIMIT"],"icebergAllowed":true,"ocoAllowed":true,"quoteOrderQtyMarketAllowed":true,"isSpotTradingAllowed":true,"isMarginTradingAllowed":true,"filters":[{"filterType":"PRICE_FILTER","minPrice":"0.00000100","maxPrice":"922327.00000000","tickSize":"0.00000100"},{"filterType":"PERCENT_PRICE","multiplierUp":"5","multiplierDown":"0.2","avgPriceMins":5},{"filterType":"LOT_SIZE","minQty":"0.00010000","maxQty":"100000.00000000","stepSize":"0.00010000"},{"filterType":"MIN_NOTIONAL","minNotional":"0.00010000","applyToMarket":true,"avgPriceMins":5},{"filterType":"ICEBERG_PARTS","limit":10},{"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"873.90727776","stepSize":"0.00000000"},{"filterType":"MAX_NUM_ORDERS","maxNumOrders":200},{"filterType":"MAX_NUM_ALGO_ORDERS","maxNumAlgoOrders":5}],"permissions":["SPOT","MARGIN"]},{"symbol":"LTCBTC","status":"TRADING","baseAsset":"LTC","quoteAsset":"BTC","filters":[]}]}
    configuration: {"trades":["NKN-USDT"]}
    """

    @Test func importsEveryFieldKeepsOthersAndServesThemBack() throws {
        let existing = #"{"symbols":[{"symbol":"NKNUSDT","baseAsset":"NKN","quoteAsset":"USDT","venue":"binance","defaultSelfTradePreventionMode":"EXPIRE_TAKER"}]}"#
        let result = try SymbolImport.merge(exchangeInfo: Data(Self.capture.utf8), only: ["ETHBTC"], venue: .internal, existing: Data(existing.utf8))
        #expect(result.imported == ["ETHBTC"] && result.total == 2)
        let catalog = try SymbolCatalog(json: result.json)
        #expect(catalog["NKNUSDT"]?.venue == .binance && catalog["NKNUSDT"]?.defaultSelfTradePreventionMode == .expireTaker)
        let eth = try #require(catalog["ETHBTC"])
        #expect(eth.venue == .internal && eth.info.filters.count == 8 && eth.info.permissionSets == [["SPOT", "MARGIN"]])
        #expect(eth.info.orderTypes == [.limit, .limitMaker, .market, .stopLossLimit, .takeProfitLimit])
        #expect(try ExchangeFiltersFile.parse(result.json).first?.maxNumOrders == 1000)
        // The filters come back in exchangeInfo exactly as imported.
        var w = JSONWriter()
        OrderRouterAPI.write(eth.info.filters[1], to: &w)
        OrderRouterAPI.write(eth.info.filters[3], to: &w)
        #expect(w.text == #"{"filterType":"PERCENT_PRICE","multiplierUp":"5","multiplierDown":"0.2","avgPriceMins":5},{"filterType":"MIN_NOTIONAL","minNotional":"0.00010000","applyToMarket":true,"avgPriceMins":5}"#)
        let rules = try SymbolRules(eth)
        #expect(rules.check(.init(side: .buy, type: .limit, quantity: Fixed8("0.00015")!, price: Fixed8("0.05")!), referencePrice: nil) == .filterFailure("LOT_SIZE"))
        #expect(throws: SymbolCatalog.CatalogError.self) {
            try SymbolImport.merge(exchangeInfo: Data(Self.capture.utf8), only: ["NOPE"], venue: .internal, existing: nil)
        }
    }

    @Test func theShippedCatalogueLoads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/symbols.json")
        let data = try Data(contentsOf: url)
        let catalog = try SymbolCatalog(json: data)
        for config in catalog.symbols.values { _ = try SymbolRules(config) }
        #expect(catalog["BTCUSDT"]?.info.filters.contains { $0.filterType == "LOT_SIZE" } == true)
    }
}

@Suite struct ResponseTextTests {
    @Test func jsonStringsAreEscapedOnlyWhereNeeded() {
        var w = JSONWriter()
        w.objectStart()
        w.field("plain", "BTCUSDT-0.00100000")
        w.field("quote\"back\\slash", "a\"b\\c\nd\re\tf\u{01}g")
        w.field("unicode", "é€𝄞")
        w.objectEnd()
        #expect(w.text == #"{"plain":"BTCUSDT-0.00100000","quote\"back\\slash":"a\"b\\c\nd\re\tf\u0001g","unicode":"é€𝄞"}"#)
    }

    @Test func generatedClientOrderIDsAreBinanceShapedAndUseEveryLetter() {
        var seen = Set<Character>()
        var ids = Set<String>()
        for _ in 0..<2_000 {
            let id = OrderRouterAPI.generatedClientOrderID()
            #expect(id.utf8.count == 22)
            #expect(id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            #expect(OrderRouterAPI.isValidClientOrderID(id))
            seen.formUnion(id)
            ids.insert(id)
        }
        // 44,000 letters drawn uniformly from 62: each appears (a missing one has odds near e^-700).
        #expect(seen.count == 62)
        #expect(ids.count == 2_000)
    }
}
