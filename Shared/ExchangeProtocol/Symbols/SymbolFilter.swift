/// One entry of a symbol's exchangeInfo `filters` (or of `exchangeFilters`), as Binance sends it.
///
/// Decimal fields keep Binance's strings ("0.01000000", "5") so exchangeInfo is served as it was
/// imported; the order-router parses them into `Fixed8` once at start. Fields are declared in the
/// order Binance prints them, which is the order every filter type uses.
public struct SymbolFilter: Sendable, Codable, Equatable {
    public var filterType: String
    public var minPrice: String?
    public var maxPrice: String?
    public var tickSize: String?
    public var multiplierUp: String?
    public var multiplierDown: String?
    public var bidMultiplierUp: String?
    public var bidMultiplierDown: String?
    public var askMultiplierUp: String?
    public var askMultiplierDown: String?
    public var minQty: String?
    public var maxQty: String?
    public var stepSize: String?
    public var minNotional: String?
    public var applyToMarket: Bool?
    public var applyMinToMarket: Bool?
    public var maxNotional: String?
    public var applyMaxToMarket: Bool?
    public var avgPriceMins: Int?
    public var limit: Int?
    public var maxNumOrders: Int?
    public var maxNumAlgoOrders: Int?
    public var maxNumIcebergOrders: Int?
    public var maxPosition: String?
    public var minTrailingAboveDelta: Int?
    public var maxTrailingAboveDelta: Int?
    public var minTrailingBelowDelta: Int?
    public var maxTrailingBelowDelta: Int?

    public init(filterType: String) { self.filterType = filterType }
}
