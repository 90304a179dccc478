/// The exchangeInfo fields of a symbol beyond those `SymbolConfig` names itself. Absent fields
/// take the values Binance sends for an ordinary spot pair today, so a short catalogue entry still
/// serves a complete exchangeInfo.
public struct SymbolExchangeInfo: Sendable, Codable, Equatable {
    public var baseAssetPrecision: Int
    public var quotePrecision: Int
    public var quoteAssetPrecision: Int
    public var baseCommissionPrecision: Int
    public var quoteCommissionPrecision: Int
    public var orderTypes: [OrderType]
    public var icebergAllowed: Bool
    public var ocoAllowed: Bool
    public var otoAllowed: Bool
    public var quoteOrderQtyMarketAllowed: Bool
    public var allowTrailingStop: Bool
    public var cancelReplaceAllowed: Bool
    public var amendAllowed: Bool
    public var isSpotTradingAllowed: Bool
    public var isMarginTradingAllowed: Bool
    public var filters: [SymbolFilter]
    public var permissions: [String]
    public var permissionSets: [[String]]

    public init(
        baseAssetPrecision: Int = 8, quotePrecision: Int = 8, quoteAssetPrecision: Int = 8,
        baseCommissionPrecision: Int = 8, quoteCommissionPrecision: Int = 8,
        orderTypes: [OrderType] = [.limit, .limitMaker, .market, .stopLoss, .stopLossLimit, .takeProfit, .takeProfitLimit],
        icebergAllowed: Bool = true, ocoAllowed: Bool = false, otoAllowed: Bool = false,
        quoteOrderQtyMarketAllowed: Bool = true, allowTrailingStop: Bool = false, cancelReplaceAllowed: Bool = true,
        amendAllowed: Bool = true, isSpotTradingAllowed: Bool = true, isMarginTradingAllowed: Bool = false,
        filters: [SymbolFilter] = [], permissions: [String] = [], permissionSets: [[String]] = [["SPOT"]]
    ) {
        self.baseAssetPrecision = baseAssetPrecision
        self.quotePrecision = quotePrecision
        self.quoteAssetPrecision = quoteAssetPrecision
        self.baseCommissionPrecision = baseCommissionPrecision
        self.quoteCommissionPrecision = quoteCommissionPrecision
        self.orderTypes = orderTypes
        self.icebergAllowed = icebergAllowed
        self.ocoAllowed = ocoAllowed
        self.otoAllowed = otoAllowed
        self.quoteOrderQtyMarketAllowed = quoteOrderQtyMarketAllowed
        self.allowTrailingStop = allowTrailingStop
        self.cancelReplaceAllowed = cancelReplaceAllowed
        self.amendAllowed = amendAllowed
        self.isSpotTradingAllowed = isSpotTradingAllowed
        self.isMarginTradingAllowed = isMarginTradingAllowed
        self.filters = filters
        self.permissions = permissions
        self.permissionSets = permissionSets
    }

    enum CodingKeys: String, CodingKey {
        case baseAssetPrecision, quotePrecision, quoteAssetPrecision, baseCommissionPrecision, quoteCommissionPrecision
        case orderTypes, icebergAllowed, ocoAllowed, otoAllowed, quoteOrderQtyMarketAllowed, allowTrailingStop
        case cancelReplaceAllowed, amendAllowed, isSpotTradingAllowed, isMarginTradingAllowed, filters, permissions, permissionSets
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SymbolExchangeInfo()
        // Order types this version does not know (OCO-only ones) are dropped rather than refused.
        let types = try c.decodeIfPresent([String].self, forKey: .orderTypes).map { $0.compactMap(OrderType.init(rawValue:)) }
        let permissions = try c.decodeIfPresent([String].self, forKey: .permissions) ?? d.permissions
        self.init(
            baseAssetPrecision: try c.decodeIfPresent(Int.self, forKey: .baseAssetPrecision) ?? d.baseAssetPrecision,
            quotePrecision: try c.decodeIfPresent(Int.self, forKey: .quotePrecision) ?? d.quotePrecision,
            quoteAssetPrecision: try c.decodeIfPresent(Int.self, forKey: .quoteAssetPrecision) ?? d.quoteAssetPrecision,
            baseCommissionPrecision: try c.decodeIfPresent(Int.self, forKey: .baseCommissionPrecision) ?? d.baseCommissionPrecision,
            quoteCommissionPrecision: try c.decodeIfPresent(Int.self, forKey: .quoteCommissionPrecision) ?? d.quoteCommissionPrecision,
            orderTypes: types ?? d.orderTypes,
            icebergAllowed: try c.decodeIfPresent(Bool.self, forKey: .icebergAllowed) ?? d.icebergAllowed,
            ocoAllowed: try c.decodeIfPresent(Bool.self, forKey: .ocoAllowed) ?? d.ocoAllowed,
            otoAllowed: try c.decodeIfPresent(Bool.self, forKey: .otoAllowed) ?? d.otoAllowed,
            quoteOrderQtyMarketAllowed: try c.decodeIfPresent(Bool.self, forKey: .quoteOrderQtyMarketAllowed) ?? d.quoteOrderQtyMarketAllowed,
            allowTrailingStop: try c.decodeIfPresent(Bool.self, forKey: .allowTrailingStop) ?? d.allowTrailingStop,
            cancelReplaceAllowed: try c.decodeIfPresent(Bool.self, forKey: .cancelReplaceAllowed) ?? d.cancelReplaceAllowed,
            amendAllowed: try c.decodeIfPresent(Bool.self, forKey: .amendAllowed) ?? d.amendAllowed,
            isSpotTradingAllowed: try c.decodeIfPresent(Bool.self, forKey: .isSpotTradingAllowed) ?? d.isSpotTradingAllowed,
            isMarginTradingAllowed: try c.decodeIfPresent(Bool.self, forKey: .isMarginTradingAllowed) ?? d.isMarginTradingAllowed,
            filters: try c.decodeIfPresent([SymbolFilter].self, forKey: .filters) ?? d.filters,
            permissions: permissions,
            // Old exchangeInfo (2021) has `permissions` only; today's puts them in one permission set.
            permissionSets: try c.decodeIfPresent([[String]].self, forKey: .permissionSets)
                ?? (permissions.isEmpty ? d.permissionSets : [permissions]))
    }
}
