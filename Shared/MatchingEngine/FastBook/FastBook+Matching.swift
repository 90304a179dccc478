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

    /// Matches a taker (its NEW report already emitted), then rests or expires what is left.
    mutating func execute(_ t: inout FastBookOrder, time: Int64, into events: inout [MatchingEvent]) {
        let opposite = t.side.opposite
        if t.isLimitPriced && t.type != .limitMaker && t.timeInForce == .fok && fillable(t) < t.quantity {
            t.status = .expired
            events.append(.report(report(t, .expired, .expired, time: time)))
            return
        }
        var expiredInMatch = false
        matching: while true {
            guard let levelSlot = opposite == .buy ? bids.bestSlot : asks.bestSlot else { break }
            let level = opposite == .buy ? bids.levels[Int(levelSlot)] : asks.levels[Int(levelSlot)]
            let price = level.price
            if !Self.crosses(t, price) { break }
            let makerSlot = level.head
            let m = Int(makerSlot)

            if t.stp != .none && pool[m].userID == t.userID {
                lastPreventedMatchID += 1
                let p = lastPreventedMatchID
                switch t.stp {
                case .expireMaker:
                    expireMaker(makerSlot, p: p, time: time, into: &events)
                    emitLevel(side: opposite, price: price, into: &events)
                case .expireBoth:
                    expireMaker(makerSlot, p: p, time: time, into: &events)
                    emitLevel(side: opposite, price: price, into: &events)
                    expireTaker(&t, p: p, price: price, time: time, into: &events)
                    expiredInMatch = true
                    break matching
                case .decrement:
                    let takerLeft = Self.takerRemaining(t, price: price)
                    let d = min(takerLeft, pool[m].remaining)
                    pool[m].remaining -= d
                    pool[m].preventedQty += d
                    let oldVisible = pool[m].visible
                    let newVisible = min(oldVisible, pool[m].remaining)
                    pool[m].visible = newVisible
                    addToLevelTotal(side: opposite, level: levelSlot, newVisible - oldVisible)
                    let makerDone = pool[m].remaining == 0
                    if makerDone { pool[m].status = .expiredInMatch }
                    var makerReport = report(
                        pool[m], makerDone ? .expired : .tradePrevention, pool[m].status, time: time)
                    makerReport.isMaker = true
                    makerReport.preventedMatchID = p
                    makerReport.lastPreventedQuantity = d
                    events.append(.report(makerReport))
                    if makerDone { removeResting(makerSlot) }
                    if !t.isQuoteOrder { t.remaining -= d }
                    t.preventedQty += d
                    let takerDone = takerLeft - d == 0
                    if takerDone { t.status = .expiredInMatch }
                    var takerReport = report(t, takerDone ? .expired : .tradePrevention, t.status, time: time)
                    takerReport.preventedMatchID = p
                    takerReport.lastPreventedQuantity = d
                    events.append(.report(takerReport))
                    emitLevel(side: opposite, price: price, into: &events)
                    if takerDone {
                        expiredInMatch = true
                        break matching
                    }
                default:  // .expireTaker (.none never gets here)
                    expireTaker(&t, p: p, price: price, time: time, into: &events)
                    expiredInMatch = true
                    break matching
                }
                continue
            }

            var q = min(Self.takerRemaining(t, price: price), pool[m].visible)
            if !t.isLimitPriced && t.side == .buy && !t.isQuoteOrder && t.quoteBudget > 0 {
                q = min(q, fastBookMulDiv(t.quoteBudget - t.cumulativeQuote, Self.one, price))
            } else if t.isQuoteOrder && t.side == .sell && t.quoteBudget > 0 {
                q = min(q, t.quoteBudget - t.cumulativeQty)  // base budget
            }
            if q <= 0 { break }
            trade(&t, makerSlot: makerSlot, level: levelSlot, price: price, quantity: q, time: time, into: &events)
            if t.isQuoteOrder ? t.status == .filled : t.remaining == 0 { break }
        }
        if expiredInMatch { return }
        let left = t.isQuoteOrder ? t.quoteOrderQty - t.cumulativeQuote : t.remaining
        if left <= 0 { return }
        if !t.isQuoteOrder && t.restsRemainder {
            t.visible = t.icebergQty > 0 ? min(t.icebergQty, t.remaining) : t.remaining
            let total = addResting(t)
            emitLevel(side: t.side, price: t.price, quantity: total, into: &events)
        } else {
            t.status = .expired
            events.append(.report(report(t, .expired, .expired, time: time)))
        }
    }

    /// One fill of `quantity` at `price` against the maker at the head of the best level.
    @inline(__always)
    mutating func trade(
        _ t: inout FastBookOrder, makerSlot: Int32, level: Int32, price: Int64, quantity q: Int64, time: Int64,
        into events: inout [MatchingEvent]
    ) {
        let m = Int(makerSlot)
        let makerSide = t.side.opposite
        let quote = fastBookMulDiv(price, q, Self.one)
        lastTradeID += 1
        lastTradePrice = price
        tradedInCommand = true

        pool[m].remaining -= q
        pool[m].visible -= q
        pool[m].cumulativeQty += q
        pool[m].cumulativeQuote += quote
        pool[m].status = pool[m].cumulativeQty == pool[m].quantity ? .filled : .partiallyFilled
        if !t.isQuoteOrder { t.remaining -= q }
        t.cumulativeQty += q
        t.cumulativeQuote += quote
        if t.isQuoteOrder {
            t.status = t.quoteOrderQty == t.cumulativeQuote ? .filled : .partiallyFilled
        } else {
            t.status = t.cumulativeQty == t.quantity ? .filled : .partiallyFilled
        }

        let takerBuys = t.side == .buy
        let makerRate = pool[m].makerRate
        let buyerCommission = fastBookMulDiv(q, takerBuys ? t.takerRate : makerRate, Self.one)
        let sellerCommission = fastBookMulDiv(quote, takerBuys ? makerRate : t.takerRate, Self.one)
        let makerOrderID = pool[m].orderID
        let makerUserID = pool[m].userID
        events.append(.trade(TradeEvent(
            tradeID: lastTradeID, price: price, quantity: q, quoteQuantity: quote,
            buyerOrderID: takerBuys ? t.orderID : makerOrderID, sellerOrderID: takerBuys ? makerOrderID : t.orderID,
            buyerUserID: takerBuys ? t.userID : makerUserID, sellerUserID: takerBuys ? makerUserID : t.userID,
            buyerIsMaker: !takerBuys, buyerCommission: buyerCommission, sellerCommission: sellerCommission,
            time: time)))

        // The received asset: base for the buyer, quote for the seller.
        events.append(.report(report(
            pool[m], .trade, pool[m].status, time: time, isMaker: true, lastExecutedQty: q, lastPrice: price,
            lastQuoteQty: quote, commission: takerBuys ? sellerCommission : buyerCommission,
            commissionAsset: takerBuys ? rules.quoteAsset : rules.baseAsset, tradeID: lastTradeID)))
        events.append(.report(report(
            t, .trade, t.status, time: time, lastExecutedQty: q, lastPrice: price, lastQuoteQty: quote,
            commission: takerBuys ? buyerCommission : sellerCommission,
            commissionAsset: takerBuys ? rules.baseAsset : rules.quoteAsset, tradeID: lastTradeID)))

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
    mutating func expireMaker(_ slot: Int32, p: Int64, time: Int64, into events: inout [MatchingEvent]) {
        let m = Int(slot)
        let left = pool[m].remaining
        pool[m].preventedQty += left
        pool[m].remaining = 0
        pool[m].status = .expiredInMatch
        var r = report(pool[m], .expired, .expiredInMatch, time: time)
        r.isMaker = true
        r.preventedMatchID = p
        r.lastPreventedQuantity = left
        events.append(.report(r))
        removeResting(slot)
    }

    /// STP: the taker expires in match with its whole remainder prevented.
    func expireTaker(_ t: inout FastBookOrder, p: Int64, price: Int64, time: Int64, into events: inout [MatchingEvent]) {
        let left = Self.takerRemaining(t, price: price)
        t.preventedQty += left
        if !t.isQuoteOrder { t.remaining = 0 }
        t.status = .expiredInMatch
        var r = report(t, .expired, .expiredInMatch, time: time)
        r.preventedMatchID = p
        r.lastPreventedQuantity = left
        events.append(.report(r))
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
    mutating func runTriggeredStops(time: Int64, into events: inout [MatchingEvent]) {
        scratch.removeAll(keepingCapacity: true)
        collectTriggeredStops()
        var k = 0
        while k < scratch.count {
            let slot = scratch[k]
            k += 1
            var order = pool[Int(slot)]
            release(slot)
            order.working = true
            order.workingTime = time
            order.location = .free
            events.append(.report(report(order, .new, .new, time: time)))
            tradedInCommand = false
            execute(&order, time: time, into: &events)
            if tradedInCommand && stopCount > 0 { collectTriggeredStops() }
        }
        tradedInCommand = false
    }
}
