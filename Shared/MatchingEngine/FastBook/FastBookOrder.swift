import ExchangeProtocol

/// Where a pooled order slot currently lives. Kept as a tiny raw enum so the slot stays a plain struct.
enum FastBookLocation: UInt8 {
    case free = 0
    case resting = 1
    case stop = 2
}

/// One order as the fast book stores it: a value in the pool, linked to its neighbours by
/// Int32 slot indices (price-level FIFO or stop list in `next`/`prev`, the user's open orders in
/// `userNext`/`userPrev`), so nothing is allocated per order once the pool is warm.
///
/// Trivial (no references): the clientOrderID lives beside the pool (`FastBook.clientIDs`, flagged
/// by `hasClientID`), so copying an order is a plain memcpy without retain/release and the pool
/// needs no per-slot destruction.
struct FastBookOrder {
    var orderID: UInt64
    var userID: UInt64
    /// Whether `FastBook.clientIDs[slot]` holds this order's (non-empty) clientOrderID.
    var hasClientID: Bool
    var side: Side
    var type: OrderType
    var timeInForce: TimeInForce
    var stp: SelfTradePreventionMode
    var status: OrderStatus
    var location: FastBookLocation
    /// False only for untriggered stops (reports say `isWorking` only while working and open).
    var working: Bool
    var price: Int64
    var quantity: Int64
    var quoteOrderQty: Int64
    var stopPrice: Int64
    var icebergQty: Int64
    var quoteBudget: Int64
    var makerRate: Int64
    var takerRate: Int64
    var strategyID: Int64
    var strategyType: Int32
    var creationTime: Int64
    var workingTime: Int64
    /// Base quantity still to trade (quantity - cumulative - prevented); unused by MARKET-by-quote.
    var remaining: Int64
    /// Quantity shown in the level (iceberg slice, else `remaining`); 0 when not resting.
    var visible: Int64
    var cumulativeQty: Int64
    var cumulativeQuote: Int64
    var preventedQty: Int64
    var next: Int32
    var prev: Int32
    var userNext: Int32
    var userPrev: Int32
    var userSlot: Int32
    /// The slot of its price level in its side's level pool while resting (level slots never move).
    var level: Int32 = -1

    /// An empty slot (free-list filler).
    static let empty = FastBookOrder(
        orderID: 0, userID: 0, hasClientID: false, side: .buy, type: .limit, timeInForce: .gtc, stp: .none,
        status: .new, location: .free, working: false, price: 0, quantity: 0, quoteOrderQty: 0, stopPrice: 0,
        icebergQty: 0, quoteBudget: 0, makerRate: 0, takerRate: 0, strategyID: 0, strategyType: 0, creationTime: 0,
        workingTime: 0, remaining: 0, visible: 0, cumulativeQty: 0, cumulativeQuote: 0, preventedQty: 0,
        next: -1, prev: -1, userNext: -1, userPrev: -1, userSlot: -1)

    init(
        orderID: UInt64, userID: UInt64, hasClientID: Bool, side: Side, type: OrderType, timeInForce: TimeInForce,
        stp: SelfTradePreventionMode, status: OrderStatus, location: FastBookLocation, working: Bool, price: Int64,
        quantity: Int64, quoteOrderQty: Int64, stopPrice: Int64, icebergQty: Int64, quoteBudget: Int64,
        makerRate: Int64, takerRate: Int64, strategyID: Int64, strategyType: Int32, creationTime: Int64,
        workingTime: Int64, remaining: Int64, visible: Int64, cumulativeQty: Int64, cumulativeQuote: Int64,
        preventedQty: Int64, next: Int32, prev: Int32, userNext: Int32, userPrev: Int32, userSlot: Int32
    ) {
        self.orderID = orderID
        self.userID = userID
        self.hasClientID = hasClientID
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.stp = stp
        self.status = status
        self.location = location
        self.working = working
        self.price = price
        self.quantity = quantity
        self.quoteOrderQty = quoteOrderQty
        self.stopPrice = stopPrice
        self.icebergQty = icebergQty
        self.quoteBudget = quoteBudget
        self.makerRate = makerRate
        self.takerRate = takerRate
        self.strategyID = strategyID
        self.strategyType = strategyType
        self.creationTime = creationTime
        self.workingTime = workingTime
        self.remaining = remaining
        self.visible = visible
        self.cumulativeQty = cumulativeQty
        self.cumulativeQuote = cumulativeQuote
        self.preventedQty = preventedQty
        self.next = next
        self.prev = prev
        self.userNext = userNext
        self.userPrev = userPrev
        self.userSlot = userSlot
    }

    /// A fresh order from a validated request (every field written once: no `.empty` template copy);
    /// its clientOrderID is stored when it enters the pool.
    @inline(__always)
    init(request r: borrowing OrderRequest, stp: SelfTradePreventionMode) {
        self.init(
            orderID: r.orderID, userID: r.userID, hasClientID: false, side: r.side, type: r.type,
            timeInForce: r.timeInForce, stp: stp, status: .new, location: .free, working: true, price: r.price,
            quantity: r.quantity, quoteOrderQty: r.quoteOrderQty, stopPrice: r.stopPrice, icebergQty: r.icebergQty,
            quoteBudget: r.quoteBudget, makerRate: r.makerCommissionRate, takerRate: r.takerCommissionRate,
            strategyID: r.strategyID, strategyType: r.strategyType, creationTime: r.time, workingTime: r.time,
            remaining: r.quantity, visible: 0, cumulativeQty: 0, cumulativeQuote: 0, preventedQty: 0, next: -1,
            prev: -1, userNext: -1, userPrev: -1, userSlot: -1)
    }

    /// MARKET by quoteOrderQty (its `quantity` is 0).
    @inline(__always)
    var isQuoteOrder: Bool { type == .market && quantity == 0 }

    /// Types that carry a limit price when they match.
    @inline(__always)
    var isLimitPriced: Bool { type == .limit || type == .limitMaker || type == .stopLossLimit || type == .takeProfitLimit }

    /// Whether a remainder rests after matching (LIMIT_MAKER ignores timeInForce, like MARKET does).
    @inline(__always)
    var restsRemainder: Bool { type == .limitMaker || (isLimitPriced && timeInForce == .gtc) }
}

extension OrderType {
    /// STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT.
    @inline(__always)
    var isStop: Bool { self == .stopLoss || self == .stopLossLimit || self == .takeProfit || self == .takeProfitLimit }
}

/// `a * b / c` rounded down (all non-negative), through Int128 so price x quantity cannot overflow;
/// clamped to Int64 for caps that can exceed it (a huge quote budget at a tiny price).
@inline(__always)
func fastBookMulDiv(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
    Int64(clamping: Int128(a) * Int128(b) / Int128(c))
}
