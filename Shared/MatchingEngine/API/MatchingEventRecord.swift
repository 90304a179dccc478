import ExchangeProtocol

/// The kinds of record a `MatchingEvents` buffer stores, each as its own plain-data struct
/// (strings as `EventString`), packed one after another so a level change takes 32 bytes, not the
/// size of a report. Reading one back as a `MatchingEvent` resolves its strings.
enum MatchingEventKind: UInt32 {
    case report = 0
    case trade = 1
    case levelChanged = 2
    case rejected = 3
}

/// `MatchingEvent.levelChanged`'s payload.
struct LevelChangeRecord {
    var side: Side
    var price: Int64
    var quantity: Int64
    var updateID: Int64
}

/// `ExecutionReport` with its strings as `EventString`s (same fields, same meaning).
struct ExecutionReportRecord {
    var orderID: UInt64
    var userID: UInt64
    var clientOrderID: EventString
    var origClientOrderID: EventString
    var side: Side
    var type: OrderType
    var timeInForce: TimeInForce
    var executionType: ExecutionType
    var status: OrderStatus
    var isMaker: Bool
    var isWorking: Bool
    var selfTradePrevention: SelfTradePreventionMode
    var quantity: Int64
    var price: Int64
    var stopPrice: Int64
    var icebergQty: Int64
    var quoteOrderQty: Int64
    var rejectReason: EventString
    var lastExecutedQty: Int64
    var cumulativeQty: Int64
    var cumulativeQuoteQty: Int64
    var lastPrice: Int64
    var lastQuoteQty: Int64
    var commission: Int64
    var commissionAsset: EventString
    var transactionTime: Int64
    var tradeID: Int64
    var workingTime: Int64
    var orderCreationTime: Int64
    var preventedMatchID: Int64
    var preventedQuantity: Int64
    var lastPreventedQuantity: Int64
    var strategyID: Int64
    var strategyType: Int32

    /// The public value, strings read from `strings`.
    func report(_ strings: [String]) -> ExecutionReport {
        ExecutionReport(
            orderID: orderID, userID: userID, clientOrderID: clientOrderID.resolve(strings),
            origClientOrderID: origClientOrderID.resolve(strings), side: side, type: type, timeInForce: timeInForce,
            quantity: quantity, price: price, stopPrice: stopPrice, icebergQty: icebergQty, quoteOrderQty: quoteOrderQty,
            executionType: executionType, status: status, rejectReason: rejectReason.resolve(strings),
            lastExecutedQty: lastExecutedQty, cumulativeQty: cumulativeQty, cumulativeQuoteQty: cumulativeQuoteQty,
            lastPrice: lastPrice, lastQuoteQty: lastQuoteQty, commission: commission,
            commissionAsset: commissionAsset.resolve(strings), transactionTime: transactionTime, tradeID: tradeID,
            isMaker: isMaker, isWorking: isWorking, workingTime: workingTime, orderCreationTime: orderCreationTime,
            selfTradePrevention: selfTradePrevention, preventedMatchID: preventedMatchID,
            preventedQuantity: preventedQuantity, lastPreventedQuantity: lastPreventedQuantity, strategyID: strategyID,
            strategyType: strategyType)
    }
}

/// `Rejection` with its strings as `EventString`s.
struct RejectionRecord {
    var userID: UInt64
    var orderID: UInt64
    var clientOrderID: EventString
    var code: Int32
    var message: EventString

    func rejection(_ strings: [String]) -> Rejection {
        Rejection(
            userID: userID, orderID: orderID, clientOrderID: clientOrderID.resolve(strings), code: code,
            message: message.resolve(strings))
    }
}
