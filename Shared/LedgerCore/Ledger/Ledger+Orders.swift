import ExchangeProtocol

/// Reservation, settlement and release.
extension Ledger {
    // MARK: - Reserve

    mutating func placeOrder(_ r: PlaceOrderRequest, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: r.userID, orderID: r.orderID, time: r.time)))
        }
        guard let u = userIndex[r.userID] else { return reject(.unknownAccount) }
        let user = users[Int(u)]
        guard user.permissions.canTrade else { return reject(.actionDisabled) }
        guard let s = symbolIndex[r.symbol] else { return reject(.unknownSymbol) }
        guard orderSlot[r.orderID] == nil else { return reject(.duplicateOrder) }
        guard r.quantity >= 0, r.quoteOrderQty >= 0, r.price >= 0 else { return reject(.invalidQuantity) }
        let symbol = symbols[Int(s)]

        let funding: OrderFunding
        let amount: Int64
        var quoteBudget: Int64 = 0
        switch r.side {
        case .sell:
            funding = .sell
            if r.quantity > 0 && r.quoteOrderQty == 0 {
                amount = r.quantity
            } else if r.type == .market && r.quantity == 0 && r.quoteOrderQty > 0 {
                // Matching has no base cap for MARKET SELL by quote: lock the whole free base (see
                // the contract's known gap).
                amount = freeBalance(user: u, asset: symbol.base)
            } else {
                return reject(.invalidQuantity)
            }
        case .buy:
            switch r.type {
            case .limit, .limitMaker, .stopLossLimit, .takeProfitLimit:
                guard r.price > 0, r.quantity > 0, r.quoteOrderQty == 0 else { return reject(.invalidQuantity) }
                // Round up: the lock must cover every fill's quote, each rounded down by matching.
                guard let cost = Fixed8(raw: r.price).multiplied(by: Fixed8(raw: r.quantity), rounding: .up) else {
                    return reject(.invalidQuantity)
                }
                funding = .limitBuy
                amount = cost.raw
            case .market where r.quoteOrderQty > 0:
                guard r.quantity == 0 else { return reject(.invalidQuantity) }
                funding = .budgetBuy
                amount = r.quoteOrderQty
            case .market, .stopLoss, .takeProfit:
                guard r.quantity > 0, r.quoteOrderQty == 0 else { return reject(.invalidQuantity) }
                funding = .budgetBuy
                amount = min(freeBalance(user: u, asset: symbol.quote), assetStates[Int(symbol.quote)].marketBuyBudgetCap)
                quoteBudget = amount
            }
        }
        let reservedAsset = funding == .sell ? symbol.base : symbol.quote
        guard amount > 0, freeBalance(user: u, asset: reservedAsset) >= amount else {
            return reject(.insufficientBalance)
        }

        let baseAccount = account(user: u, asset: symbol.base)
        let quoteAccount = account(user: u, asset: symbol.quote)
        let reserved = funding == .sell ? baseAccount : quoteAccount
        let entry = nextJournalEntry()
        post(reservedAsset, from: .free(reserved), to: .locked(reserved), amount, entry: entry, into: &events)
        let record = OrderRecord(
            orderID: r.orderID, userID: r.userID, symbol: s, type: r.type, funding: funding, price: funding == .limitBuy ? r.price : 0,
            quantity: r.quantity, filled: 0, lock: amount, lastTradeID: 0, baseAccount: baseAccount,
            quoteAccount: quoteAccount)
        insertOrder(record)
        events.append(.balanceChanged(BalanceChange(
            userID: r.userID, reason: .orderReserve, journalEntryID: entry, orderID: r.orderID, time: r.time,
            first: movement(reserved, freeDelta: -amount, lockedDelta: amount))))
        let rates = effectiveRates(user)
        events.append(.orderFunded(FundedOrderInfo(
            userID: r.userID, orderID: r.orderID, reservedAsset: assetNames[Int(reservedAsset)], reservedAmount: amount,
            quoteBudget: quoteBudget, makerCommissionRate: rates.maker, takerCommissionRate: rates.taker,
            baseAsset: assetNames[Int(symbol.base)], quoteAsset: assetNames[Int(symbol.quote)])))
    }

    mutating func insertOrder(_ record: OrderRecord) {
        let slot: Int32
        if let reused = freeOrderSlots.popLast() {
            slot = reused
            orders[Int(slot)] = record
        } else {
            slot = Int32(orders.count)
            orders.append(record)
        }
        orderSlot.set(record.orderID, slot)
    }

    // MARK: - Settle

    mutating func settleTrade(_ t: TradeSettlement, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason, user: UInt64, order: UInt64) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: user, orderID: order, time: t.time)))
        }
        let buyerSlot = orderSlot[t.buyerOrderID]
        let sellerSlot = orderSlot[t.sellerOrderID]
        let rejectUser = buyerSlot != nil || sellerSlot == nil ? t.buyerUserID : t.sellerUserID
        let rejectOrder = buyerSlot != nil || sellerSlot == nil ? t.buyerOrderID : t.sellerOrderID
        guard t.quantity > 0, t.price > 0, t.quoteQuantity >= 0, t.buyerCommission >= 0, t.sellerCommission >= 0,
            t.buyerCommission <= t.quantity, t.sellerCommission <= t.quoteQuantity, t.tradeID > 0,
            Fixed8(raw: t.price).multiplied(by: Fixed8(raw: t.quantity), rounding: .down)?.raw == t.quoteQuantity
        else { return reject(.invalidTrade, user: rejectUser, order: rejectOrder) }
        guard buyerSlot != nil || sellerSlot != nil else { return reject(.unknownOrder, user: rejectUser, order: rejectOrder) }

        var settleBuyer = false
        var settleSeller = false
        if let b = buyerSlot {
            let o = orders[Int(b)]
            guard o.userID == t.buyerUserID, o.funding != .sell else {
                return reject(.invalidTrade, user: t.buyerUserID, order: t.buyerOrderID)
            }
            if t.tradeID > o.lastTradeID {
                guard o.quantity == 0 || o.filled + t.quantity <= o.quantity else {
                    return reject(.invalidTrade, user: t.buyerUserID, order: t.buyerOrderID)
                }
                guard o.lock >= t.quoteQuantity else { return reject(.lockExceeded, user: t.buyerUserID, order: t.buyerOrderID) }
                settleBuyer = true
            }
        }
        if let s = sellerSlot {
            let o = orders[Int(s)]
            guard o.userID == t.sellerUserID, o.funding == .sell else {
                return reject(.invalidTrade, user: t.sellerUserID, order: t.sellerOrderID)
            }
            if let b = buyerSlot {
                // Both orders must be on the same pair of assets.
                let buyer = orders[Int(b)]
                guard accountAsset[Int(buyer.baseAccount)] == accountAsset[Int(o.baseAccount)],
                    accountAsset[Int(buyer.quoteAccount)] == accountAsset[Int(o.quoteAccount)]
                else { return reject(.invalidTrade, user: t.sellerUserID, order: t.sellerOrderID) }
            }
            if t.tradeID > o.lastTradeID {
                guard o.quantity == 0 || o.filled + t.quantity <= o.quantity else {
                    return reject(.invalidTrade, user: t.sellerUserID, order: t.sellerOrderID)
                }
                guard o.lock >= t.quantity else { return reject(.lockExceeded, user: t.sellerUserID, order: t.sellerOrderID) }
                settleSeller = true
            }
        }
        guard settleBuyer || settleSeller else { return reject(.duplicateTrade, user: rejectUser, order: rejectOrder) }

        let entry = nextJournalEntry()
        if settleBuyer, let b = buyerSlot { settleBuyerSide(slot: b, t, entry: entry, into: &events) }
        if settleSeller, let s = sellerSlot { settleSellerSide(slot: s, t, entry: entry, into: &events) }
    }

    /// Buyer: pays the trade's quote from the lock into clearing, receives base minus commission
    /// from clearing, commission to fee revenue; a LIMIT-priced buy gets its price improvement back.
    mutating func settleBuyerSide(slot: Int32, _ t: TradeSettlement, entry: UInt64, into events: inout [LedgerEvent]) {
        var o = orders[Int(slot)]
        let base = accountAsset[Int(o.baseAccount)]
        let quote = accountAsset[Int(o.quoteAccount)]
        o.filled += t.quantity
        o.lastTradeID = t.tradeID
        o.lock -= t.quoteQuantity
        var release: Int64 = 0
        if o.funding == .limitBuy {
            let target = Self.limitBuyLock(price: o.price, unfilled: o.quantity - o.filled)
            if o.lock > target { release = o.lock - target }
            o.lock -= release
        }
        orders[Int(slot)] = o
        post(quote, from: .locked(o.quoteAccount), to: .clearing, t.quoteQuantity, entry: entry, into: &events)
        post(base, from: .clearing, to: .free(o.baseAccount), t.quantity - t.buyerCommission, entry: entry, into: &events)
        post(base, from: .clearing, to: .fee, t.buyerCommission, entry: entry, into: &events)
        post(quote, from: .locked(o.quoteAccount), to: .free(o.quoteAccount), release, entry: entry, into: &events)
        events.append(.balanceChanged(BalanceChange(
            userID: o.userID, reason: .trade, journalEntryID: entry, orderID: o.orderID, time: t.time,
            first: movement(o.baseAccount, freeDelta: t.quantity - t.buyerCommission, lockedDelta: 0),
            second: movement(o.quoteAccount, freeDelta: release, lockedDelta: -(t.quoteQuantity + release)))))
    }

    /// Seller: pays the trade's base from the lock into clearing, receives quote minus commission
    /// from clearing, commission to fee revenue.
    mutating func settleSellerSide(slot: Int32, _ t: TradeSettlement, entry: UInt64, into events: inout [LedgerEvent]) {
        var o = orders[Int(slot)]
        let base = accountAsset[Int(o.baseAccount)]
        let quote = accountAsset[Int(o.quoteAccount)]
        o.filled += t.quantity
        o.lastTradeID = t.tradeID
        o.lock -= t.quantity
        orders[Int(slot)] = o
        post(base, from: .locked(o.baseAccount), to: .clearing, t.quantity, entry: entry, into: &events)
        post(quote, from: .clearing, to: .free(o.quoteAccount), t.quoteQuantity - t.sellerCommission, entry: entry, into: &events)
        post(quote, from: .clearing, to: .fee, t.sellerCommission, entry: entry, into: &events)
        events.append(.balanceChanged(BalanceChange(
            userID: o.userID, reason: .trade, journalEntryID: entry, orderID: o.orderID, time: t.time,
            first: movement(o.baseAccount, freeDelta: 0, lockedDelta: -t.quantity),
            second: movement(o.quoteAccount, freeDelta: t.quoteQuantity - t.sellerCommission, lockedDelta: 0))))
    }

    /// ceil(price x unfilled / 1e8): what a LIMIT-priced buy keeps locked for its unfilled quantity.
    static func limitBuyLock(price: Int64, unfilled: Int64) -> Int64 {
        guard unfilled > 0 else { return 0 }
        // Cannot overflow: it is at most the reservation, which fitted.
        return Fixed8(raw: price).multiplied(by: Fixed8(raw: unfilled), rounding: .up)!.raw
    }

    // MARK: - Progress, amend, close

    mutating func orderProgress(_ p: OrderProgress, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: p.userID, orderID: p.orderID, time: p.time)))
        }
        guard let slot = orderSlot[p.orderID], orders[Int(slot)].userID == p.userID else { return reject(.unknownOrder) }
        if p.isTerminal {
            closeOrder(slot: slot, status: p.status, time: p.time, into: &events)
            return
        }
        let o = orders[Int(slot)]
        guard p.executionType == .replaced, o.funding != .budgetBuy, p.quantity > 0, p.quantity < o.quantity else {
            return  // Nothing to do for NEW, non-final TRADE and TRADE_PREVENTION reports.
        }
        guard p.quantity >= o.filled else { return reject(.invalidQuantity) }
        // Amend (keepPriority) lowered the quantity: keep only what the new unfilled quantity needs.
        var amended = o
        amended.quantity = p.quantity
        let target = o.funding == .limitBuy
            ? Self.limitBuyLock(price: o.price, unfilled: amended.quantity - o.filled) : amended.quantity - o.filled
        let release = max(0, o.lock - target)
        amended.lock -= release
        orders[Int(slot)] = amended
        guard release > 0 else { return }
        let a = o.reservedAccount
        let entry = nextJournalEntry()
        post(accountAsset[Int(a)], from: .locked(a), to: .free(a), release, entry: entry, into: &events)
        events.append(.balanceChanged(BalanceChange(
            userID: o.userID, reason: .orderRelease, journalEntryID: entry, orderID: o.orderID, time: p.time,
            first: movement(a, freeDelta: release, lockedDelta: -release))))
    }

    /// Releases everything the order still has locked and forgets it.
    mutating func closeOrder(slot: Int32, status: OrderStatus, time: Int64, into events: inout [LedgerEvent]) {
        let o = orders[Int(slot)]
        let a = o.reservedAccount
        let asset = accountAsset[Int(a)]
        if o.lock > 0 {
            let entry = nextJournalEntry()
            post(asset, from: .locked(a), to: .free(a), o.lock, entry: entry, into: &events)
            events.append(.balanceChanged(BalanceChange(
                userID: o.userID, reason: .orderRelease, journalEntryID: entry, orderID: o.orderID, time: time,
                first: movement(a, freeDelta: o.lock, lockedDelta: -o.lock))))
        }
        events.append(.orderClosed(OrderClosed(
            userID: o.userID, orderID: o.orderID, status: status, asset: assetNames[Int(asset)], released: o.lock)))
        orderSlot.remove(o.orderID)
        freeOrderSlots.append(slot)
    }
}
