import ExchangeProtocol

/// The high-performance order book (exchange-core / Liquibook style) implementing
/// `docs/matching-semantics.md`: orders are trivial structs in one pooled buffer
/// (`FastBookBuffer`, copy-on-write) reused through a free list, each price level is an Int32-linked FIFO in a per-side level pool reached by a price
/// table and ordered by a sorted ladder with the best level last (`FastBookSide`), and tables (warm capacity, no per-command allocation) index orders by id,
/// by (user, clientOrderID) and users by id. A value type: copies are independent books.
public struct FastBook: OrderBookEngine {
    /// The symbol's settings.
    public let rules: SymbolRules
    /// `rules.allowedSelfTradePrevention` as bits by `allCases` index (a Set lookup hashes).
    let allowedSTPMask: UInt8

    /// The order slots (in use or on the free list); `pool` points into it.
    var orders = FastBookBuffer<FastBookOrder>(capacity: 256)
    var freeHead: Int32 = -1
    /// clientOrderIDs by slot, for orders with `hasClientID` (grown on demand; most orders have none).
    var clientIDs: [String] = []
    var bids = FastBookSide(isBid: true)
    var asks = FastBookSide(isBid: false)
    /// Starts small and doubles: with a thousand books per process, pre-sized empty tables
    /// would spread every book's hot data over more cache lines.
    var byID = FastBookIDMap(capacity: 64)
    var byClientID: [FastBookClientKey: Int32] = [:]
    var userSlots = FastBookIDMap(capacity: 64)
    /// Head of each user's open-order list (by user slot).
    var userHeads = FastBookBuffer<Int32>(capacity: 64)
    var stopHead: Int32 = -1
    var stopTail: Int32 = -1
    var stopCount = 0
    var restingCount = 0
    /// Scratch for triggered stops and cancel-all (reused; no per-command allocation once warm).
    var scratch: [Int32] = []

    var lastTradeID: Int64 = 0
    /// The newest `levelChanged.updateID` (0 before any).
    public internal(set) var lastUpdateID: Int64 = 0
    var lastPreventedMatchID: Int64 = 0
    /// The newest trade's price (0 before any).
    public internal(set) var lastTradePrice: Int64 = 0
    /// Set when the current command made a trade (stops are checked afterwards).
    var tradedInCommand = false
    /// `rules.baseAsset`/`quoteAsset` as reports hold them, encoded once (nil when too long to
    /// be inline: then each report's buffer gets a table entry).
    let baseAssetCode: EventString?
    let quoteAssetCode: EventString?

    /// An empty book for `rules`.
    public init(rules: SymbolRules) {
        self.rules = rules
        var mask: UInt8 = 0
        for (index, mode) in SelfTradePreventionMode.allCases.enumerated() where rules.allowedSelfTradePrevention.contains(mode) {
            mask |= 1 << UInt8(index)
        }
        allowedSTPMask = mask
        baseAssetCode = EventString(inline: rules.baseAsset)
        quoteAssetCode = EventString(inline: rules.quoteAsset)
        scratch.reserveCapacity(64)
    }

    /// The order slots. Writable through the pointer: only after `makeUnique()`; moved by
    /// `takeSlot()` (re-read it after one).
    @inline(__always)
    var pool: UnsafeMutablePointer<FastBookOrder> { orders.base }

    /// Copy-on-write of the pooled buffers: every mutating entry point calls this first.
    @inline(__always)
    mutating func makeUnique() {
        orders.makeUnique()
        userHeads.makeUnique()
        bids.levels.makeUnique()
        asks.levels.makeUnique()
    }

    /// The clientOrderID of the order in `slot` ("" when it has none).
    @inline(__always)
    func clientID(_ slot: Int32) -> String {
        pool[Int(slot)].hasClientID ? clientIDs[Int(slot)] : ""
    }

    /// The clientOrderID of the order in `slot` as `events` holds it (no work when it has none).
    @inline(__always)
    func clientCode(_ slot: Int32, _ events: inout MatchingEvents) -> EventString {
        pool[Int(slot)].hasClientID ? events.string(clientIDs[Int(slot)]) : .empty
    }

    /// The commission asset of a fill: base for the buyer, quote for the seller.
    @inline(__always)
    func assetCode(buyer: Bool, _ events: inout MatchingEvents) -> EventString {
        if buyer { return baseAssetCode ?? events.string(rules.baseAsset) }
        return quoteAssetCode ?? events.string(rules.quoteAsset)
    }

    /// Resting orders plus untriggered stops.
    public var openOrderCount: Int { restingCount + stopCount }

    /// Applies one command; see the contract for the exact events.
    public mutating func apply(_ command: MatchingCommand, into events: inout MatchingEvents) {
        makeUnique()
        // The events' storage too: everything below appends without checking.
        events.makeUnique()
        tradedInCommand = false
        let time: Int64
        switch command {
        case .place(let request):
            time = request.time
            place(request, into: &events)
        case .cancel(let request):
            time = request.time
            _ = cancel(request, into: &events)
        case .amend(let request):
            time = request.time
            amend(request, into: &events)
        case .cancelReplace(let request):
            time = request.place.time
            let canceled = cancel(request.cancel, into: &events)
            if canceled || request.mode == .allowFailure { place(request.place, into: &events) }
        case .cancelAll(let userID, let t):
            time = t
            cancelAll(userID: userID, time: t, into: &events)
        }
        if tradedInCommand && stopCount > 0 { runTriggeredStops(time: time, into: &events) }
    }

    // MARK: - Place

    mutating func place(_ r: borrowing OrderRequest, into events: inout MatchingEvents) {
        let stp = r.selfTradePrevention ?? rules.defaultSelfTradePrevention
        if let rejection = validate(r, stp: stp) {
            reject(r.userID, r.orderID, r.clientOrderID, rejection.reason, into: &events)
            return
        }
        // Read once: building a report from `r.clientOrderID` copied the whole request each time.
        let (clientOrderID, time) = (r.clientOrderID, r.time)
        let code = events.string(clientOrderID)
        // Built straight into its pool slot: the taker matches there and, if it rests, stays.
        let slot = takeSlot()
        let order = pool + Int(slot)
        order.initialize(to: FastBookOrder(request: r, stp: stp))
        if order.pointee.type.isStop {
            order.pointee.working = false
            order.pointee.workingTime = -1
            events.appendReport(report(order.pointee, .new, .new, time: time, clientOrderID: code))
            addStop(slot, clientOrderID: clientOrderID)
            return
        }
        events.appendReport(report(order.pointee, .new, .new, time: time, clientOrderID: code))
        execute(slot, clientOrderID: clientOrderID, code: code, time: time, into: &events)
    }

    /// The contract's validation steps 1-5, in order; nil when the order is acceptable.
    /// `mutating` though it only reads: a non-mutating call from mutating code passes the whole
    /// ~400-byte book by value (a memcpy per command), and inlined here it made the optimizer copy
    /// the request (retaining its strings) on every place.
    @inline(never)
    mutating func validate(_ r: borrowing OrderRequest, stp: SelfTradePreventionMode) -> FastBookRejection? {
        if !r.clientOrderID.isEmpty, byClientID[FastBookClientKey(userID: r.userID, clientOrderID: r.clientOrderID)] != nil {
            return .duplicateOrder
        }
        if allowedSTPMask & (1 << UInt8(stp.bitIndex)) == 0 { return .stpModeNotAllowed }
        if r.price < 0 || r.quantity < 0 || r.quoteOrderQty < 0 || r.stopPrice < 0 || r.icebergQty < 0
            || r.quoteBudget < 0 {
            return .badQuantity
        }
        switch r.type {
        case .limit, .limitMaker, .stopLossLimit, .takeProfitLimit:
            if r.price <= 0 || r.quantity <= 0 { return .badQuantity }
        case .market:
            if (r.quantity > 0) == (r.quoteOrderQty > 0) { return .badQuantity }
        case .stopLoss, .takeProfit:
            if r.quantity <= 0 { return .badQuantity }
        }
        if r.type.isStop && r.stopPrice <= 0 { return .badQuantity }
        if r.icebergQty != 0 {
            let allowed = (r.type == .limit && r.timeInForce == .gtc) || r.type == .limitMaker
            if !allowed || r.icebergQty >= r.quantity { return .badQuantity }
        }
        if r.type == .limitMaker {
            if r.side == .buy, let best = asks.bestPrice, r.price >= best { return .wouldTake }
            if r.side == .sell, let best = bids.bestPrice, r.price <= best { return .wouldTake }
        }
        if r.type.isStop && lastTradePrice > 0
            && Self.stopTriggers(type: r.type, side: r.side, stopPrice: r.stopPrice, last: lastTradePrice) {
            return .stopWouldTrigger
        }
        return nil
    }

    /// The contract's trigger conditions against the last trade price.
    @inline(__always)
    static func stopTriggers(type: OrderType, side: Side, stopPrice: Int64, last: Int64) -> Bool {
        let stopLoss = type == .stopLoss || type == .stopLossLimit
        if stopLoss { return side == .buy ? last >= stopPrice : last <= stopPrice }
        return side == .buy ? last <= stopPrice : last >= stopPrice
    }

    // MARK: - Cancel, amend, cancel-all

    /// Finds an open order for cancel/amend: by id (owned by `userID`) or by clientOrderID when id is 0.
    @inline(__always)
    func find(userID: UInt64, orderID: UInt64, clientOrderID: String) -> Int32? {
        if orderID != 0 {
            guard let slot = byID[orderID], pool[Int(slot)].userID == userID else { return nil }
            return slot
        }
        if clientOrderID.isEmpty { return nil }
        return byClientID[FastBookClientKey(userID: userID, clientOrderID: clientOrderID)]
    }

    /// Returns whether the order was canceled (false: one `.rejected` was emitted).
    mutating func cancel(_ c: CancelRequest, into events: inout MatchingEvents) -> Bool {
        guard let slot = find(userID: c.userID, orderID: c.orderID, clientOrderID: c.origClientOrderID) else {
            reject(c.userID, c.orderID, c.origClientOrderID, BookRejection.unknownOrder, into: &events)
            return false
        }
        let cumulative = pool[Int(slot)].cumulativeQty
        switch c.cancelRestrictions {
        case .onlyNew? where cumulative != 0, .onlyPartiallyFilled? where cumulative == 0:
            reject(c.userID, c.orderID, c.origClientOrderID, BookRejection.cancelRestricted, into: &events)
            return false
        default:
            break
        }
        cancelSlot(slot, newClientOrderID: c.newClientOrderID, time: c.time, into: &events)
        return true
    }

    /// Emits the CANCELED report (then the level change if it rested) and removes the order.
    mutating func cancelSlot(_ slot: Int32, newClientOrderID: String, time: Int64, into events: inout MatchingEvents) {
        let i = Int(slot)
        let code = events.string(newClientOrderID)
        let original = clientCode(slot, &events)
        events.appendReport(report(
            pool[i], .canceled, .canceled, time: time, clientOrderID: code, origClientOrderID: original,
            isWorking: false))
        if pool[i].location == .resting {
            let (side, price) = (pool[i].side, pool[i].price)
            let total = removeResting(slot)
            emitLevel(side: side, price: price, quantity: total, into: &events)
        } else {
            removeStop(slot)
        }
    }

    mutating func amend(_ a: AmendRequest, into events: inout MatchingEvents) {
        guard let slot = find(userID: a.userID, orderID: a.orderID, clientOrderID: a.origClientOrderID) else {
            reject(a.userID, a.orderID, a.origClientOrderID, BookRejection.unknownOrder, into: &events)
            return
        }
        let i = Int(slot)
        if a.newQuantity >= pool[i].quantity {
            reject(a.userID, a.orderID, a.origClientOrderID, BookRejection.amendNotLess, into: &events)
            return
        }
        // An order shrunk by DECREMENT prevention also needs a positive remainder (the contract is silent).
        if a.newQuantity <= pool[i].cumulativeQty || a.newQuantity - pool[i].cumulativeQty - pool[i].preventedQty <= 0 {
            reject(a.userID, a.orderID, a.origClientOrderID, BookRejection.badQuantity, into: &events)
            return
        }
        let previousClientID = clientCode(slot, &events)
        let shrink = pool[i].quantity - a.newQuantity
        pool[i].quantity = a.newQuantity
        pool[i].remaining -= shrink
        if !a.newClientOrderID.isEmpty {
            setClientOrderID(slot, a.newClientOrderID)
        }
        let resting = pool[i].location == .resting
        if resting {
            let oldVisible = pool[i].visible
            let newVisible = min(oldVisible, pool[i].remaining)
            pool[i].visible = newVisible
            addToLevelTotal(side: pool[i].side, level: pool[i].level, newVisible - oldVisible)
        }
        let code = clientCode(slot, &events)
        events.appendReport(report(
            pool[i], .replaced, pool[i].status, time: a.time, clientOrderID: code, origClientOrderID: previousClientID))
        if resting { emitLevel(side: pool[i].side, price: pool[i].price, into: &events) }
    }

    mutating func cancelAll(userID: UInt64, time: Int64, into events: inout MatchingEvents) {
        scratch.removeAll(keepingCapacity: true)
        if let user = userSlots[userID] {
            var slot = userHeads[Int(user)]
            while slot >= 0 {
                scratch.append(slot)
                slot = pool[Int(slot)].userNext
            }
        }
        if scratch.isEmpty {
            reject(userID, 0, "", BookRejection.unknownOrder, into: &events)
            return
        }
        let slots = pool
        scratch.sort { slots[Int($0)].orderID < slots[Int($1)].orderID }
        for index in scratch.indices {
            cancelSlot(scratch[index], newClientOrderID: "", time: time, into: &events)
        }
    }

    func reject(
        _ userID: UInt64, _ orderID: UInt64, _ clientOrderID: String, _ reason: (code: Int32, message: String),
        into events: inout MatchingEvents
    ) {
        let code = events.string(clientOrderID)
        let message = events.string(reason.message)
        events.appendRejection(RejectionRecord(
            userID: userID, orderID: orderID, clientOrderID: code, code: reason.code, message: message))
    }

    // MARK: - Reports

    /// A report of `order`'s current state; by default with no fill (`last*` 0, `tradeID -1`, no
    /// commission). Hot callers pass every differing field here rather than patching a `var`
    /// copy: the ~250-byte record is then built once, straight into the append.
    /// Always inlined: called on `pool[slot]`, an out-of-line call copies the whole order just to
    /// read it. `clientOrderID` is the report's `c` (the order's own, or a cancel's).
    @inline(__always)
    func report(
        _ o: FastBookOrder, _ execution: ExecutionType, _ status: OrderStatus, time: Int64,
        clientOrderID: EventString, origClientOrderID: EventString = .empty, isWorking: Bool? = nil,
        isMaker: Bool = false, lastExecutedQty: Int64 = 0, lastPrice: Int64 = 0, lastQuoteQty: Int64 = 0,
        commission: Int64 = 0, commissionAsset: EventString = .empty, tradeID: Int64 = -1
    ) -> ExecutionReportRecord {
        ExecutionReportRecord(
            orderID: o.orderID, userID: o.userID, clientOrderID: clientOrderID,
            origClientOrderID: origClientOrderID, side: o.side, type: o.type, timeInForce: o.timeInForce,
            executionType: execution, status: status, isMaker: isMaker,
            isWorking: isWorking ?? (o.working && (status == .new || status == .partiallyFilled || status == .pendingNew)),
            selfTradePrevention: o.stp, quantity: o.quantity, price: o.price, stopPrice: o.stopPrice,
            icebergQty: o.icebergQty, quoteOrderQty: o.quoteOrderQty, rejectReason: .noRejectReason,
            lastExecutedQty: lastExecutedQty, cumulativeQty: o.cumulativeQty, cumulativeQuoteQty: o.cumulativeQuote,
            lastPrice: lastPrice, lastQuoteQty: lastQuoteQty, commission: commission, commissionAsset: commissionAsset,
            transactionTime: time, tradeID: tradeID, workingTime: o.workingTime, orderCreationTime: o.creationTime,
            preventedMatchID: 0, preventedQuantity: o.preventedQty, lastPreventedQuantity: 0,
            strategyID: o.strategyID, strategyType: o.strategyType)
    }
}

extension SelfTradePreventionMode {
    /// Index in `allCases`, without a search.
    @inline(__always)
    var bitIndex: Int {
        switch self {
        case .none: 0
        case .expireTaker: 1
        case .expireMaker: 2
        case .expireBoth: 3
        case .decrement: 4
        }
    }
}

/// Why `validate` refused an order: a byte on the hot path, Binance's code and message only
/// when a rejection is emitted.
enum FastBookRejection: UInt8 {
    case duplicateOrder, stpModeNotAllowed, badQuantity, wouldTake, stopWouldTrigger

    var reason: (code: Int32, message: String) {
        switch self {
        case .duplicateOrder: BookRejection.duplicateOrder
        case .stpModeNotAllowed: BookRejection.stpModeNotAllowed
        case .badQuantity: BookRejection.badQuantity
        case .wouldTake: BookRejection.wouldTake
        case .stopWouldTrigger: BookRejection.stopWouldTrigger
        }
    }
}

/// Key of the (user, clientOrderID) index of open orders.
struct FastBookClientKey: Hashable {
    var userID: UInt64
    var clientOrderID: String
}
