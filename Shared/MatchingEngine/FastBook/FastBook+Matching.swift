import ExchangeProtocol

/// The taker path: FOK check, the price-time sweep with self-trade prevention, iceberg re-slicing,
/// rest-or-expire, and the stop-trigger cascade.
extension FastBook {
    static let one: Int64 = 100_000_000

    /// Base quantity the taker may still take at `price`: its remainder, or for MARKET-by-quote what
    /// the quote left buys at that price (rounded down).
    @inline(__always)
    static func takerRemaining(_ t: FastBookOrder, price: Int64) -> Int64 {
        t.isQuoteOrder ? fastBookMulDiv(t.quoteOrderQty - t.cumulativeQuote, one, price) : t.remaining
    }

    /// Whether `price` (a maker's) is within the taker's limit; types without a limit always cross.
    @inline(__always)
    static func crosses(_ t: FastBookOrder, _ price: Int64) -> Bool {
        if !t.isLimitPriced { return true }
        return t.side == .buy ? price <= t.price : price >= t.price
    }

    /// Matches the taker in pool slot `taker` (taken but not registered; its NEW report already
    /// emitted), then rests it or expires what is left and frees the slot. The taker is worked on
    /// in place: no copy of the order per command. `clientOrderID` is the taker's, `code` the same
    /// as `events` holds it.
    mutating func execute(
        _ taker: Int32, clientOrderID: String, code: EventString, time: Int64, into events: inout MatchingEvents
    ) {
        // The pool cannot move while matching: only `takeSlot` grows it, and nothing here takes one.
        let t = pool + Int(taker)
        let opposite = t.pointee.side.opposite
        if t.pointee.isLimitPriced && t.pointee.type != .limitMaker && t.pointee.timeInForce == .fok && fillable(t.pointee) < t.pointee.quantity {
            t.pointee.status = .expired
            events.appendReport(report(t.pointee, .expired, .expired, time: time, clientOrderID: code))
            freeSlot(taker)
            return
        }
        var expiredInMatch = false
        matching: while true {
            guard let levelSlot = opposite == .buy ? bids.bestSlot : asks.bestSlot else { break }
            let price = opposite == .buy ? bids.bestLevelPrice : asks.bestLevelPrice
            if !Self.crosses(t.pointee, price) { break }
            let makerSlot = opposite == .buy ? bids.levels[Int(levelSlot)].head : asks.levels[Int(levelSlot)].head
            let m = Int(makerSlot)

            if t.pointee.stp != .none && pool[m].userID == t.pointee.userID {
                lastPreventedMatchID += 1
                let p = lastPreventedMatchID
                switch t.pointee.stp {
                case .expireMaker:
                    expireMaker(makerSlot, p: p, time: time, into: &events)
                    emitLevel(side: opposite, price: price, into: &events)
                case .expireBoth:
                    expireMaker(makerSlot, p: p, time: time, into: &events)
                    emitLevel(side: opposite, price: price, into: &events)
                    expireTaker(t, clientOrderID: code, p: p, price: price, time: time, into: &events)
                    expiredInMatch = true
                    break matching
                case .decrement:
                    let takerLeft = Self.takerRemaining(t.pointee, price: price)
                    let d = min(takerLeft, pool[m].remaining)
                    pool[m].remaining -= d
                    pool[m].preventedQty += d
                    let oldVisible = pool[m].visible
                    let newVisible = min(oldVisible, pool[m].remaining)
                    pool[m].visible = newVisible
                    addToLevelTotal(side: opposite, level: levelSlot, newVisible - oldVisible)
                    let makerDone = pool[m].remaining == 0
                    if makerDone { pool[m].status = .expiredInMatch }
                    let makerCode = clientCode(makerSlot, &events)
                    var makerReport = report(
                        pool[m], makerDone ? .expired : .tradePrevention, pool[m].status, time: time,
                        clientOrderID: makerCode)
                    makerReport.isMaker = true
                    makerReport.preventedMatchID = p
                    makerReport.lastPreventedQuantity = d
                    events.appendReport(makerReport)
                    if makerDone { removeResting(makerSlot) }
                    if !t.pointee.isQuoteOrder { t.pointee.remaining -= d }
                    t.pointee.preventedQty += d
                    let takerDone = takerLeft - d == 0
                    if takerDone { t.pointee.status = .expiredInMatch }
                    var takerReport = report(
                        t.pointee, takerDone ? .expired : .tradePrevention, t.pointee.status, time: time, clientOrderID: code)
                    takerReport.preventedMatchID = p
                    takerReport.lastPreventedQuantity = d
                    events.appendReport(takerReport)
                    emitLevel(side: opposite, price: price, into: &events)
                    if takerDone {
                        expiredInMatch = true
                        break matching
                    }
                default:  // .expireTaker (.none never gets here)
                    expireTaker(t, clientOrderID: code, p: p, price: price, time: time, into: &events)
                    expiredInMatch = true
                    break matching
                }
                continue
            }

            var q = min(Self.takerRemaining(t.pointee, price: price), pool[m].visible)
            if !t.pointee.isLimitPriced && t.pointee.side == .buy && !t.pointee.isQuoteOrder && t.pointee.quoteBudget > 0 {
                q = min(q, fastBookMulDiv(t.pointee.quoteBudget - t.pointee.cumulativeQuote, Self.one, price))
            } else if t.pointee.isQuoteOrder && t.pointee.side == .sell && t.pointee.quoteBudget > 0 {
                q = min(q, t.pointee.quoteBudget - t.pointee.cumulativeQty)  // base budget
            }
            if q <= 0 { break }
            trade(
                t, clientOrderID: code, makerSlot: makerSlot, level: levelSlot, price: price, quantity: q,
                time: time, into: &events)
            if t.pointee.isQuoteOrder ? t.pointee.status == .filled : t.pointee.remaining == 0 { break }
        }
        let left = t.pointee.isQuoteOrder ? t.pointee.quoteOrderQty - t.pointee.cumulativeQuote : t.pointee.remaining
        if expiredInMatch || left <= 0 {
            freeSlot(taker)
            return
        }
        if !t.pointee.isQuoteOrder && t.pointee.restsRemainder {
            let remaining = t.pointee.remaining
            t.pointee.visible = t.pointee.icebergQty > 0 ? min(t.pointee.icebergQty, remaining) : remaining
            let total = addResting(taker, clientOrderID: clientOrderID)
            emitLevel(side: t.pointee.side, price: t.pointee.price, quantity: total, into: &events)
        } else {
            t.pointee.status = .expired
            events.appendReport(report(t.pointee, .expired, .expired, time: time, clientOrderID: code))
            freeSlot(taker)
        }
    }

    /// One fill of `quantity` at `price` against the maker at the head of the best level.
    @inline(__always)
    mutating func trade(
        _ t: UnsafeMutablePointer<FastBookOrder>, clientOrderID: EventString, makerSlot: Int32, level: Int32, price: Int64,
        quantity q: Int64, time: Int64, into events: inout MatchingEvents
    ) {
        let m = Int(makerSlot)
        let makerSide = t.pointee.side.opposite
        let quote = fastBookMulDiv(price, q, Self.one)
        lastTradeID += 1
        lastTradePrice = price
        tradedInCommand = true

        pool[m].remaining -= q
        pool[m].visible -= q
        pool[m].cumulativeQty += q
        pool[m].cumulativeQuote += quote
        pool[m].status = pool[m].cumulativeQty == pool[m].quantity ? .filled : .partiallyFilled
        if !t.pointee.isQuoteOrder { t.pointee.remaining -= q }
        t.pointee.cumulativeQty += q
        t.pointee.cumulativeQuote += quote
        if t.pointee.isQuoteOrder {
            t.pointee.status = t.pointee.quoteOrderQty == t.pointee.cumulativeQuote ? .filled : .partiallyFilled
        } else {
            t.pointee.status = t.pointee.cumulativeQty == t.pointee.quantity ? .filled : .partiallyFilled
        }

        let takerBuys = t.pointee.side == .buy
        let makerRate = pool[m].makerRate
        let buyerCommission = fastBookMulDiv(q, takerBuys ? t.pointee.takerRate : makerRate, Self.one)
        let sellerCommission = fastBookMulDiv(quote, takerBuys ? makerRate : t.pointee.takerRate, Self.one)
        let makerOrderID = pool[m].orderID
        let makerUserID = pool[m].userID
        events.appendTrade(TradeEvent(
            tradeID: lastTradeID, price: price, quantity: q, quoteQuantity: quote,
            buyerOrderID: takerBuys ? t.pointee.orderID : makerOrderID, sellerOrderID: takerBuys ? makerOrderID : t.pointee.orderID,
            buyerUserID: takerBuys ? t.pointee.userID : makerUserID, sellerUserID: takerBuys ? makerUserID : t.pointee.userID,
            buyerIsMaker: !takerBuys, buyerCommission: buyerCommission, sellerCommission: sellerCommission,
            time: time))

        // The received asset: base for the buyer, quote for the seller.
        let makerCode = clientCode(makerSlot, &events)
        let makerAsset = assetCode(buyer: !takerBuys, &events)
        let takerAsset = assetCode(buyer: takerBuys, &events)
        events.appendReport(report(
            pool[m], .trade, pool[m].status, time: time, clientOrderID: makerCode, isMaker: true, lastExecutedQty: q,
            lastPrice: price, lastQuoteQty: quote, commission: takerBuys ? sellerCommission : buyerCommission,
            commissionAsset: makerAsset, tradeID: lastTradeID))
        events.appendReport(report(
            t.pointee, .trade, t.pointee.status, time: time, clientOrderID: clientOrderID, lastExecutedQty: q,
            lastPrice: price, lastQuoteQty: quote, commission: takerBuys ? buyerCommission : sellerCommission,
            commissionAsset: takerAsset, tradeID: lastTradeID))

        var total = withSide(makerSide) { s in
            s.levels[Int(level)].total -= q
            return s.levels[Int(level)].total
        }
        if pool[m].remaining == 0 {
            total = removeResting(makerSlot)
        } else if pool[m].visible == 0 {
            // Iceberg: a new slice joins the back of the same level and loses priority.
            let slice = min(pool[m].icebergQty, pool[m].remaining)
            pool[m].visible = slice
            total += slice
            addToLevelTotal(side: makerSide, level: level, slice)
            moveToBack(makerSlot)
        }
        emitLevel(side: makerSide, price: price, quantity: total, into: &events)
    }

    /// STP: the resting maker expires in match (report, then removal; the caller emits the level).
    mutating func expireMaker(_ slot: Int32, p: Int64, time: Int64, into events: inout MatchingEvents) {
        let m = Int(slot)
        let left = pool[m].remaining
        pool[m].preventedQty += left
        pool[m].remaining = 0
        pool[m].status = .expiredInMatch
        let code = clientCode(slot, &events)
        var r = report(pool[m], .expired, .expiredInMatch, time: time, clientOrderID: code)
        r.isMaker = true
        r.preventedMatchID = p
        r.lastPreventedQuantity = left
        events.appendReport(r)
        removeResting(slot)
    }

    /// STP: the taker expires in match with its whole remainder prevented.
    func expireTaker(
        _ t: UnsafeMutablePointer<FastBookOrder>, clientOrderID: EventString, p: Int64, price: Int64, time: Int64,
        into events: inout MatchingEvents
    ) {
        let left = Self.takerRemaining(t.pointee, price: price)
        t.pointee.preventedQty += left
        if !t.pointee.isQuoteOrder { t.pointee.remaining = 0 }
        t.pointee.status = .expiredInMatch
        var r = report(t.pointee, .expired, .expiredInMatch, time: time, clientOrderID: clientOrderID)
        r.preventedMatchID = p
        r.lastPreventedQuantity = left
        events.appendReport(r)
    }

    /// FOK: quantity available to this taker within its limit (same-user makers excluded unless
    /// STP is NONE), stopping as soon as the order's quantity is covered.
    func fillable(_ t: FastBookOrder) -> Int64 {
        let side = t.side == .buy ? asks : bids
        var sum: Int64 = 0
        var index = side.ladder.count - 1
        while index >= 0 {
            let level = side.levels[Int(side.ladder[index].slot)]
            if !Self.crosses(t, level.price) { break }
            var slot = level.head  // -1 for an empty rung
            while slot >= 0 {
                let i = Int(slot)
                if t.stp == .none || pool[i].userID != t.userID {
                    sum += pool[i].remaining
                    if sum >= t.quantity { return sum }
                }
                slot = pool[i].next
            }
            index -= 1
        }
        return sum
    }

    // MARK: - Stops

    /// Moves every untriggered stop whose condition holds, in placement order, to the FIFO.
    mutating func collectTriggeredStops() {
        var slot = stopHead
        while slot >= 0 {
            let i = Int(slot)
            let next = pool[i].next
            if Self.stopTriggers(type: pool[i].type, side: pool[i].side, stopPrice: pool[i].stopPrice, last: lastTradePrice) {
                unlinkStop(slot)
                scratch.append(slot)
            }
            slot = next
        }
    }

    /// Runs triggered stops as takers at `time`, re-checking after each that traded (cascade).
    mutating func runTriggeredStops(time: Int64, into events: inout MatchingEvents) {
        scratch.removeAll(keepingCapacity: true)
        collectTriggeredStops()
        var k = 0
        while k < scratch.count {
            let slot = scratch[k]
            k += 1
            // Out of the indexes while it matches (re-registered if it rests); the slot is kept.
            let clientOrderID = clientID(slot)
            let code = events.string(clientOrderID)
            unregister(slot)
            pool[Int(slot)].working = true
            pool[Int(slot)].workingTime = time
            pool[Int(slot)].location = .free
            events.appendReport(report(pool[Int(slot)], .new, .new, time: time, clientOrderID: code))
            tradedInCommand = false
            execute(slot, clientOrderID: clientOrderID, code: code, time: time, into: &events)
            if tradedInCommand && stopCount > 0 { collectTriggeredStops() }
        }
        tradedInCommand = false
    }
}
