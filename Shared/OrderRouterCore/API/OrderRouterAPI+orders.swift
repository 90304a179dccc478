import ExchangeProtocol

extension OrderRouterAPI {
    /// A validated new order: the request for the log, how to answer, the filter view of it.
    struct NewOrder: Sendable {
        var place: Exchange_V1_PlaceOrder
        var responseType: ResponseType
        var candidate: SymbolRules.Candidate
        var rules: SymbolRules
    }

    /// Reads and validates POST order's parameters (also cancelReplace's new order), Binance's
    /// per-type mandatory parameters and defaults, then the symbol's filters.
    func parseNewOrder(_ call: inout Call, nowMs: Int64) async throws -> NewOrder {
        let rules = try self.rules(&call)
        let config = rules.config
        guard let sideText = call.parameters.optional("side") else { throw APIError.mandatory("side") }
        guard let side = Side(rawValue: sideText) else { throw APIError.invalidSide }
        guard let typeText = call.parameters.optional("type") else { throw APIError.mandatory("type") }
        guard let type = OrderType(rawValue: typeText) else { throw APIError.invalidOrderType }
        let tif = try call.parameters.enumeration("timeInForce", TimeInForce.self, invalid: .invalidTimeInForce).value()
        let quantity = try call.parameters.decimal("quantity").value()
        let quoteOrderQty = try call.parameters.decimal("quoteOrderQty").value()
        let price = try call.parameters.decimal("price").value()
        let stopPrice = try call.parameters.decimal("stopPrice").value()
        let icebergQty = try call.parameters.decimal("icebergQty").value()
        let trailingDelta = try call.parameters.long("trailingDelta").value()
        let strategyID = try call.parameters.long("strategyId").value()
        let strategyType = try call.parameters.long("strategyType").value()
        let respType = try call.parameters.enumeration("newOrderRespType", ResponseType.self, invalid: .invalidParameter("newOrderRespType")).value()
        let stp = try call.parameters.enumeration(
            "selfTradePreventionMode", SelfTradePreventionMode.self, invalid: .invalidParameter("selfTradePreventionMode")
        ).value()
        var clientOrderID = Self.generatedClientOrderID()
        if let given = call.parameters.raw("newClientOrderId") {
            if given.isEmpty { throw APIError.emptyNewClientOrderID }
            guard Self.isValidClientOrderID(given) else { throw APIError.illegalChars("newClientOrderId", pattern: Self.clientOrderIDPattern) }
            clientOrderID = given
        }
        if let strategyType, strategyType < 1_000_000 {
            throw APIError(code: -1100, msg: "Illegal characters found in parameter 'strategyType'; legal range is '1000000' and above.")
        }

        // Binance's mandatory and forbidden parameters per type.
        let needsTIF = type == .limit || type == .stopLossLimit || type == .takeProfitLimit
        let needsPrice = needsTIF || type == .limitMaker
        let isStop = type == .stopLoss || type == .stopLossLimit || type == .takeProfit || type == .takeProfitLimit
        if needsTIF && tif == nil { throw APIError.mandatory("timeInForce") }
        if !needsTIF && tif != nil { throw APIError.notRequired("timeInForce") }
        if needsPrice && price == nil { throw APIError.mandatory("price") }
        if !needsPrice && price != nil { throw APIError.notRequired("price") }
        if isStop && stopPrice == nil && trailingDelta == nil { throw APIError.eitherMandatory("stopPrice", "trailingDelta") }
        if !isStop && stopPrice != nil { throw APIError.notRequired("stopPrice") }
        if !isStop && trailingDelta != nil { throw APIError.notRequired("trailingDelta") }
        if type == .market {
            if quantity == nil && quoteOrderQty == nil { throw APIError.eitherMandatory("quantity", "quoteOrderQty") }
            if quantity != nil && quoteOrderQty != nil { throw APIError.notRequired("quoteOrderQty") }
        } else {
            if quantity == nil { throw APIError.mandatory("quantity") }
            if quoteOrderQty != nil { throw APIError.notRequired("quoteOrderQty") }
        }
        if icebergQty != nil && !(type == .limit || type == .limitMaker || type == .stopLossLimit || type == .takeProfitLimit) {
            throw APIError.notRequired("icebergQty")
        }
        if let icebergQty, icebergQty.raw != 0, tif != nil, tif != .gtc { throw APIError.unsupportedCombination }
        for (name, value) in [("quantity", quantity), ("price", price), ("stopPrice", stopPrice), ("quoteOrderQty", quoteOrderQty)] {
            if let value, value.raw == 0, name != "quantity" || type != .market || quoteOrderQty == nil {
                throw APIError(code: -1013, msg: name == "quantity" ? "Invalid quantity." : "Invalid price.")
            }
        }

        // The symbol's own settings.
        guard config.status == "TRADING" else { throw APIError.marketClosed }
        guard config.info.orderTypes.contains(type) else { throw APIError.orderTypeNotAllowed }
        if let icebergQty, icebergQty.raw != 0, !config.info.icebergAllowed { throw APIError.icebergNotAllowed }
        if quoteOrderQty != nil && !config.info.quoteOrderQtyMarketAllowed { throw APIError.quoteOrderQtyNotAllowed }
        if trailingDelta != nil && !config.info.allowTrailingStop { throw APIError.unsupportedCombination }
        let mode = stp ?? config.defaultSelfTradePreventionMode
        if !config.allowedSelfTradePreventionModes.contains(mode) && mode != .none { throw APIError.orderTypeNotAllowed }

        let candidate = SymbolRules.Candidate(
            side: side, type: type, quantity: quantity, quoteOrderQty: quoteOrderQty, price: price, stopPrice: stopPrice, icebergQty: icebergQty)
        var place = Exchange_V1_PlaceOrder()
        place.symbol = config.symbol
        place.orderID = 0
        place.clientOrderID = clientOrderID
        place.side = side.proto
        place.type = type.proto
        if let tif { place.timeInForce = tif.proto }
        place.quantity = quantity?.raw ?? 0
        place.quoteOrderQty = quoteOrderQty?.raw ?? 0
        place.price = price?.raw ?? 0
        place.stopPrice = stopPrice?.raw ?? 0
        place.trailingDelta = trailingDelta ?? 0
        place.icebergQty = icebergQty?.raw ?? 0
        place.strategyID = strategyID ?? 0
        place.strategyType = Int32(clamping: strategyType ?? 0)
        place.selfTradePreventionMode = mode.proto
        let response = respType ?? ((type == .market || type == .limit) ? .full : .ack)
        place.newOrderRespType = response.proto
        place.venue = config.venue == .internal ? .internal : .binance
        place.receivedAtMs = nowMs
        return NewOrder(place: place, responseType: response, candidate: candidate, rules: rules)
    }

    /// Checks the account (exists, can trade) and runs the symbol and exchange filters, reading
    /// the account, the depth snapshot and the open orders in one Redis round trip.
    func checkAccountAndFilters(_ order: NewOrder, userID: UInt64) async throws -> Exchange_V1_AccountAdmin {
        let needsOpen = order.rules.maxNumOrders != nil || order.rules.maxNumAlgoOrders != nil || order.rules.maxNumIcebergOrders != nil
            || exchangeRules.maxNumOrders != nil || exchangeRules.maxNumAlgoOrders != nil
        let context = try await store.orderContext(userID: userID, symbol: order.rules.config.symbol, withOpenOrders: needsOpen)
        guard let account = context.account else { throw APIError.rejectedAPIKey }
        guard account.canTrade else { throw APIError.tradingDisabled }
        let reference = context.depth.flatMap(Self.referencePrice(of:))
        var counts: SymbolRules.OpenCounts?
        var total = 0
        var totalAlgo = 0
        if needsOpen {
            var c = SymbolRules.OpenCounts(onSymbol: 0, algoOnSymbol: 0, icebergOnSymbol: 0)
            for o in context.openOrders {
                let algo = [.stopLoss, .stopLossLimit, .takeProfit, .takeProfitLimit].contains(OrderType(proto: o.type))
                total += 1
                if algo { totalAlgo += 1 }
                guard o.symbol == order.rules.config.symbol else { continue }
                c.onSymbol += 1
                if algo { c.algoOnSymbol += 1 }
                if o.icebergQty != 0 { c.icebergOnSymbol += 1 }
            }
            counts = c
        }
        if let error = order.rules.check(order.candidate, referencePrice: reference, open: counts) { throw error }
        let isAlgo = [.stopLoss, .stopLossLimit, .takeProfit, .takeProfitLimit].contains(order.candidate.type)
        if let error = exchangeRules.check(openOrders: total, openAlgoOrders: totalAlgo, isAlgo: isAlgo) { throw error }
        return account
    }

    // POST /api/v3/order and POST /api/v3/order/test.
    func newOrder(_ call: inout Call, test: Bool) async throws -> String {
        var order = try await parseNewOrder(&call, nowMs: call.nowMs)
        let computeCommissionRates = test ? (try call.parameters.boolean("computeCommissionRates").value() ?? false) : false
        try call.finish()
        let account = try await checkAccountAndFilters(order, userID: call.userID)
        order.place.userID = call.userID
        if test {
            guard computeCommissionRates else { return "{}" }
            return Self.commissionForOrder(account)
        }
        order.place.orderID = nextOrderID(nowMs: call.nowMs)
        let wait = order.responseType != .ack
        let outcome = try await submit(.placeOrder(order.place), userID: call.userID, call: call, wait: wait)
        guard let outcome else { return OrderResponses.ack(order.place, transactTime: call.nowMs) }
        return try OrderResponses.newOrder(order.place, outcome: outcome, full: order.responseType == .full)
    }

    static func commissionForOrder(_ account: Exchange_V1_AccountAdmin) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.key("standardCommissionForOrder")
        w.objectStart()
        w.field("maker", decimal: Fixed8(raw: account.makerCommissionRate))
        w.field("taker", decimal: Fixed8(raw: account.takerCommissionRate))
        w.objectEnd()
        for name in ["specialCommissionForOrder", "taxCommissionForOrder"] {
            w.key(name)
            w.objectStart()
            w.field("maker", decimal: .zero)
            w.field("taker", decimal: .zero)
            w.objectEnd()
        }
        discount(&w)
        w.objectEnd()
        return w.text
    }

    static func discount(_ w: inout JSONWriter) {
        w.key("discount")
        w.objectStart()
        w.field("enabledForAccount", false)
        w.field("enabledForSymbol", false)
        w.field("discountAsset", "BNB")
        w.field("discount", decimal: .zero)
        w.objectEnd()
    }

    /// orderId | origClientOrderId (one is mandatory); resolves a client id through the ledger's
    /// `clientorder:` projection when it can.
    func orderReference(_ call: inout Call, symbol: String, idName: String = "orderId", clientName: String = "origClientOrderId")
        async throws -> (orderID: UInt64, clientOrderID: String)
    {
        let id = try call.parameters.long(idName).value()
        let client = call.parameters.optional(clientName)
        guard id != nil || client != nil else { throw APIError.eitherMandatory(clientName, idName) }
        if let id { return (UInt64(max(id, 0)), client ?? "") }
        let resolved = try await store.orderID(userID: call.userID, symbol: symbol, clientOrderID: client!)
        return (resolved ?? 0, client!)
    }

    // GET /api/v3/order.
    func queryOrder(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        let reference = try await orderReference(&call, symbol: rules.config.symbol)
        try call.finish()
        guard reference.orderID != 0, let update = try await store.order(userID: call.userID, orderID: reference.orderID),
              update.symbol == rules.config.symbol,
              reference.clientOrderID.isEmpty || reference.clientOrderID == update.clientOrderID
        else { throw APIError.orderDoesNotExist }
        var w = JSONWriter()
        OrderResponses.queryShape(update, to: &w)
        return w.text
    }

    // GET /api/v3/openOrders: one symbol, or all (weight 80).
    func openOrders(_ call: inout Call) async throws -> String {
        var symbol: String?
        if call.parameters.optional("symbol") != nil {
            var probe = call
            symbol = try self.rules(&probe).config.symbol
            call.parameters.accept("symbol")
        } else {
            _ = call.parameters.raw("symbol")
        }
        try call.finish()
        let open = try await store.openOrders(userID: call.userID).filter { symbol == nil || $0.symbol == symbol }
        var w = JSONWriter()
        w.arrayStart()
        for update in open { OrderResponses.queryShape(update, to: &w) }
        w.arrayEnd()
        return w.text
    }

    func parseCancel(_ call: inout Call, symbol: String, idName: String, clientName: String, newClientName: String) async throws -> Exchange_V1_CancelOrder {
        let reference = try await orderReference(&call, symbol: symbol, idName: idName, clientName: clientName)
        var cancel = Exchange_V1_CancelOrder()
        cancel.userID = call.userID
        cancel.symbol = symbol
        cancel.orderID = reference.orderID
        cancel.origClientOrderID = reference.clientOrderID
        if let given = call.parameters.raw(newClientName) {
            guard Self.isValidClientOrderID(given) else { throw APIError.illegalChars(newClientName, pattern: Self.clientOrderIDPattern) }
            cancel.newClientOrderID = given
        } else {
            cancel.newClientOrderID = Self.generatedClientOrderID()
        }
        if let restriction = try call.parameters.enumeration(
            "cancelRestrictions", CancelRestrictions.self, invalid: .invalidParameter("cancelRestrictions")).value()
        {
            cancel.cancelRestrictions = restriction.proto
        }
        cancel.receivedAtMs = call.nowMs
        return cancel
    }

    // DELETE /api/v3/order.
    func cancelOrder(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        let cancel = try await parseCancel(&call, symbol: rules.config.symbol, idName: "orderId", clientName: "origClientOrderId", newClientName: "newClientOrderId")
        try call.finish()
        let outcome = try await submit(.cancelOrder(cancel), userID: call.userID, call: call, wait: true)!
        if let rejected = OrderResponses.rejection(in: outcome) { throw rejected }
        guard let update = OrderResponses.lastUpdate(in: outcome, orderID: nil) else { throw APIError.unknownOrder }
        var w = JSONWriter()
        OrderResponses.cancelShape(update, to: &w)
        return w.text
    }

    // DELETE /api/v3/openOrders.
    func cancelOpenOrders(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        try call.finish()
        var request = Exchange_V1_CancelOpenOrders()
        request.userID = call.userID
        request.symbol = rules.config.symbol
        request.receivedAtMs = call.nowMs
        let outcome = try await submit(.cancelOpenOrders(request), userID: call.userID, call: call, wait: true)!
        if let rejected = OrderResponses.rejection(in: outcome) { throw rejected }
        // The last update of each canceled order, in the order they were canceled.
        var order: [UInt64] = []
        var last: [UInt64: Exchange_V1_OrderUpdate] = [:]
        for event in outcome.events {
            guard case .orderUpdate(let u) = event.payload else { continue }
            if last[u.orderID] == nil { order.append(u.orderID) }
            last[u.orderID] = u
        }
        guard !order.isEmpty else { throw APIError.unknownOrder }
        var w = JSONWriter()
        w.arrayStart()
        for id in order { OrderResponses.cancelShape(last[id]!, to: &w) }
        w.arrayEnd()
        return w.text
    }

    // POST /api/v3/order/cancelReplace.
    func cancelReplace(_ call: inout Call) async throws -> String {
        guard let modeText = call.parameters.optional("cancelReplaceMode") else { throw APIError.mandatory("cancelReplaceMode") }
        guard let mode = CancelReplaceMode(rawValue: modeText) else { throw APIError.invalidParameter("cancelReplaceMode") }
        _ = call.parameters.raw("orderRateLimitExceededMode")
        var order = try await parseNewOrder(&call, nowMs: call.nowMs)
        guard order.rules.config.info.cancelReplaceAllowed else { throw APIError.unsupportedOperation }
        let cancel = try await parseCancel(
            &call, symbol: order.rules.config.symbol, idName: "cancelOrderId", clientName: "cancelOrigClientOrderId",
            newClientName: "cancelNewClientOrderId")
        try call.finish()
        _ = try await checkAccountAndFilters(order, userID: call.userID)
        order.place.userID = call.userID
        order.place.orderID = nextOrderID(nowMs: call.nowMs)
        var request = Exchange_V1_CancelReplaceOrder()
        request.userID = call.userID
        request.symbol = order.rules.config.symbol
        request.mode = mode.proto
        request.cancel = cancel
        request.place = order.place
        let outcome = try await submit(.cancelReplaceOrder(request), userID: call.userID, call: call, wait: true)!
        return try OrderResponses.cancelReplace(request, outcome: outcome, responseType: order.responseType)
    }

    // PUT /api/v3/order/amend/keepPriority.
    func amend(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        let reference = try await orderReference(&call, symbol: rules.config.symbol)
        guard let newQty = try call.parameters.decimal("newQty").value() else { throw APIError.mandatory("newQty") }
        guard newQty.raw > 0 else { throw APIError(code: -1013, msg: "Invalid quantity.") }
        var newClientOrderID = Self.generatedClientOrderID()
        if let given = call.parameters.raw("newClientOrderId") {
            guard Self.isValidClientOrderID(given) else { throw APIError.illegalChars("newClientOrderId", pattern: Self.clientOrderIDPattern) }
            newClientOrderID = given
        }
        try call.finish()
        guard rules.config.info.amendAllowed else { throw APIError.unsupportedOperation }
        if let lot = rules.lotSize, !SymbolRules.fits(newQty, lot) { throw APIError.filterFailure("LOT_SIZE") }
        var request = Exchange_V1_AmendOrder()
        request.userID = call.userID
        request.symbol = rules.config.symbol
        request.orderID = reference.orderID
        request.origClientOrderID = reference.clientOrderID
        request.newClientOrderID = newClientOrderID
        request.newQuantity = newQty.raw
        request.receivedAtMs = call.nowMs
        let outcome = try await submit(.amendOrder(request), userID: call.userID, call: call, wait: true)!
        if let rejected = OrderResponses.rejection(in: outcome) { throw rejected }
        guard let update = OrderResponses.lastUpdate(in: outcome, orderID: nil) else { throw APIError.orderDoesNotExist }
        return OrderResponses.amend(update, origClientOrderID: reference.clientOrderID)
    }

    // GET /api/v3/rateLimit/order.
    func orderRateLimit(_ call: inout Call) async throws -> String {
        try call.finish()
        let counts = try await limiter.orderCounts(userID: call.userID, nowMs: call.nowMs)
        var w = JSONWriter()
        w.arrayStart()
        for (interval, num, limit, count) in [
            ("SECOND", 10, configuration.limits.ordersPer10Seconds, counts.tenSeconds), ("DAY", 1, configuration.limits.ordersPerDay, counts.day),
        ] {
            w.objectStart()
            w.field("rateLimitType", "ORDERS")
            w.field("interval", interval)
            w.field("intervalNum", num)
            w.field("limit", limit)
            w.field("count", count)
            w.objectEnd()
        }
        w.arrayEnd()
        return w.text
    }
}
