import Foundation
import ExchangeProtocol

extension OrderRouterAPI {
    // GET /api/v3/ping: `{}`.
    func ping(_ call: inout Call) throws(APIError) -> String {
        try call.finish()
        return "{}"
    }

    // GET /api/v3/time.
    func time(_ call: inout Call) throws(APIError) -> String {
        try call.finish()
        return "{\"serverTime\":\(call.nowMs)}"
    }

    /// The `rateLimits` array exchangeInfo shows.
    func rateLimitsJSON(_ w: inout JSONWriter) {
        let limits = configuration.limits
        w.arrayStart()
        for (type, interval, num, limit) in [
            ("REQUEST_WEIGHT", "MINUTE", 1, limits.requestWeightPerMinute), ("ORDERS", "SECOND", 10, limits.ordersPer10Seconds),
            ("ORDERS", "DAY", 1, limits.ordersPerDay), ("RAW_REQUESTS", "MINUTE", 5, limits.rawRequestsPer5Minutes),
        ] {
            w.objectStart()
            w.field("rateLimitType", type)
            w.field("interval", interval)
            w.field("intervalNum", num)
            w.field("limit", limit)
            w.objectEnd()
        }
        w.arrayEnd()
    }

    // GET /api/v3/exchangeInfo: symbol | symbols | permissions, showPermissionSets, symbolStatus.
    func exchangeInfo(_ call: inout Call) throws(APIError) -> String {
        let symbol = call.parameters.optional("symbol")
        let symbolsParam = call.parameters.optional("symbols")
        let permissionsParam = call.parameters.optional("permissions")
        let showPermissionSets = try call.parameters.boolean("showPermissionSets").value() ?? true
        let symbolStatus = call.parameters.optional("symbolStatus")
        try call.finish()
        if symbol != nil && symbolsParam != nil { throw APIError(code: -1128, msg: "Combination of optional parameters invalid.") }
        var names: [String]
        if let symbol {
            guard symbols[symbol] != nil else { throw .invalidSymbol }
            names = [symbol]
        } else if let symbolsParam {
            guard let list = Self.jsonStringArray(symbolsParam), !list.isEmpty else {
                throw .illegalChars("symbols", pattern: "^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$")
            }
            for name in list where symbols[name] == nil { throw .invalidSymbol }
            names = list
        } else {
            names = symbolOrder
            if let permissionsParam {
                let wanted = Set(Self.jsonStringArray(permissionsParam) ?? [permissionsParam])
                names = names.filter { name in symbols[name]!.config.info.permissionSets.contains { !wanted.isDisjoint(with: $0) } }
            }
        }
        if let symbolStatus { names = names.filter { symbols[$0]!.config.status == symbolStatus } }
        var w = JSONWriter()
        w.objectStart()
        w.field("timezone", "UTC")
        w.field("serverTime", call.nowMs)
        w.key("rateLimits"); rateLimitsJSON(&w)
        w.key("exchangeFilters")
        w.arrayStart()
        for filter in exchangeRules.filters { Self.write(filter, to: &w) }
        w.arrayEnd()
        w.key("symbols")
        w.arrayStart()
        for name in names { Self.write(symbols[name]!.config, showPermissionSets: showPermissionSets, to: &w) }
        w.arrayEnd()
        w.objectEnd()
        return w.text
    }

    static func write(_ c: SymbolConfig, showPermissionSets: Bool, to w: inout JSONWriter) {
        let i = c.info
        w.objectStart()
        w.field("symbol", c.symbol)
        w.field("status", c.status)
        w.field("baseAsset", c.baseAsset)
        w.field("baseAssetPrecision", i.baseAssetPrecision)
        w.field("quoteAsset", c.quoteAsset)
        w.field("quotePrecision", i.quotePrecision)
        w.field("quoteAssetPrecision", i.quoteAssetPrecision)
        w.field("baseCommissionPrecision", i.baseCommissionPrecision)
        w.field("quoteCommissionPrecision", i.quoteCommissionPrecision)
        w.key("orderTypes")
        w.arrayStart()
        for type in i.orderTypes { w.string(type.rawValue) }
        w.arrayEnd()
        w.field("icebergAllowed", i.icebergAllowed)
        w.field("ocoAllowed", i.ocoAllowed)
        w.field("otoAllowed", i.otoAllowed)
        w.field("quoteOrderQtyMarketAllowed", i.quoteOrderQtyMarketAllowed)
        w.field("allowTrailingStop", i.allowTrailingStop)
        w.field("cancelReplaceAllowed", i.cancelReplaceAllowed)
        w.field("amendAllowed", i.amendAllowed)
        w.field("isSpotTradingAllowed", i.isSpotTradingAllowed)
        w.field("isMarginTradingAllowed", i.isMarginTradingAllowed)
        w.key("filters")
        w.arrayStart()
        for filter in i.filters { write(filter, to: &w) }
        w.arrayEnd()
        // Binance now sends `permissions` empty and the real ones in `permissionSets`.
        w.key("permissions"); w.arrayStart(); w.arrayEnd()
        w.key("permissionSets")
        w.arrayStart()
        if showPermissionSets {
            for set in i.permissionSets {
                w.arrayStart()
                for p in set { w.string(p) }
                w.arrayEnd()
            }
        }
        w.arrayEnd()
        w.field("defaultSelfTradePreventionMode", c.defaultSelfTradePreventionMode.rawValue)
        w.key("allowedSelfTradePreventionModes")
        w.arrayStart()
        for mode in c.allowedSelfTradePreventionModes { w.string(mode.rawValue) }
        w.arrayEnd()
        w.objectEnd()
    }

    static func write(_ f: SymbolFilter, to w: inout JSONWriter) {
        w.objectStart()
        w.field("filterType", f.filterType)
        func s(_ name: String, _ value: String?) { if let value { w.field(name, value) } }
        func n(_ name: String, _ value: Int?) { if let value { w.field(name, value) } }
        func b(_ name: String, _ value: Bool?) { if let value { w.field(name, value) } }
        s("minPrice", f.minPrice); s("maxPrice", f.maxPrice); s("tickSize", f.tickSize)
        s("multiplierUp", f.multiplierUp); s("multiplierDown", f.multiplierDown)
        s("bidMultiplierUp", f.bidMultiplierUp); s("bidMultiplierDown", f.bidMultiplierDown)
        s("askMultiplierUp", f.askMultiplierUp); s("askMultiplierDown", f.askMultiplierDown)
        s("minQty", f.minQty); s("maxQty", f.maxQty); s("stepSize", f.stepSize)
        s("minNotional", f.minNotional); b("applyToMarket", f.applyToMarket); b("applyMinToMarket", f.applyMinToMarket)
        s("maxNotional", f.maxNotional); b("applyMaxToMarket", f.applyMaxToMarket); n("avgPriceMins", f.avgPriceMins)
        n("limit", f.limit); n("maxNumOrders", f.maxNumOrders); n("maxNumAlgoOrders", f.maxNumAlgoOrders)
        n("maxNumIcebergOrders", f.maxNumIcebergOrders); s("maxPosition", f.maxPosition)
        n("minTrailingAboveDelta", f.minTrailingAboveDelta); n("maxTrailingAboveDelta", f.maxTrailingAboveDelta)
        n("minTrailingBelowDelta", f.minTrailingBelowDelta); n("maxTrailingBelowDelta", f.maxTrailingBelowDelta)
        w.objectEnd()
    }

    /// `["BTCUSDT","BNBBTC"]` → names; nil unless it is exactly a JSON array of plain strings.
    static func jsonStringArray(_ text: String) -> [String]? {
        guard text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        let inner = text.dropFirst().dropLast()
        if inner.isEmpty { return [] }
        var out: [String] = []
        for item in inner.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard trimmed.count >= 3, trimmed.hasPrefix("\""), trimmed.hasSuffix("\"") else { return nil }
            let name = String(trimmed.dropFirst().dropLast())
            guard name.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || $0 == 45 || $0 == 95 || $0 == 46 }) else { return nil }
            out.append(name)
        }
        return out
    }

    // GET /api/v3/depth: symbol, limit (default 100, at most 5000), from matching's `depth:<SYMBOL>` snapshot
    // (internal books) or the ingestion workers' `mdDepth:<SYMBOL>` (venue binance).
    func depth(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        var limit = 100
        if let text = call.parameters.optional("limit") {
            guard let value = Int(text), value > 0 else { throw APIError.illegalChars("limit", pattern: "^[0-9]{1,20}$") }
            limit = min(value, 5000)
        }
        try call.finish()
        let lastUpdateID: Int64
        let sides: [(String, [Exchange_V1_PriceLevel])]
        if rules.config.venue == .binance {
            // Upstream depth kept by the ingestion workers (best first, u of the last applied diff).
            let snapshot = try await market.upstreamDepth(symbol: rules.config.symbol)
            lastUpdateID = snapshot?.lastUpdateID ?? 0
            sides = [("bids", snapshot?.bids ?? []), ("asks", snapshot?.asks ?? [])]
        } else {
            let snapshot = try await store.depth(symbol: rules.config.symbol)
            lastUpdateID = snapshot?.lastUpdateID ?? 0
            sides = [("bids", snapshot?.bids ?? []), ("asks", snapshot?.asks ?? [])]
        }
        var w = JSONWriter()
        w.objectStart()
        w.field("lastUpdateId", lastUpdateID)
        for (name, levels) in sides {
            w.key(name)
            w.arrayStart()
            for level in levels.prefix(limit) {
                w.arrayStart()
                w.decimal(Fixed8(raw: level.price))
                w.decimal(Fixed8(raw: level.quantity))
                w.arrayEnd()
            }
            w.arrayEnd()
        }
        w.objectEnd()
        return w.text
    }

    /// The price the percent-price filters and market notional compare with: the snapshot's mid
    /// (or its one side), nil when the book is empty or there is no snapshot. (Binance uses the
    /// average trade price over `avgPriceMins`; the router has no trade history yet.)
    static func referencePrice(of snapshot: Exchange_V1_BookDelta) -> Fixed8? {
        switch (snapshot.bids.first?.price, snapshot.asks.first?.price) {
        case (let bid?, let ask?): return Fixed8(raw: bid / 2 + ask / 2 + (bid % 2 + ask % 2) / 2)
        case (let bid?, nil): return Fixed8(raw: bid)
        case (nil, let ask?): return Fixed8(raw: ask)
        default: return nil
        }
    }
}
