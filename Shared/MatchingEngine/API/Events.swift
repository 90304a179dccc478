import ExchangeProtocol

/// An order's state change: every field of Binance's executionReport that the book decides.
/// (Symbol, event time and the like are added by the service.)
public struct ExecutionReport: Sendable, Equatable {
    public var orderID: UInt64
    public var userID: UInt64
    /// `c`: for a cancel, the cancel's own clientOrderId; else the order's.
    public var clientOrderID: String
    /// `C`: the canceled order's clientOrderId on cancels; "" otherwise.
    public var origClientOrderID: String
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var quantity: Int64           // q
    public var price: Int64              // p
    public var stopPrice: Int64          // P
    public var icebergQty: Int64         // F
    public var quoteOrderQty: Int64      // Q
    public var executionType: ExecutionType  // x
    public var status: OrderStatus       // X
    public var rejectReason: String      // r ("NONE")
    public var lastExecutedQty: Int64    // l
    public var cumulativeQty: Int64      // z
    public var cumulativeQuoteQty: Int64 // Z
    public var lastPrice: Int64          // L
    public var lastQuoteQty: Int64       // Y
    public var commission: Int64         // n
    /// `N`: the received asset (base for a buyer, quote for a seller); "" when no commission.
    public var commissionAsset: String
    public var transactionTime: Int64    // T
    public var tradeID: Int64            // t (-1 when no trade)
    public var isMaker: Bool             // m
    public var isWorking: Bool           // w (on the book)
    public var workingTime: Int64        // W
    public var orderCreationTime: Int64  // O
    public var selfTradePrevention: SelfTradePreventionMode  // V
    public var preventedMatchID: Int64   // v (0 = none)
    public var preventedQuantity: Int64  // A
    public var lastPreventedQuantity: Int64  // B
    public var strategyID: Int64
    public var strategyType: Int32

    public init(
        orderID: UInt64, userID: UInt64, clientOrderID: String, origClientOrderID: String, side: Side, type: OrderType,
        timeInForce: TimeInForce, quantity: Int64, price: Int64, stopPrice: Int64, icebergQty: Int64, quoteOrderQty: Int64,
        executionType: ExecutionType, status: OrderStatus, rejectReason: String, lastExecutedQty: Int64,
        cumulativeQty: Int64, cumulativeQuoteQty: Int64, lastPrice: Int64, lastQuoteQty: Int64, commission: Int64,
        commissionAsset: String, transactionTime: Int64, tradeID: Int64, isMaker: Bool, isWorking: Bool,
        workingTime: Int64, orderCreationTime: Int64, selfTradePrevention: SelfTradePreventionMode,
        preventedMatchID: Int64, preventedQuantity: Int64, lastPreventedQuantity: Int64, strategyID: Int64,
        strategyType: Int32
    ) {
        self.orderID = orderID
        self.userID = userID
        self.clientOrderID = clientOrderID
        self.origClientOrderID = origClientOrderID
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.quantity = quantity
        self.price = price
        self.stopPrice = stopPrice
        self.icebergQty = icebergQty
        self.quoteOrderQty = quoteOrderQty
        self.executionType = executionType
        self.status = status
        self.rejectReason = rejectReason
        self.lastExecutedQty = lastExecutedQty
        self.cumulativeQty = cumulativeQty
        self.cumulativeQuoteQty = cumulativeQuoteQty
        self.lastPrice = lastPrice
        self.lastQuoteQty = lastQuoteQty
        self.commission = commission
        self.commissionAsset = commissionAsset
        self.transactionTime = transactionTime
        self.tradeID = tradeID
        self.isMaker = isMaker
        self.isWorking = isWorking
        self.workingTime = workingTime
        self.orderCreationTime = orderCreationTime
        self.selfTradePrevention = selfTradePrevention
        self.preventedMatchID = preventedMatchID
        self.preventedQuantity = preventedQuantity
        self.lastPreventedQuantity = lastPreventedQuantity
        self.strategyID = strategyID
        self.strategyType = strategyType
    }
}

/// One trade. Commission is in the received asset: the buyer's in base, the seller's in quote.
public struct TradeEvent: Sendable, Equatable {
    public var tradeID: Int64
    public var price: Int64
    public var quantity: Int64
    public var quoteQuantity: Int64
    public var buyerOrderID: UInt64
    public var sellerOrderID: UInt64
    public var buyerUserID: UInt64
    public var sellerUserID: UInt64
    public var buyerIsMaker: Bool
    public var buyerCommission: Int64
    public var sellerCommission: Int64
    public var time: Int64

    public init(
        tradeID: Int64, price: Int64, quantity: Int64, quoteQuantity: Int64, buyerOrderID: UInt64, sellerOrderID: UInt64,
        buyerUserID: UInt64, sellerUserID: UInt64, buyerIsMaker: Bool, buyerCommission: Int64, sellerCommission: Int64,
        time: Int64
    ) {
        self.tradeID = tradeID
        self.price = price
        self.quantity = quantity
        self.quoteQuantity = quoteQuantity
        self.buyerOrderID = buyerOrderID
        self.sellerOrderID = sellerOrderID
        self.buyerUserID = buyerUserID
        self.sellerUserID = sellerUserID
        self.buyerIsMaker = buyerIsMaker
        self.buyerCommission = buyerCommission
        self.sellerCommission = sellerCommission
        self.time = time
    }
}

/// A command the book refused; the book is unchanged. `code`/`message` are Binance's, verbatim.
public struct Rejection: Sendable, Equatable {
    public var userID: UInt64
    public var orderID: UInt64
    public var clientOrderID: String
    public var code: Int32
    public var message: String

    public init(userID: UInt64, orderID: UInt64, clientOrderID: String, code: Int32, message: String) {
        self.userID = userID
        self.orderID = orderID
        self.clientOrderID = clientOrderID
        self.code = code
        self.message = message
    }
}

/// What applying a command produced, in order. The service turns them into `matching.events`.
public enum MatchingEvent: Sendable, Equatable {
    case report(ExecutionReport)
    case trade(TradeEvent)
    /// The visible quantity at a price level changed (0 = level gone); `updateID` increases by
    /// one per change, so a depth diff is the changes between two update ids.
    case levelChanged(side: Side, price: Int64, quantity: Int64, updateID: Int64)
    case rejected(Rejection)
}
