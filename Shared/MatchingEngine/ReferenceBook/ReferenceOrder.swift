import ExchangeProtocol

/// One order as the reference book keeps it: the request's fields plus its running state.
/// Plain value; the book copies it in and out of its arrays freely (clarity over speed).
struct ReferenceOrder: Sendable, Equatable {
    var orderID: UInt64
    var userID: UInt64
    var clientOrderID: String
    var side: Side
    var type: OrderType
    var timeInForce: TimeInForce
    var price: Int64
    var quantity: Int64
    var quoteOrderQty: Int64
    var stopPrice: Int64
    var icebergQty: Int64
    /// Effective mode (the request's or the symbol's default), fixed at placement.
    var selfTradePrevention: SelfTradePreventionMode
    var quoteBudget: Int64
    var makerCommissionRate: Int64
    var takerCommissionRate: Int64
    var strategyID: Int64
    var strategyType: Int32
    var orderCreationTime: Int64
    /// -1 while an untriggered stop.
    var workingTime: Int64
    /// false while an untriggered stop.
    var isWorking: Bool
    var cumulativeQty: Int64 = 0
    var cumulativeQuoteQty: Int64 = 0
    var preventedQuantity: Int64 = 0
    /// Base quantity still to trade: `quantity - cumulativeQty - preventedQuantity` (DECREMENT
    /// shrinks it without a trade). Unused (0) for MARKET by quoteOrderQty, whose limit is quote.
    var remaining: Int64
    /// Quantity shown on the book: `min(icebergQty, remaining)` slices for icebergs, else `remaining`.
    var visible: Int64

    init(request r: OrderRequest, stp: SelfTradePreventionMode) {
        orderID = r.orderID
        userID = r.userID
        clientOrderID = r.clientOrderID
        side = r.side
        type = r.type
        timeInForce = r.timeInForce
        price = r.price
        quantity = r.quantity
        quoteOrderQty = r.quoteOrderQty
        stopPrice = r.stopPrice
        icebergQty = r.icebergQty
        selfTradePrevention = stp
        quoteBudget = r.quoteBudget
        makerCommissionRate = r.makerCommissionRate
        takerCommissionRate = r.takerCommissionRate
        strategyID = r.strategyID
        strategyType = r.strategyType
        orderCreationTime = r.time
        workingTime = r.time
        isWorking = true
        remaining = r.quantity
        visible = r.icebergQty > 0 ? min(r.icebergQty, r.quantity) : r.quantity
    }

    /// Memberwise, for snapshot decoding.
    init(
        orderID: UInt64, userID: UInt64, clientOrderID: String, side: Side, type: OrderType, timeInForce: TimeInForce,
        price: Int64, quantity: Int64, quoteOrderQty: Int64, stopPrice: Int64, icebergQty: Int64,
        selfTradePrevention: SelfTradePreventionMode, quoteBudget: Int64, makerCommissionRate: Int64,
        takerCommissionRate: Int64, strategyID: Int64, strategyType: Int32, orderCreationTime: Int64,
        workingTime: Int64, isWorking: Bool, cumulativeQty: Int64, cumulativeQuoteQty: Int64,
        preventedQuantity: Int64, remaining: Int64, visible: Int64
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
        self.orderCreationTime = orderCreationTime
        self.workingTime = workingTime
        self.isWorking = isWorking
        self.cumulativeQty = cumulativeQty
        self.cumulativeQuoteQty = cumulativeQuoteQty
        self.preventedQuantity = preventedQuantity
        self.remaining = remaining
        self.visible = visible
    }

    var isStopType: Bool {
        switch type {
        case .stopLoss, .stopLossLimit, .takeProfit, .takeProfitLimit: return true
        case .limit, .market, .limitMaker: return false
        }
    }

    /// MARKET, and STOP_LOSS / TAKE_PROFIT once triggered: no limit price, remainder expires.
    var matchesAsMarket: Bool { type == .market || type == .stopLoss || type == .takeProfit }

    /// MARKET by quoteOrderQty (validation guarantees `quantity == 0` then).
    var isQuoteOrder: Bool { type == .market && quoteOrderQty > 0 }

    /// Open status: NEW until something traded.
    var openStatus: OrderStatus { cumulativeQty == 0 ? .new : .partiallyFilled }

    /// Stop trigger condition against the last trade price.
    func stopTriggers(lastTradePrice last: Int64) -> Bool {
        Self.stopTriggers(type: type, side: side, stopPrice: stopPrice, lastTradePrice: last)
    }

    /// Stop trigger condition; false for non-stop types.
    static func stopTriggers(type: OrderType, side: Side, stopPrice: Int64, lastTradePrice last: Int64) -> Bool {
        switch (type, side) {
        case (.stopLoss, .buy), (.stopLossLimit, .buy): return last >= stopPrice
        case (.stopLoss, .sell), (.stopLossLimit, .sell): return last <= stopPrice
        case (.takeProfit, .buy), (.takeProfitLimit, .buy): return last <= stopPrice
        case (.takeProfit, .sell), (.takeProfitLimit, .sell): return last >= stopPrice
        default: return false
        }
    }
}
