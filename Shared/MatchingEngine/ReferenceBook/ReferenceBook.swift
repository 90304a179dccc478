import ExchangeProtocol

/// The deliberately simple order book: `docs/matching-semantics.md` written out step by step, with
/// plain arrays and linear scans. It is the oracle the differential tests hold `FastBook` to, so
/// every choice here favours "obviously what the contract says" over speed.
///
/// Where the contract is silent the simplest reading is taken and marked `AMBIGUITY:` below.
public struct ReferenceBook: OrderBookEngine {
    /// The symbol's settings.
    public let rules: SymbolRules

    /// Resting bids in priority order: price descending, then time (arrival at the level).
    var bids: [ReferenceOrder] = []
    /// Resting asks in priority order: price ascending, then time.
    var asks: [ReferenceOrder] = []
    /// Untriggered stop orders in placement order.
    var stops: [ReferenceOrder] = []
    /// The id the next trade gets (the contract's `tradeID`, starting at 1).
    var nextTradeID: Int64 = 1
    /// The id the next `levelChanged` gets (the contract's `updateID`, starting at 1).
    var nextUpdateID: Int64 = 1
    /// The id the next self-trade prevention gets (the contract's `preventedMatchID`, starting at 1).
    var nextPreventedMatchID: Int64 = 1
    /// Price of the newest trade, 0 before any.
    public private(set) var lastTradePrice: Int64 = 0

    static let scale: Int128 = 100_000_000

    /// An empty book for `rules`.
    public init(rules: SymbolRules) {
        self.rules = rules
    }

    init(rules: SymbolRules, bids: [ReferenceOrder], asks: [ReferenceOrder], stops: [ReferenceOrder],
         nextTradeID: Int64, nextUpdateID: Int64, nextPreventedMatchID: Int64, lastTradePrice: Int64) {
        self.rules = rules
        self.bids = bids
        self.asks = asks
        self.stops = stops
        self.nextTradeID = nextTradeID
        self.nextUpdateID = nextUpdateID
        self.nextPreventedMatchID = nextPreventedMatchID
        self.lastTradePrice = lastTradePrice
    }

    // MARK: Queries

    /// The id of the newest `levelChanged` (0 before any).
    public var lastUpdateID: Int64 { nextUpdateID - 1 }

    /// Resting orders plus untriggered stops.
    public var openOrderCount: Int { bids.count + asks.count + stops.count }

    /// Visible quantity per price level, best first, at most `limit` levels per side.
    public func depth(limit: Int) -> (bids: [(price: Int64, quantity: Int64)], asks: [(price: Int64, quantity: Int64)]) {
        (Self.levels(bids, limit: limit), Self.levels(asks, limit: limit))
    }

    static func levels(_ side: [ReferenceOrder], limit: Int) -> [(price: Int64, quantity: Int64)] {
        var result: [(price: Int64, quantity: Int64)] = []
        for order in side {
            if let last = result.last, last.price == order.price {
                result[result.count - 1].quantity += order.visible
            } else {
                if result.count == limit { break }
                result.append((order.price, order.visible))
            }
        }
        return result
    }

    // MARK: Commands

    /// Applies `command`, appending its events in contract order.
    public mutating func apply(_ command: MatchingCommand, into events: inout MatchingEvents) {
        let tradeIDBefore = nextTradeID
        let stopTime: Int64
        switch command {
        case .place(let request):
            place(request, into: &events)
            stopTime = request.time
        case .cancel(let request):
            _ = cancel(request, into: &events)
            stopTime = request.time
        case .amend(let request):
            amend(request, into: &events)
            stopTime = request.time
        case .cancelReplace(let request):
            let canceled = cancel(request.cancel, into: &events)
            if canceled || request.mode == .allowFailure {
                place(request.place, into: &events)
            }
            // AMBIGUITY: stops triggered by the replacement run at the place's time (the only
            // command part that can trade).
            stopTime = request.place.time
        case .cancelAll(let userID, let time):
            cancelAll(userID: userID, time: time, into: &events)
            stopTime = time
        }
        if nextTradeID != tradeIDBefore {
            runTriggeredStops(time: stopTime, into: &events)
        }
    }

    // MARK: Place

    mutating func place(_ request: OrderRequest, into events: inout MatchingEvents) {
        if let reason = validate(request) {
            events.append(.rejected(Rejection(
                userID: request.userID, orderID: request.orderID, clientOrderID: request.clientOrderID,
                code: reason.code, message: reason.message)))
            return
        }
        var order = ReferenceOrder(
            request: request, stp: request.selfTradePrevention ?? rules.defaultSelfTradePrevention)
        if order.isQuoteOrder { order.remaining = 0; order.visible = 0 }
        if order.isStopType {
            order.isWorking = false
            order.workingTime = -1
            events.append(.report(report(order, .new, .new, time: request.time)))
            stops.append(order)
            return
        }
        events.append(.report(report(order, .new, .new, time: request.time)))
        execute(order, time: request.time, into: &events)
    }

    func validate(_ r: OrderRequest) -> (code: Int32, message: String)? {
        if !r.clientOrderID.isEmpty && hasOpenOrder(userID: r.userID, clientOrderID: r.clientOrderID) {
            return BookRejection.duplicateOrder
        }
        let stp = r.selfTradePrevention ?? rules.defaultSelfTradePrevention
        if !rules.allowedSelfTradePrevention.contains(stp) {
            return BookRejection.stpModeNotAllowed
        }
        // AMBIGUITY: "negative values anywhere" = any of the eight amount fields (not ids, times
        // or strategy fields).
        if r.price < 0 || r.quantity < 0 || r.quoteOrderQty < 0 || r.stopPrice < 0 || r.icebergQty < 0
            || r.quoteBudget < 0 || r.makerCommissionRate < 0 || r.takerCommissionRate < 0 {
            return BookRejection.badQuantity
        }
        switch r.type {
        case .limit, .limitMaker, .stopLossLimit, .takeProfitLimit:
            if r.price <= 0 || r.quantity <= 0 { return BookRejection.badQuantity }
        case .market:
            if (r.quantity > 0) == (r.quoteOrderQty > 0) { return BookRejection.badQuantity }
        case .stopLoss, .takeProfit:
            if r.quantity <= 0 { return BookRejection.badQuantity }
        }
        switch r.type {
        case .stopLoss, .stopLossLimit, .takeProfit, .takeProfitLimit:
            if r.stopPrice <= 0 { return BookRejection.badQuantity }
        case .limit, .market, .limitMaker:
            break
        }
        if r.icebergQty != 0 {
            let icebergType = (r.type == .limit && r.timeInForce == .gtc) || r.type == .limitMaker
            if !icebergType || r.icebergQty >= r.quantity { return BookRejection.badQuantity }
        }
        if r.type == .limitMaker {
            let opposite = r.side == .buy ? asks : bids
            if let best = opposite.first {
                if (r.side == .buy && r.price >= best.price) || (r.side == .sell && r.price <= best.price) {
                    return BookRejection.wouldTake
                }
            }
        }
        if lastTradePrice > 0 && ReferenceOrder.stopTriggers(
            type: r.type, side: r.side, stopPrice: r.stopPrice, lastTradePrice: lastTradePrice) {
            return BookRejection.stopWouldTrigger
        }
        return nil
    }

    /// Runs `taker` (already announced with its NEW report) against the book, then rests or
    /// expires what is left.
    mutating func execute(_ order: ReferenceOrder, time: Int64, into events: inout MatchingEvents) {
        var taker = order
        let limitTyped = taker.type == .limit || taker.type == .stopLossLimit || taker.type == .takeProfitLimit

        // FOK: all or nothing, judged before anything trades.
        if limitTyped && taker.timeInForce == .fok {
            var fillable: Int64 = 0
            for maker in opposite(of: taker.side) where crosses(taker, maker) {
                if maker.userID == taker.userID && taker.selfTradePrevention != .none { continue }
                fillable += maker.remaining
            }
            if fillable < taker.quantity {
                events.append(.report(expiredReport(taker, time: time)))
                return
            }
        }

        let ended = match(&taker, time: time, into: &events)
        if ended { return }
        if isDone(taker) { return }

        // AMBIGUITY: LIMIT_MAKER ignores timeInForce (the request doc says it is only read for
        // LIMIT and *_LIMIT) and always rests.
        let rests = taker.type == .limitMaker || (limitTyped && taker.timeInForce == .gtc)
        if rests {
            taker.visible = taker.icebergQty > 0 ? min(taker.icebergQty, taker.remaining) : taker.remaining
            insertAtBackOfLevel(taker)
            emitLevel(side: taker.side, price: taker.price, into: &events)
        } else {
            events.append(.report(expiredReport(taker, time: time)))
        }
    }

    /// Quantity-based orders are done when nothing remains; quote orders when no quote is left.
    func isDone(_ taker: ReferenceOrder) -> Bool {
        taker.isQuoteOrder ? taker.quoteOrderQty - taker.cumulativeQuoteQty == 0 : taker.remaining == 0
    }

    func crosses(_ taker: ReferenceOrder, _ maker: ReferenceOrder) -> Bool {
        if taker.matchesAsMarket { return true }
        return taker.side == .buy ? maker.price <= taker.price : maker.price >= taker.price
    }

    /// The most base quantity the taker may take at `price` because of a quote limit
    /// (quoteOrderQty, or a MARKET BUY's quoteBudget); `Int64.max` when uncapped.
    func cap(_ taker: ReferenceOrder, price: Int64) -> Int64 {
        if taker.isQuoteOrder {
            let quoteCap = Self.clamp(Int128(taker.quoteOrderQty - taker.cumulativeQuoteQty) * Self.scale / Int128(price))
            // MARKET SELL by quote: never more base than the ledger reserved (the budget).
            if taker.side == .sell && taker.quoteBudget > 0 { return min(quoteCap, taker.quoteBudget - taker.cumulativeQty) }
            return quoteCap
        }
        if taker.matchesAsMarket && taker.side == .buy && taker.quoteBudget > 0 {
            return Self.clamp(Int128(taker.quoteBudget - taker.cumulativeQuoteQty) * Self.scale / Int128(price))
        }
        return .max
    }

    /// Matches `taker` against the opposite side. Returns true when the taker ended in a
    /// self-trade prevention (its EXPIRED_IN_MATCH report is already out).
    mutating func match(_ taker: inout ReferenceOrder, time: Int64, into events: inout MatchingEvents) -> Bool {
        while !isDone(taker) {
            guard let maker = opposite(of: taker.side).first, crosses(taker, maker) else { return false }
            let cap = cap(taker, price: maker.price)
            // AMBIGUITY: "a cap of 0 ends matching" is checked before self-trade prevention too.
            if cap <= 0 { return false }
            // AMBIGUITY: a quote order's "remaining" (for STP) is its cap at the maker's price.
            let takerRemaining = taker.isQuoteOrder ? cap : taker.remaining

            if maker.userID == taker.userID && taker.selfTradePrevention != .none {
                if preventSelfTrade(&taker, takerRemaining: takerRemaining, time: time, into: &events) {
                    return true
                }
                continue
            }

            let q = min(takerRemaining, maker.visible, cap)
            if q == 0 { return false }
            trade(&taker, quantity: q, time: time, into: &events)
        }
        return false
    }

    /// One self-trade prevention against the best opposite order. Returns true when the taker ended.
    mutating func preventSelfTrade(
        _ taker: inout ReferenceOrder, takerRemaining: Int64, time: Int64, into events: inout MatchingEvents
    ) -> Bool {
        let side = taker.side.opposite
        var maker = opposite(of: taker.side)[0]
        let p = nextPreventedMatchID
        nextPreventedMatchID += 1

        switch taker.selfTradePrevention {
        case .none:
            preconditionFailure("NONE never prevents")
        case .expireTaker:
            expireTakerInMatch(&taker, takerRemaining: takerRemaining, preventedMatchID: p, time: time, into: &events)
            return true
        case .expireMaker:
            expireBestMakerInMatch(side: side, preventedMatchID: p, time: time, into: &events)
            return false
        case .expireBoth:
            expireBestMakerInMatch(side: side, preventedMatchID: p, time: time, into: &events)
            expireTakerInMatch(&taker, takerRemaining: takerRemaining, preventedMatchID: p, time: time, into: &events)
            return true
        case .decrement:
            // AMBIGUITY: both sides' preventedQuantity grow by d, and d is each report's
            // lastPreventedQuantity (for the side that hit 0, d is its whole remainder, as in the
            // EXPIRE modes). Events: maker report, taker report, then the level change.
            // A quote order's quote left is unchanged; it ends when d reached its cap.
            let d = min(takerRemaining, maker.remaining)
            maker.remaining -= d
            maker.preventedQuantity += d
            maker.visible = min(maker.visible, maker.remaining)
            if !taker.isQuoteOrder { taker.remaining -= d }
            taker.preventedQuantity += d
            let takerEnded = d == takerRemaining

            var mr = maker.remaining == 0
                ? report(maker, .expired, .expiredInMatch, time: time)
                : report(maker, .tradePrevention, maker.openStatus, time: time)
            mr.isMaker = true
            mr.isWorking = maker.remaining > 0
            mr.preventedMatchID = p
            mr.lastPreventedQuantity = d
            events.append(.report(mr))

            var tr = takerEnded
                ? report(taker, .expired, .expiredInMatch, time: time)
                : report(taker, .tradePrevention, taker.openStatus, time: time)
            tr.isWorking = !takerEnded
            tr.preventedMatchID = p
            tr.lastPreventedQuantity = d
            events.append(.report(tr))

            if maker.remaining == 0 {
                removeResting(side: side, index: 0)
            } else {
                setResting(side: side, index: 0, maker)
            }
            emitLevel(side: side, price: maker.price, into: &events)
            return takerEnded
        }
    }

    /// EXPIRE_MAKER's half: the best `side` order expires with its whole remainder and leaves.
    mutating func expireBestMakerInMatch(side: Side, preventedMatchID p: Int64, time: Int64, into events: inout MatchingEvents) {
        var maker = side == .buy ? bids[0] : asks[0]
        let prevented = maker.remaining
        maker.preventedQuantity += prevented
        var r = report(maker, .expired, .expiredInMatch, time: time)
        r.isMaker = true
        r.isWorking = false
        r.preventedMatchID = p
        r.lastPreventedQuantity = prevented
        events.append(.report(r))
        removeResting(side: side, index: 0)
        emitLevel(side: side, price: maker.price, into: &events)
    }

    /// EXPIRE_TAKER's half: the taker expires with its remainder.
    func expireTakerInMatch(_ taker: inout ReferenceOrder, takerRemaining: Int64, preventedMatchID p: Int64, time: Int64,
                            into events: inout MatchingEvents) {
        taker.preventedQuantity += takerRemaining
        var r = report(taker, .expired, .expiredInMatch, time: time)
        r.isWorking = false
        r.preventedMatchID = p
        r.lastPreventedQuantity = takerRemaining
        events.append(.report(r))
    }

    /// One trade of `q` between the taker and the best opposite order.
    mutating func trade(_ taker: inout ReferenceOrder, quantity q: Int64, time: Int64, into events: inout MatchingEvents) {
        let side = taker.side.opposite
        var maker = opposite(of: taker.side)[0]
        let price = maker.price
        let quote = Self.clamp(Int128(price) * Int128(q) / Self.scale)
        let tradeID = nextTradeID
        nextTradeID += 1
        lastTradePrice = price

        maker.cumulativeQty += q
        maker.cumulativeQuoteQty += quote
        maker.remaining -= q
        maker.visible -= q
        taker.cumulativeQty += q
        taker.cumulativeQuoteQty += quote
        if !taker.isQuoteOrder { taker.remaining -= q }

        // The buyer receives base, the seller quote; each pays its own rate on what it receives.
        let makerCommission = Self.commission(received: maker.side == .buy ? q : quote, rate: maker.makerCommissionRate)
        let takerCommission = Self.commission(received: taker.side == .buy ? q : quote, rate: taker.takerCommissionRate)
        let (buyer, seller) = taker.side == .buy ? (taker, maker) : (maker, taker)
        events.append(.trade(TradeEvent(
            tradeID: tradeID, price: price, quantity: q, quoteQuantity: quote,
            buyerOrderID: buyer.orderID, sellerOrderID: seller.orderID,
            buyerUserID: buyer.userID, sellerUserID: seller.userID, buyerIsMaker: maker.side == .buy,
            buyerCommission: taker.side == .buy ? takerCommission : makerCommission,
            sellerCommission: taker.side == .sell ? takerCommission : makerCommission,
            time: time)))

        let makerStatus: OrderStatus = maker.cumulativeQty == maker.quantity ? .filled : .partiallyFilled
        events.append(.report(tradeReport(maker, status: makerStatus, isMaker: true, q: q, price: price, quote: quote,
                                          tradeID: tradeID, commission: makerCommission, time: time)))
        let takerFilled = taker.isQuoteOrder
            ? taker.cumulativeQuoteQty == taker.quoteOrderQty
            : taker.cumulativeQty == taker.quantity
        events.append(.report(tradeReport(taker, status: takerFilled ? .filled : .partiallyFilled, isMaker: false, q: q,
                                          price: price, quote: quote, tradeID: tradeID, commission: takerCommission,
                                          time: time)))

        if maker.remaining == 0 {
            removeResting(side: side, index: 0)
        } else if maker.visible == 0 {
            // Iceberg refill: a new slice at the back of the same level (loses priority).
            maker.visible = min(maker.icebergQty, maker.remaining)
            removeResting(side: side, index: 0)
            insertAtBackOfLevel(maker)
        } else {
            setResting(side: side, index: 0, maker)
        }
        emitLevel(side: side, price: price, into: &events)
    }

    static func commission(received: Int64, rate: Int64) -> Int64 {
        clamp(Int128(received) * Int128(rate) / scale)
    }

    /// AMBIGUITY: the contract does not say what happens past Int64; values saturate.
    static func clamp(_ value: Int128) -> Int64 {
        if value > Int128(Int64.max) { return .max }
        if value < Int128(Int64.min) { return .min }
        return Int64(value)
    }

    // MARK: Stops

    /// Triggers every untriggered stop whose condition holds, FIFO, re-checking after each one that traded.
    mutating func runTriggeredStops(time: Int64, into events: inout MatchingEvents) {
        var fifo = takeTriggeredStops()
        while !fifo.isEmpty {
            var order = fifo.removeFirst()
            order.isWorking = true
            order.workingTime = time
            events.append(.report(report(order, .new, .new, time: time)))
            let tradeIDBefore = nextTradeID
            execute(order, time: time, into: &events)
            if nextTradeID != tradeIDBefore {
                fifo.append(contentsOf: takeTriggeredStops())
            }
        }
    }

    mutating func takeTriggeredStops() -> [ReferenceOrder] {
        let last = lastTradePrice
        let triggered = stops.filter { $0.stopTriggers(lastTradePrice: last) }
        stops.removeAll { $0.stopTriggers(lastTradePrice: last) }
        return triggered
    }

    // MARK: Cancel / amend

    /// Where an open order lives.
    enum Location: Equatable {
        case resting(Side, Int)
        case stop(Int)
    }

    /// Every open order of `userID`: resting bids, resting asks, then stops.
    func openOrders(of userID: UInt64) -> [ReferenceOrder] {
        (bids + asks + stops).filter { $0.userID == userID }
    }

    /// Whether `userID` has an open order (resting or stop) with this clientOrderID.
    func hasOpenOrder(userID: UInt64, clientOrderID: String) -> Bool {
        func scan(_ list: [ReferenceOrder]) -> Bool {
            var i = 0
            while i < list.count {
                if list[i].userID == userID && list[i].clientOrderID == clientOrderID { return true }
                i += 1
            }
            return false
        }
        return scan(bids) || scan(asks) || scan(stops)
    }

    func order(at location: Location) -> ReferenceOrder {
        switch location {
        case .resting(.buy, let i): return bids[i]
        case .resting(.sell, let i): return asks[i]
        case .stop(let i): return stops[i]
        }
    }

    /// By `orderID` (must be the user's), or when it is 0 by the user's open order with that
    /// clientOrderID. AMBIGUITY: an empty `origClientOrderID` never matches; should several open
    /// orders share a clientOrderID (only possible through amend), the lowest orderID wins.
    func find(userID: UInt64, orderID: UInt64, clientOrderID: String) -> Location? {
        var best: (location: Location, orderID: UInt64)?
        func consider(_ o: ReferenceOrder, _ location: Location) {
            guard o.userID == userID else { return }
            let hit = orderID != 0 ? o.orderID == orderID : (!clientOrderID.isEmpty && o.clientOrderID == clientOrderID)
            if hit && (best == nil || o.orderID < best!.orderID) { best = (location, o.orderID) }
        }
        // Index loops rather than `enumerated()`: the reference book must stay quick in debug
        // builds, where the differential tests run it hundreds of thousands of times.
        var i = 0
        while i < bids.count { consider(bids[i], .resting(.buy, i)); i += 1 }
        i = 0
        while i < asks.count { consider(asks[i], .resting(.sell, i)); i += 1 }
        i = 0
        while i < stops.count { consider(stops[i], .stop(i)); i += 1 }
        return best?.location
    }

    /// Returns whether the order was canceled.
    @discardableResult
    mutating func cancel(_ request: CancelRequest, into events: inout MatchingEvents) -> Bool {
        // AMBIGUITY: cancel and amend rejections carry the request's orderID and origClientOrderID.
        func reject(_ reason: (code: Int32, message: String)) {
            events.append(.rejected(Rejection(
                userID: request.userID, orderID: request.orderID, clientOrderID: request.origClientOrderID,
                code: reason.code, message: reason.message)))
        }
        guard let location = find(userID: request.userID, orderID: request.orderID, clientOrderID: request.origClientOrderID) else {
            reject(BookRejection.unknownOrder)
            return false
        }
        let o = order(at: location)
        switch request.cancelRestrictions {
        case .onlyNew?: if o.cumulativeQty != 0 { reject(BookRejection.cancelRestricted); return false }
        case .onlyPartiallyFilled?: if o.cumulativeQty == 0 { reject(BookRejection.cancelRestricted); return false }
        case nil: break
        }
        remove(at: location, newClientOrderID: request.newClientOrderID, time: request.time, into: &events)
        return true
    }

    mutating func remove(at location: Location, newClientOrderID: String, time: Int64, into events: inout MatchingEvents) {
        let o = order(at: location)
        var r = report(o, .canceled, .canceled, time: time)
        r.clientOrderID = newClientOrderID
        r.origClientOrderID = o.clientOrderID
        r.isWorking = false
        events.append(.report(r))
        switch location {
        case .resting(let side, let i):
            removeResting(side: side, index: i)
            emitLevel(side: side, price: o.price, into: &events)
        case .stop(let i):
            stops.remove(at: i)
        }
    }

    mutating func cancelAll(userID: UInt64, time: Int64, into events: inout MatchingEvents) {
        let ids = openOrders(of: userID).map(\.orderID).sorted()
        if ids.isEmpty {
            events.append(.rejected(Rejection(
                userID: userID, orderID: 0, clientOrderID: "",
                code: BookRejection.unknownOrder.code, message: BookRejection.unknownOrder.message)))
            return
        }
        for id in ids {
            let location = find(userID: userID, orderID: id, clientOrderID: "")!
            remove(at: location, newClientOrderID: "", time: time, into: &events)
        }
    }

    mutating func amend(_ request: AmendRequest, into events: inout MatchingEvents) {
        func reject(_ reason: (code: Int32, message: String)) {
            events.append(.rejected(Rejection(
                userID: request.userID, orderID: request.orderID, clientOrderID: request.origClientOrderID,
                code: reason.code, message: reason.message)))
        }
        guard let location = find(userID: request.userID, orderID: request.orderID, clientOrderID: request.origClientOrderID) else {
            return reject(BookRejection.unknownOrder)
        }
        var o = order(at: location)
        if request.newQuantity >= o.quantity { return reject(BookRejection.amendNotLess) }
        if request.newQuantity <= o.cumulativeQty { return reject(BookRejection.badQuantity) }
        // AMBIGUITY: the remainder shrinks by the same amount as the quantity; when earlier
        // DECREMENT preventions would leave nothing (or less) the amend is `badQuantity` too.
        let newRemaining = o.remaining - (o.quantity - request.newQuantity)
        if newRemaining <= 0 { return reject(BookRejection.badQuantity) }

        let previousClientOrderID = o.clientOrderID
        o.quantity = request.newQuantity
        o.remaining = newRemaining
        o.visible = min(o.visible, newRemaining)
        if !request.newClientOrderID.isEmpty { o.clientOrderID = request.newClientOrderID }
        var r = report(o, .replaced, o.openStatus, time: request.time)
        r.origClientOrderID = previousClientOrderID
        events.append(.report(r))
        switch location {
        case .resting(let side, let i):
            setResting(side: side, index: i, o)
            emitLevel(side: side, price: o.price, into: &events)
        case .stop(let i):
            stops[i] = o
        }
    }

    // MARK: Book sides

    func opposite(of side: Side) -> [ReferenceOrder] { side == .buy ? asks : bids }

    mutating func removeResting(side: Side, index: Int) {
        if side == .buy { bids.remove(at: index) } else { asks.remove(at: index) }
    }

    mutating func setResting(side: Side, index: Int, _ order: ReferenceOrder) {
        if side == .buy { bids[index] = order } else { asks[index] = order }
    }

    /// Puts `order` behind every order at its price (and before worse prices).
    mutating func insertAtBackOfLevel(_ order: ReferenceOrder) {
        if order.side == .buy {
            let index = bids.firstIndex(where: { $0.price < order.price }) ?? bids.count
            bids.insert(order, at: index)
        } else {
            let index = asks.firstIndex(where: { $0.price > order.price }) ?? asks.count
            asks.insert(order, at: index)
        }
    }

    /// Emits the level's total visible quantity (0 = gone) with the next update id.
    /// AMBIGUITY: emitted whenever the contract says so, even if the quantity did not change.
    mutating func emitLevel(side: Side, price: Int64, into events: inout MatchingEvents) {
        let orders = side == .buy ? bids : asks
        var quantity: Int64 = 0
        var i = 0
        while i < orders.count {
            if orders[i].price == price { quantity += orders[i].visible }
            i += 1
        }
        events.append(.levelChanged(side: side, price: price, quantity: quantity, updateID: nextUpdateID))
        nextUpdateID += 1
    }

    // MARK: Reports

    /// A report of `order`'s current state with the "nothing happened in this report" defaults:
    /// no fill, `tradeID -1`, no commission (asset ""), no prevention (`preventedMatchID 0`).
    /// `isWorking` (Binance's `w`, "is the order on the book") is true while the order is placed or
    /// triggered and still open (NEW or PARTIALLY_FILLED); false on FILLED and on the terminal
    /// reports (expired, expired in match, canceled), which also set it at their call sites.
    func report(_ o: ReferenceOrder, _ executionType: ExecutionType, _ status: OrderStatus, time: Int64) -> ExecutionReport {
        ExecutionReport(
            orderID: o.orderID, userID: o.userID, clientOrderID: o.clientOrderID, origClientOrderID: "",
            side: o.side, type: o.type, timeInForce: o.timeInForce, quantity: o.quantity, price: o.price,
            stopPrice: o.stopPrice, icebergQty: o.icebergQty, quoteOrderQty: o.quoteOrderQty,
            executionType: executionType, status: status, rejectReason: "NONE", lastExecutedQty: 0,
            cumulativeQty: o.cumulativeQty, cumulativeQuoteQty: o.cumulativeQuoteQty, lastPrice: 0, lastQuoteQty: 0,
            commission: 0, commissionAsset: "", transactionTime: time, tradeID: -1, isMaker: false,
            isWorking: o.isWorking && (status == .new || status == .partiallyFilled),
            workingTime: o.workingTime, orderCreationTime: o.orderCreationTime,
            selfTradePrevention: o.selfTradePrevention, preventedMatchID: 0, preventedQuantity: o.preventedQuantity,
            lastPreventedQuantity: 0, strategyID: o.strategyID, strategyType: o.strategyType)
    }

    func expiredReport(_ o: ReferenceOrder, time: Int64) -> ExecutionReport {
        var r = report(o, .expired, .expired, time: time)
        r.isWorking = false
        return r
    }

    /// AMBIGUITY: trade reports always name the received asset, even when the commission is 0.
    func tradeReport(_ o: ReferenceOrder, status: OrderStatus, isMaker: Bool, q: Int64, price: Int64, quote: Int64,
                     tradeID: Int64, commission: Int64, time: Int64) -> ExecutionReport {
        var r = report(o, .trade, status, time: time)
        r.lastExecutedQty = q
        r.lastPrice = price
        r.lastQuoteQty = quote
        r.tradeID = tradeID
        r.commission = commission
        r.commissionAsset = o.side == .buy ? rules.baseAsset : rules.quoteAsset
        r.isMaker = isMaker
        return r
    }
}
