import ExchangeProtocol

/// Binance's order JSON shapes, member for member, built from the request and the outcome's
/// `OrderUpdate`s and `OrderRejected`s.
enum OrderResponses {
    static func enumString<E: BinanceEnum>(_ type: E.Type, _ proto: E.Proto, default fallback: E) -> String {
        (E(proto: proto) ?? fallback).rawValue
    }

    /// The first rejection in an outcome as Binance's error (the ledger's -2010, matching's codes).
    static func rejection(in outcome: Exchange_V1_RequestOutcome) -> APIError? {
        for event in outcome.events {
            if case .orderRejected(let r) = event.payload { return APIError(code: Int(r.code), msg: r.msg) }
        }
        return nil
    }

    /// The last update of `orderID` (any order when nil).
    static func lastUpdate(in outcome: Exchange_V1_RequestOutcome, orderID: UInt64?) -> Exchange_V1_OrderUpdate? {
        var last: Exchange_V1_OrderUpdate?
        for event in outcome.events {
            if case .orderUpdate(let u) = event.payload, orderID == nil || u.orderID == orderID { last = u }
        }
        return last
    }

    // newOrderRespType ACK.
    static func ack(_ place: Exchange_V1_PlaceOrder, transactTime: Int64) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("symbol", place.symbol)
        w.field("orderId", place.orderID)
        w.field("orderListId", -1)
        w.field("clientOrderId", place.clientOrderID)
        w.field("transactTime", transactTime)
        w.objectEnd()
        return w.text
    }

    /// RESULT or FULL from the outcome; a rejection in it is thrown as the error.
    static func newOrder(_ place: Exchange_V1_PlaceOrder, outcome: Exchange_V1_RequestOutcome, full: Bool) throws(APIError) -> String {
        if let rejected = rejection(in: outcome) { throw rejected }
        var w = JSONWriter()
        writeNewOrder(place, outcome: outcome, full: full, to: &w)
        return w.text
    }

    static func writeNewOrder(_ place: Exchange_V1_PlaceOrder, outcome: Exchange_V1_RequestOutcome, full: Bool, to w: inout JSONWriter) {
        var updates: [Exchange_V1_OrderUpdate] = []
        for event in outcome.events {
            if case .orderUpdate(let u) = event.payload, u.orderID == place.orderID { updates.append(u) }
        }
        let last = updates.last
        let transactTime = updates.first?.transactionTime ?? place.receivedAtMs
        w.objectStart()
        w.field("symbol", place.symbol)
        w.field("orderId", place.orderID)
        w.field("orderListId", -1)
        w.field("clientOrderId", place.clientOrderID)
        w.field("transactTime", transactTime)
        w.field("price", decimal: Fixed8(raw: place.price))
        w.field("origQty", decimal: Fixed8(raw: last?.quantity ?? place.quantity))
        w.field("executedQty", decimal: Fixed8(raw: last?.cumulativeFilledQty ?? 0))
        w.field("origQuoteOrderQty", decimal: Fixed8(raw: place.quoteOrderQty))
        w.field("cummulativeQuoteQty", decimal: Fixed8(raw: last?.cumulativeQuoteQty ?? 0))
        w.field("status", enumString(OrderStatus.self, last?.status ?? .new, default: .new))
        w.field("timeInForce", enumString(TimeInForce.self, place.timeInForce, default: .gtc))
        w.field("type", enumString(OrderType.self, place.type, default: .limit))
        w.field("side", enumString(Side.self, place.side, default: .buy))
        if place.stopPrice != 0 { w.field("stopPrice", decimal: Fixed8(raw: place.stopPrice)) }
        if place.icebergQty != 0 { w.field("icebergQty", decimal: Fixed8(raw: place.icebergQty)) }
        if place.strategyID != 0 { w.field("strategyId", place.strategyID) }
        if place.strategyType != 0 { w.field("strategyType", Int(place.strategyType)) }
        let working = updates.first { $0.workingTime != 0 }?.workingTime
        w.field("workingTime", working ?? (place.stopPrice != 0 ? -1 : transactTime))
        w.field("selfTradePreventionMode", enumString(SelfTradePreventionMode.self, place.selfTradePreventionMode, default: .none))
        if full {
            w.key("fills")
            w.arrayStart()
            for u in updates where u.executionType == .trade {
                w.objectStart()
                w.field("price", decimal: Fixed8(raw: u.lastExecutedPrice))
                w.field("qty", decimal: Fixed8(raw: u.lastExecutedQty))
                w.field("commission", decimal: Fixed8(raw: u.commissionAmount))
                w.field("commissionAsset", u.commissionAsset)
                w.field("tradeId", u.tradeID)
                w.objectEnd()
            }
            w.arrayEnd()
        }
        w.objectEnd()
    }

    // GET /api/v3/order and openOrders entries.
    static func queryShape(_ u: Exchange_V1_OrderUpdate, to w: inout JSONWriter) {
        w.objectStart()
        w.field("symbol", u.symbol)
        w.field("orderId", u.orderID)
        w.field("orderListId", -1)
        w.field("clientOrderId", u.clientOrderID)
        w.field("price", decimal: Fixed8(raw: u.price))
        w.field("origQty", decimal: Fixed8(raw: u.quantity))
        w.field("executedQty", decimal: Fixed8(raw: u.cumulativeFilledQty))
        w.field("cummulativeQuoteQty", decimal: Fixed8(raw: u.cumulativeQuoteQty))
        w.field("status", enumString(OrderStatus.self, u.status, default: .new))
        w.field("timeInForce", enumString(TimeInForce.self, u.timeInForce, default: .gtc))
        w.field("type", enumString(OrderType.self, u.type, default: .limit))
        w.field("side", enumString(Side.self, u.side, default: .buy))
        w.field("stopPrice", decimal: Fixed8(raw: u.stopPrice))
        w.field("icebergQty", decimal: Fixed8(raw: u.icebergQty))
        w.field("time", u.orderCreationTime)
        w.field("updateTime", u.transactionTime)
        w.field("isWorking", u.isWorking)
        w.field("workingTime", u.workingTime != 0 ? u.workingTime : -1)
        w.field("origQuoteOrderQty", decimal: Fixed8(raw: u.quoteOrderQty))
        w.field("selfTradePreventionMode", enumString(SelfTradePreventionMode.self, u.selfTradePreventionMode, default: .none))
        w.objectEnd()
    }

    // DELETE /api/v3/order (and openOrders entries, cancelReplace's cancelResponse).
    static func cancelShape(_ u: Exchange_V1_OrderUpdate, to w: inout JSONWriter) {
        w.objectStart()
        w.field("symbol", u.symbol)
        w.field("origClientOrderId", u.origClientOrderID)
        w.field("orderId", u.orderID)
        w.field("orderListId", -1)
        w.field("clientOrderId", u.clientOrderID)
        w.field("transactTime", u.transactionTime)
        w.field("price", decimal: Fixed8(raw: u.price))
        w.field("origQty", decimal: Fixed8(raw: u.quantity))
        w.field("executedQty", decimal: Fixed8(raw: u.cumulativeFilledQty))
        w.field("origQuoteOrderQty", decimal: Fixed8(raw: u.quoteOrderQty))
        w.field("cummulativeQuoteQty", decimal: Fixed8(raw: u.cumulativeQuoteQty))
        w.field("status", enumString(OrderStatus.self, u.status, default: .canceled))
        w.field("timeInForce", enumString(TimeInForce.self, u.timeInForce, default: .gtc))
        w.field("type", enumString(OrderType.self, u.type, default: .limit))
        w.field("side", enumString(Side.self, u.side, default: .buy))
        w.field("selfTradePreventionMode", enumString(SelfTradePreventionMode.self, u.selfTradePreventionMode, default: .none))
        w.objectEnd()
    }

    // PUT /api/v3/order/amend/keepPriority.
    static func amend(_ u: Exchange_V1_OrderUpdate, origClientOrderID: String) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("transactTime", u.transactionTime)
        w.field("executionId", u.tradeID)
        w.key("amendedOrder")
        w.objectStart()
        w.field("symbol", u.symbol)
        w.field("orderId", u.orderID)
        w.field("orderListId", -1)
        w.field("origClientOrderId", u.origClientOrderID.isEmpty ? origClientOrderID : u.origClientOrderID)
        w.field("clientOrderId", u.clientOrderID)
        w.field("price", decimal: Fixed8(raw: u.price))
        w.field("qty", decimal: Fixed8(raw: u.quantity))
        w.field("executedQty", decimal: Fixed8(raw: u.cumulativeFilledQty))
        w.field("preventedQty", decimal: Fixed8(raw: u.preventedQuantity))
        w.field("quoteOrderQty", decimal: Fixed8(raw: u.quoteOrderQty))
        w.field("cumulativeQuoteQty", decimal: Fixed8(raw: u.cumulativeQuoteQty))
        w.field("status", enumString(OrderStatus.self, u.status, default: .new))
        w.field("timeInForce", enumString(TimeInForce.self, u.timeInForce, default: .gtc))
        w.field("type", enumString(OrderType.self, u.type, default: .limit))
        w.field("side", enumString(Side.self, u.side, default: .buy))
        w.field("workingTime", u.workingTime != 0 ? u.workingTime : -1)
        w.field("selfTradePreventionMode", enumString(SelfTradePreventionMode.self, u.selfTradePreventionMode, default: .none))
        w.objectEnd()
        w.objectEnd()
        return w.text
    }

    /// cancelReplace's answer: success, or -2021 (partial) / -2022 (failed) with Binance's `data`.
    static func cancelReplace(
        _ request: Exchange_V1_CancelReplaceOrder, outcome: Exchange_V1_RequestOutcome, responseType: ResponseType
    ) throws(APIError) -> String {
        var cancelRejection: Exchange_V1_OrderRejected?
        var newRejection: Exchange_V1_OrderRejected?
        var cancelUpdate: Exchange_V1_OrderUpdate?
        for event in outcome.events {
            switch event.payload {
            case .orderRejected(let r):
                if r.orderID == request.place.orderID || r.clientOrderID == request.place.clientOrderID {
                    newRejection = r
                } else {
                    cancelRejection = r
                }
            case .orderUpdate(let u) where u.orderID != request.place.orderID:
                cancelUpdate = u
            default: break
            }
        }
        func error(_ r: Exchange_V1_OrderRejected) -> String { "{\"code\":\(r.code),\"msg\":\(quoted(r.msg))}" }
        var cancelJSON = "null"
        if let cancelRejection {
            cancelJSON = error(cancelRejection)
        } else if let cancelUpdate {
            var w = JSONWriter()
            cancelShape(cancelUpdate, to: &w)
            cancelJSON = w.text
        }
        let cancelOK = cancelRejection == nil && cancelUpdate != nil
        var newJSON = "null"
        var newResult = "NOT_ATTEMPTED"
        if let newRejection {
            if newRejection.code == -2022 {
                newResult = "NOT_ATTEMPTED"
            } else {
                newResult = "FAILURE"
                newJSON = error(newRejection)
            }
        } else if outcome.events.contains(where: {
            if case .orderUpdate(let u) = $0.payload { return u.orderID == request.place.orderID } else { return false }
        }) {
            var w = JSONWriter()
            if responseType == .ack {
                w.raw(ack(request.place, transactTime: request.place.receivedAtMs))
            } else {
                writeNewOrder(request.place, outcome: outcome, full: responseType == .full, to: &w)
            }
            newJSON = w.text
            newResult = "SUCCESS"
        }
        let body = "{\"cancelResult\":\"\(cancelOK ? "SUCCESS" : "FAILURE")\",\"newOrderResult\":\"\(newResult)\",\"cancelResponse\":\(cancelJSON),\"newOrderResponse\":\(newJSON)}"
        let newOK = newResult == "SUCCESS"
        if cancelOK && newOK { return body }
        if !cancelOK && !newOK { throw APIError(code: -2022, msg: "Order cancel-replace failed.", dataJSON: body) }
        // Binance answers a partial success with HTTP 409.
        throw APIError(status: 409, code: -2021, msg: "Order cancel-replace partially failed.", dataJSON: body)
    }

    static func quoted(_ text: String) -> String {
        var w = JSONWriter()
        w.string(text)
        return w.text
    }
}
