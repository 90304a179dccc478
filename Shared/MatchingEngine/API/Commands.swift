import ExchangeProtocol

/// A funded order entering the book (the ledger has reserved what it may spend). All amounts are
/// Fixed8 raw units (1e-8); times are Unix ms carried by the input, never read from a clock.
public struct OrderRequest: Sendable, Equatable {
    public var orderID: UInt64
    public var userID: UInt64
    /// newClientOrderId (unique among the user's open orders on this symbol).
    public var clientOrderID: String
    public var side: Side
    public var type: OrderType
    /// Required for LIMIT, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT; ignored otherwise.
    public var timeInForce: TimeInForce
    /// Limit price; 0 for MARKET / STOP_LOSS / TAKE_PROFIT.
    public var price: Int64
    /// Base quantity; 0 when `quoteOrderQty` is used (MARKET only).
    public var quantity: Int64
    /// MARKET by quote amount: spend (BUY) or receive (SELL) up to this much quote.
    public var quoteOrderQty: Int64
    /// Trigger price of STOP_LOSS*, TAKE_PROFIT*; 0 otherwise.
    public var stopPrice: Int64
    /// Visible slice of an iceberg (LIMIT GTC / LIMIT_MAKER); 0 when not an iceberg.
    public var icebergQty: Int64
    /// nil: the symbol's default mode.
    public var selfTradePrevention: SelfTradePreventionMode?
    /// The ledger's reservation as a cap. MARKET BUY by `quantity`: the most quote it may spend;
    /// MARKET SELL by `quoteOrderQty`: the most base it may sell (wire field `base_budget`).
    /// 0 = no cap (only for tests and the benchmark; the service always sets it).
    public var quoteBudget: Int64
    /// Commission rates as Fixed8 fractions (0.001 = 100_000).
    public var makerCommissionRate: Int64
    public var takerCommissionRate: Int64
    public var strategyID: Int64
    public var strategyType: Int32
    /// Transaction time of this command (from the input record).
    public var time: Int64

    @inlinable
    public init(
        orderID: UInt64, userID: UInt64, clientOrderID: String = "", side: Side, type: OrderType,
        timeInForce: TimeInForce = .gtc, price: Int64 = 0, quantity: Int64 = 0, quoteOrderQty: Int64 = 0,
        stopPrice: Int64 = 0, icebergQty: Int64 = 0, selfTradePrevention: SelfTradePreventionMode? = nil,
        quoteBudget: Int64 = 0, makerCommissionRate: Int64 = 0, takerCommissionRate: Int64 = 0,
        strategyID: Int64 = 0, strategyType: Int32 = 0, time: Int64
    ) {
        self.orderID = orderID
        self.userID = userID
        self.clientOrderID = clientOrderID
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.price = price
        self.quantity = quantity
        self.quoteOrderQty = quoteOrderQty
        self.stopPrice = stopPrice
        self.icebergQty = icebergQty
        self.selfTradePrevention = selfTradePrevention
        self.quoteBudget = quoteBudget
        self.makerCommissionRate = makerCommissionRate
        self.takerCommissionRate = takerCommissionRate
        self.strategyID = strategyID
        self.strategyType = strategyType
        self.time = time
    }
}

/// DELETE /api/v3/order: by `orderID`, or by `origClientOrderID` when `orderID` is 0.
public struct CancelRequest: Sendable, Equatable {
    public var userID: UInt64
    public var orderID: UInt64
    public var origClientOrderID: String
    /// clientOrderId of the cancel itself (becomes the report's `c`; the order's id goes to `C`).
    public var newClientOrderID: String
    public var cancelRestrictions: CancelRestrictions?
    public var time: Int64

    @inlinable
    public init(
        userID: UInt64, orderID: UInt64 = 0, origClientOrderID: String = "", newClientOrderID: String = "",
        cancelRestrictions: CancelRestrictions? = nil, time: Int64
    ) {
        self.userID = userID
        self.orderID = orderID
        self.origClientOrderID = origClientOrderID
        self.newClientOrderID = newClientOrderID
        self.cancelRestrictions = cancelRestrictions
        self.time = time
    }
}

/// PUT /api/v3/order/amend/keepPriority: quantity down only, queue position kept.
public struct AmendRequest: Sendable, Equatable {
    public var userID: UInt64
    public var orderID: UInt64
    public var origClientOrderID: String
    public var newClientOrderID: String
    public var newQuantity: Int64
    public var time: Int64

    @inlinable
    public init(userID: UInt64, orderID: UInt64 = 0, origClientOrderID: String = "", newClientOrderID: String = "", newQuantity: Int64, time: Int64) {
        self.userID = userID
        self.orderID = orderID
        self.origClientOrderID = origClientOrderID
        self.newClientOrderID = newClientOrderID
        self.newQuantity = newQuantity
        self.time = time
    }
}

/// POST /api/v3/order/cancelReplace.
public struct CancelReplaceRequest: Sendable, Equatable {
    public var mode: CancelReplaceMode
    public var cancel: CancelRequest
    public var place: OrderRequest

    @inlinable
    public init(mode: CancelReplaceMode, cancel: CancelRequest, place: OrderRequest) {
        self.mode = mode
        self.cancel = cancel
        self.place = place
    }
}

/// Everything a book accepts.
public enum MatchingCommand: Sendable, Equatable {
    case place(OrderRequest)
    case cancel(CancelRequest)
    case cancelReplace(CancelReplaceRequest)
    case amend(AmendRequest)
    /// DELETE /api/v3/openOrders: every open (and untriggered stop) order of the user.
    case cancelAll(userID: UInt64, time: Int64)
}

/// Per-symbol settings the book needs.
public struct SymbolRules: Sendable, Equatable {
    public var symbol: String
    public var baseAsset: String
    public var quoteAsset: String
    public var defaultSelfTradePrevention: SelfTradePreventionMode
    public var allowedSelfTradePrevention: Set<SelfTradePreventionMode>

    public init(
        symbol: String, baseAsset: String, quoteAsset: String,
        defaultSelfTradePrevention: SelfTradePreventionMode = .expireMaker,
        allowedSelfTradePrevention: Set<SelfTradePreventionMode> = Set(SelfTradePreventionMode.allCases)
    ) {
        self.symbol = symbol
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
        self.defaultSelfTradePrevention = defaultSelfTradePrevention
        self.allowedSelfTradePrevention = allowedSelfTradePrevention
    }
}
