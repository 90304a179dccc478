import ExchangeProtocol

/// A symbol's filters parsed once into fixed-point values, and the checks Binance runs on a new
/// order. Every failure is -1013 "Filter failure: NAME".
public struct SymbolRules: Sendable {
    public struct PriceFilter: Sendable { var min, max, tick: Fixed8 }
    public struct PercentPrice: Sendable { var up, down: Fixed8 }
    public struct PercentPriceBySide: Sendable { var bidUp, bidDown, askUp, askDown: Fixed8 }
    public struct Lot: Sendable { var min, max, step: Fixed8 }
    public struct MinNotional: Sendable { var min: Fixed8; var applyToMarket: Bool }
    public struct Notional: Sendable { var min: Fixed8; var applyMin: Bool; var max: Fixed8; var applyMax: Bool }

    public let config: SymbolConfig
    public var priceFilter: PriceFilter?
    public var percentPrice: PercentPrice?
    public var percentPriceBySide: PercentPriceBySide?
    public var lotSize: Lot?
    public var marketLotSize: Lot?
    public var minNotional: MinNotional?
    public var notional: Notional?
    public var icebergParts: Int?
    public var maxNumOrders: Int?
    public var maxNumAlgoOrders: Int?
    public var maxNumIcebergOrders: Int?

    /// Parses the filters; a filter whose numbers do not parse is a configuration error.
    public init(_ config: SymbolConfig) throws {
        self.config = config
        func d(_ text: String?, _ what: String) throws -> Fixed8 {
            guard let text else { return .zero }
            guard let value = Fixed8(text) else { throw RouterFault("\(config.symbol): \(what) \"\(text)\" is not a decimal") }
            return value
        }
        for f in config.info.filters {
            switch f.filterType {
            case "PRICE_FILTER":
                priceFilter = PriceFilter(min: try d(f.minPrice, "minPrice"), max: try d(f.maxPrice, "maxPrice"), tick: try d(f.tickSize, "tickSize"))
            case "PERCENT_PRICE":
                percentPrice = PercentPrice(up: try d(f.multiplierUp, "multiplierUp"), down: try d(f.multiplierDown, "multiplierDown"))
            case "PERCENT_PRICE_BY_SIDE":
                percentPriceBySide = PercentPriceBySide(
                    bidUp: try d(f.bidMultiplierUp, "bidMultiplierUp"), bidDown: try d(f.bidMultiplierDown, "bidMultiplierDown"),
                    askUp: try d(f.askMultiplierUp, "askMultiplierUp"), askDown: try d(f.askMultiplierDown, "askMultiplierDown"))
            case "LOT_SIZE":
                lotSize = Lot(min: try d(f.minQty, "minQty"), max: try d(f.maxQty, "maxQty"), step: try d(f.stepSize, "stepSize"))
            case "MARKET_LOT_SIZE":
                marketLotSize = Lot(min: try d(f.minQty, "minQty"), max: try d(f.maxQty, "maxQty"), step: try d(f.stepSize, "stepSize"))
            case "MIN_NOTIONAL":
                minNotional = MinNotional(min: try d(f.minNotional, "minNotional"), applyToMarket: f.applyToMarket ?? true)
            case "NOTIONAL":
                notional = Notional(
                    min: try d(f.minNotional, "minNotional"), applyMin: f.applyMinToMarket ?? true,
                    max: try d(f.maxNotional, "maxNotional"), applyMax: f.applyMaxToMarket ?? false)
            case "ICEBERG_PARTS": icebergParts = f.limit
            case "MAX_NUM_ORDERS": maxNumOrders = f.maxNumOrders
            case "MAX_NUM_ALGO_ORDERS": maxNumAlgoOrders = f.maxNumAlgoOrders
            case "MAX_NUM_ICEBERG_ORDERS": maxNumIcebergOrders = f.maxNumIcebergOrders
            default: break  // shown in exchangeInfo; not enforced by the router (TRAILING_DELTA, MAX_POSITION)
            }
        }
    }

    /// The order fields the filters look at.
    public struct Candidate: Sendable {
        public var side: Side
        public var type: OrderType
        public var quantity: Fixed8?
        public var quoteOrderQty: Fixed8?
        public var price: Fixed8?
        public var stopPrice: Fixed8?
        public var icebergQty: Fixed8?

        public init(side: Side, type: OrderType, quantity: Fixed8?, quoteOrderQty: Fixed8? = nil, price: Fixed8? = nil,
                    stopPrice: Fixed8? = nil, icebergQty: Fixed8? = nil) {
            self.side = side
            self.type = type
            self.quantity = quantity
            self.quoteOrderQty = quoteOrderQty
            self.price = price
            self.stopPrice = stopPrice
            self.icebergQty = icebergQty
        }
    }

    /// What the open-order filters count.
    public struct OpenCounts: Sendable {
        public var onSymbol: Int
        public var algoOnSymbol: Int
        public var icebergOnSymbol: Int
        public init(onSymbol: Int, algoOnSymbol: Int, icebergOnSymbol: Int) {
            self.onSymbol = onSymbol
            self.algoOnSymbol = algoOnSymbol
            self.icebergOnSymbol = icebergOnSymbol
        }
    }

    /// The first failing filter, in Binance's order, or nil. `referencePrice` is the price the
    /// percent filters and market notional use (Binance: the average price over `avgPriceMins`;
    /// here the book's mid or last trade); without one those checks are skipped.
    public func check(_ order: Candidate, referencePrice: Fixed8?, open: OpenCounts? = nil) -> APIError? {
        let isMarket = order.type == .market
        let isAlgo = order.type == .stopLoss || order.type == .stopLossLimit || order.type == .takeProfit || order.type == .takeProfitLimit
        if let f = priceFilter {
            for price in [order.price, order.stopPrice].compactMap({ $0 }) {
                if f.min.raw != 0 && price < f.min { return .filterFailure("PRICE_FILTER") }
                if f.max.raw != 0 && price > f.max { return .filterFailure("PRICE_FILTER") }
                if f.tick.raw != 0 && (price.raw - f.min.raw) % f.tick.raw != 0 { return .filterFailure("PRICE_FILTER") }
            }
        }
        if let reference = referencePrice, let price = order.price, !isMarket {
            if let f = percentPrice {
                if let up = reference.multiplied(by: f.up), price > up { return .filterFailure("PERCENT_PRICE") }
                if let down = reference.multiplied(by: f.down, rounding: .up), price < down { return .filterFailure("PERCENT_PRICE") }
            }
            if let f = percentPriceBySide {
                let (upM, downM) = order.side == .buy ? (f.bidUp, f.bidDown) : (f.askUp, f.askDown)
                if let up = reference.multiplied(by: upM), price > up { return .filterFailure("PERCENT_PRICE_BY_SIDE") }
                if let down = reference.multiplied(by: downM, rounding: .up), price < down { return .filterFailure("PERCENT_PRICE_BY_SIDE") }
            }
        }
        if let quantity = order.quantity {
            if let f = lotSize, !Self.fits(quantity, f) { return .filterFailure("LOT_SIZE") }
            if isMarket, let f = marketLotSize, !Self.fits(quantity, f) { return .filterFailure("MARKET_LOT_SIZE") }
        }
        // Notional: price x quantity; a MARKET order uses the reference price (or its quote amount).
        let notionalValue: Fixed8? = {
            if isMarket {
                if let quote = order.quoteOrderQty { return quote }
                guard let quantity = order.quantity, let reference = referencePrice else { return nil }
                return quantity.multiplied(by: reference)
            }
            guard let quantity = order.quantity, let price = order.price ?? order.stopPrice else { return nil }
            return quantity.multiplied(by: price)
        }()
        if let value = notionalValue {
            if let f = minNotional, !isMarket || f.applyToMarket, value < f.min { return .filterFailure("MIN_NOTIONAL") }
            if let f = notional {
                if !isMarket || f.applyMin, value < f.min { return .filterFailure("NOTIONAL") }
                if !isMarket || f.applyMax, f.max.raw != 0, value > f.max { return .filterFailure("NOTIONAL") }
            }
        }
        if let iceberg = order.icebergQty, iceberg.raw != 0, let quantity = order.quantity {
            if let limit = icebergParts {
                let parts = (quantity.raw + iceberg.raw - 1) / iceberg.raw
                if parts > Int64(limit) { return .filterFailure("ICEBERG_PARTS") }
            }
            if let f = lotSize, !Self.fits(iceberg, f) { return .filterFailure("LOT_SIZE") }
        }
        if let open {
            if let max = maxNumOrders, open.onSymbol >= max { return .filterFailure("MAX_NUM_ORDERS") }
            if isAlgo, let max = maxNumAlgoOrders, open.algoOnSymbol >= max { return .filterFailure("MAX_NUM_ALGO_ORDERS") }
            if let iceberg = order.icebergQty, iceberg.raw != 0, let max = maxNumIcebergOrders, open.icebergOnSymbol >= max {
                return .filterFailure("MAX_NUM_ICEBERG_ORDERS")
            }
        }
        return nil
    }

    static func fits(_ quantity: Fixed8, _ lot: Lot) -> Bool {
        if quantity < lot.min { return false }
        if lot.max.raw != 0 && quantity > lot.max { return false }
        if lot.step.raw != 0 && (quantity.raw - lot.min.raw) % lot.step.raw != 0 { return false }
        return true
    }
}

/// Exchange-wide filters (`exchangeFilters`): EXCHANGE_MAX_NUM_ORDERS and EXCHANGE_MAX_NUM_ALGO_ORDERS.
public struct ExchangeRules: Sendable {
    public var filters: [SymbolFilter]
    public var maxNumOrders: Int?
    public var maxNumAlgoOrders: Int?

    public init(filters: [SymbolFilter]) {
        self.filters = filters
        for f in filters {
            if f.filterType == "EXCHANGE_MAX_NUM_ORDERS" { maxNumOrders = f.maxNumOrders }
            if f.filterType == "EXCHANGE_MAX_NUM_ALGO_ORDERS" { maxNumAlgoOrders = f.maxNumAlgoOrders }
        }
    }

    public func check(openOrders: Int, openAlgoOrders: Int, isAlgo: Bool) -> APIError? {
        if let max = maxNumOrders, openOrders >= max { return .filterFailure("EXCHANGE_MAX_NUM_ORDERS") }
        if isAlgo, let max = maxNumAlgoOrders, openAlgoOrders >= max { return .filterFailure("EXCHANGE_MAX_NUM_ALGO_ORDERS") }
        return nil
    }
}
