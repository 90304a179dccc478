import ExchangeProtocol
import MatchingEngine

/// A deterministic, realistic-ish stream of book commands for differential testing: a handful of
/// users (so self-trade prevention fires often) trading LIMIT GTC/IOC/FOK around a drifting mid,
/// MARKET orders by quantity, quoteOrderQty and with a quote budget, LIMIT_MAKERs, icebergs, all
/// four stop types, cancels (by id and clientOrderId, some unknown or restricted), amends,
/// cancel-replaces in both modes, cancel-alls, duplicate clientOrderIds and invalid quantities.
///
/// It keeps no model of the book: it remembers what it placed (which may since have traded away),
/// so some cancels and amends hit and some are unknown, just as in real traffic.
struct CommandGenerator {
    /// 0.01 quote per tick.
    static let tick: Int64 = 1_000_000
    /// 0.001 base per lot.
    static let lot: Int64 = 100_000

    var rng: SplitMix64
    /// Mid price in ticks; drifts so resting orders get swept and stops trigger.
    var mid: Int64 = 10_000
    var nextOrderID: UInt64 = 1
    var nextClientSerial = 1
    var time: Int64 = 1_700_000_000_000
    let users: [UInt64] = [1, 2, 3, 4, 5]

    /// What the generator placed and may still be open.
    struct Placed {
        var orderID: UInt64
        var userID: UInt64
        var clientOrderID: String
        var quantity: Int64
    }
    var placed: [Placed] = []

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// The symbol rules for `seed`: mostly everything allowed with the EXPIRE_MAKER default; some
    /// seeds restrict the modes (so `stpModeNotAllowed` appears) or default to another mode.
    static func rules(seed: UInt64) -> SymbolRules {
        switch seed % 4 {
        case 1:
            return SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", defaultSelfTradePrevention: .none,
                               allowedSelfTradePrevention: [.none, .expireTaker, .expireBoth, .decrement])
        case 2:
            return SymbolRules(symbol: "ETHBTC", baseAsset: "ETH", quoteAsset: "BTC", defaultSelfTradePrevention: .decrement)
        case 3:
            // A base asset longer than 15 bytes: its commission asset goes through the string table.
            return SymbolRules(symbol: "LONGNAMEDASSETXYZUSDT", baseAsset: "LONGNAMEDASSETXYZ", quoteAsset: "USDT")
        default:
            return SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT")
        }
    }

    mutating func next() -> MatchingCommand {
        time += rng.int(0...3)
        if rng.chance(20) { mid = max(200, mid + rng.int(-3...3)) }
        let roll = rng.int(0...99)
        switch roll {
        case 0..<40: return .place(limitOrder())
        case 40..<49: return .place(marketOrder())
        case 49..<53: return .place(limitMakerOrder())
        case 53..<60: return .place(stopOrder())
        case 60..<75: return .cancel(cancelRequest())
        case 75..<83: return .amend(amendRequest())
        case 83..<90:
            let cancel = cancelRequest()
            var place = rng.chance(80) ? limitOrder(user: cancel.userID) : marketOrder(user: cancel.userID)
            if rng.chance(30) { place.clientOrderID = cancel.origClientOrderID }
            return .cancelReplace(CancelReplaceRequest(mode: rng.chance(50) ? .stopOnFailure : .allowFailure,
                                                       cancel: cancel, place: place))
        case 90..<91:
            let user = rng.pick(users)
            placed.removeAll { $0.userID == user }
            return .cancelAll(userID: user, time: time)
        default:
            // Crossing flow keeps the book from only growing.
            var order = limitOrder()
            order.price = (order.side == .buy ? mid + rng.int(0...8) : mid - rng.int(0...8)) * Self.tick
            return .place(order)
        }
    }

    // MARK: Pieces

    mutating func quantity() -> Int64 {
        let lots = rng.chance(70) ? rng.int(1...200) : rng.int(1...3_000)
        // Now and then an odd raw amount so quote and commission rounding are exercised.
        return lots * Self.lot + (rng.chance(15) ? rng.int(1...99_999) : 0)
    }

    /// A price near the mid, mostly on the resting side, sometimes crossing.
    mutating func price(_ side: Side) -> Int64 {
        let offset = rng.chance(25) ? rng.int(-6...2) : rng.int(0...25)
        return (side == .buy ? mid - offset : mid + offset) * Self.tick
    }

    mutating func clientOrderID(user: UInt64) -> String {
        if rng.chance(4), let other = placed.last(where: { $0.userID == user && !$0.clientOrderID.isEmpty }) {
            return other.clientOrderID  // likely a duplicate
        }
        if rng.chance(25) { return "" }
        defer { nextClientSerial += 1 }
        // Every fifth one longer than 15 bytes: `MatchingEvents` keeps those in its string table.
        return nextClientSerial % 5 == 0 ? "client-order-id-\(nextClientSerial)" : "c\(nextClientSerial)"
    }

    mutating func stp() -> SelfTradePreventionMode? {
        rng.chance(40) ? nil : rng.pick(SelfTradePreventionMode.allCases)
    }

    mutating func base(user: UInt64? = nil, side: Side? = nil, type: OrderType) -> OrderRequest {
        let user = user ?? rng.pick(users)
        defer { nextOrderID += 1 }
        return OrderRequest(
            orderID: nextOrderID, userID: user, clientOrderID: clientOrderID(user: user),
            side: side ?? (rng.chance(50) ? .buy : .sell), type: type, selfTradePrevention: stp(),
            makerCommissionRate: rng.pick([0, 75_000, 100_000, 123_457]),
            takerCommissionRate: rng.pick([0, 75_000, 100_000, 200_000, 333_333]),
            strategyID: rng.chance(10) ? rng.int(1...1_000) : 0, strategyType: rng.chance(10) ? 1_000_000 : 0,
            time: time)
    }

    mutating func remember(_ order: OrderRequest) {
        placed.append(Placed(orderID: order.orderID, userID: order.userID, clientOrderID: order.clientOrderID,
                             quantity: order.quantity))
        if placed.count > 400 { placed.removeFirst(100) }
    }

    /// Occasionally breaks a valid order: zero or negative amounts, an iceberg that is too big.
    mutating func maybeInvalid(_ order: inout OrderRequest) {
        guard rng.chance(3) else { return }
        switch rng.int(0...4) {
        case 0: order.quantity = 0
        case 1: order.quantity = -order.quantity
        case 2: order.price = order.type == .market ? order.price : 0
        case 3: order.icebergQty = order.quantity
        default: order.quoteOrderQty = order.type == .market ? order.quoteOrderQty : -1
        }
    }

    mutating func limitOrder(user: UInt64? = nil) -> OrderRequest {
        var order = base(user: user, type: .limit)
        order.price = price(order.side)
        order.quantity = quantity()
        let tif = rng.int(0...99)
        order.timeInForce = tif < 80 ? .gtc : tif < 92 ? .ioc : .fok
        if order.timeInForce == .gtc && rng.chance(12) {
            order.icebergQty = max(1, order.quantity / rng.int(2...6))
        }
        maybeInvalid(&order)
        remember(order)
        return order
    }

    mutating func marketOrder(user: UInt64? = nil) -> OrderRequest {
        var order = base(user: user, type: .market)
        let kind = rng.int(0...9)
        if kind < 5 {
            order.quantity = quantity()
        } else if kind < 8 {
            // Quote worth of a few lots at the mid.
            order.quoteOrderQty = rng.int(1...300) * mid * 1_000 + rng.int(0...999)  // lots x mid ticks, in raw quote
        } else {
            order.side = .buy
            order.quantity = quantity()
            order.quoteBudget = order.quantity * mid / 100 * rng.int(5...12) / 10  // quantity x mid, in raw quote
        }
        maybeInvalid(&order)
        return order
    }

    mutating func limitMakerOrder() -> OrderRequest {
        var order = base(type: .limitMaker)
        order.price = price(order.side)
        order.quantity = quantity()
        if rng.chance(15) { order.icebergQty = max(1, order.quantity / 3) }
        maybeInvalid(&order)
        remember(order)
        return order
    }

    mutating func stopOrder() -> OrderRequest {
        let type = rng.pick([OrderType.stopLoss, .stopLossLimit, .takeProfit, .takeProfitLimit])
        var order = base(type: type)
        // Mostly on the not-yet-triggered side of the mid (sometimes the wrong side: rejected).
        let distance = rng.int(1...15)
        let above = (type == .stopLoss || type == .stopLossLimit) == (order.side == .buy)
        let wrongSide = rng.chance(10)
        order.stopPrice = (above != wrongSide ? mid + distance : max(1, mid - distance)) * Self.tick
        order.quantity = quantity()
        if type == .stopLossLimit || type == .takeProfitLimit {
            let slip = rng.int(-2...6)
            order.price = max(1, order.stopPrice / Self.tick + (order.side == .buy ? slip : -slip)) * Self.tick
            let tif = rng.int(0...9)
            order.timeInForce = tif < 7 ? .gtc : tif < 9 ? .ioc : .fok
        } else if order.side == .buy && rng.chance(30) {
            order.quoteBudget = order.quantity * (order.stopPrice / Self.tick) / 100 * 2
        }
        maybeInvalid(&order)
        remember(order)
        return order
    }

    mutating func cancelRequest() -> CancelRequest {
        var request = CancelRequest(userID: rng.pick(users), orderID: UInt64(rng.int(1...Int64(nextOrderID))), time: time)
        if !placed.isEmpty && rng.chance(85) {
            let index = Int(rng.next() % UInt64(placed.count))
            let target = placed[index]
            request.userID = rng.chance(95) ? target.userID : rng.pick(users)
            if rng.chance(30) && !target.clientOrderID.isEmpty {
                request.orderID = 0
                request.origClientOrderID = target.clientOrderID
            } else {
                request.orderID = target.orderID
            }
            placed.remove(at: index)
        } else if rng.chance(30) {
            request.orderID = 0
            request.origClientOrderID = "c\(rng.int(1...Int64(nextClientSerial)))"
        }
        if rng.chance(30) { request.newClientOrderID = "x\(rng.int(1...1_000_000))" }
        if rng.chance(10) { request.cancelRestrictions = rng.pick(CancelRestrictions.allCases) }
        return request
    }

    mutating func amendRequest() -> AmendRequest {
        var request = AmendRequest(userID: rng.pick(users), orderID: UInt64(rng.int(1...Int64(nextOrderID))),
                                   newQuantity: quantity(), time: time)
        if !placed.isEmpty && rng.chance(90) {
            let index = Int(rng.next() % UInt64(placed.count))
            let target = placed[index]
            request.userID = target.userID
            if rng.chance(25) && !target.clientOrderID.isEmpty {
                request.orderID = 0
                request.origClientOrderID = target.clientOrderID
            } else {
                request.orderID = target.orderID
            }
            // Mostly down (sometimes below what already traded), sometimes not less.
            request.newQuantity = rng.chance(85) ? max(1, target.quantity * rng.int(1...9) / 10) : target.quantity
            placed[index].quantity = request.newQuantity
            if rng.chance(40) {
                // A fresh id, so open orders never share one (see the report's note on amend).
                request.newClientOrderID = "a\(nextClientSerial)"
                nextClientSerial += 1
                placed[index].clientOrderID = request.newClientOrderID
            }
        }
        return request
    }
}
