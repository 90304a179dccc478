import ExchangeProtocol

/// Why `FastBook(snapshot:)` refused its input.
public enum FastBookSnapshotError: Error, Equatable {
    /// Not a fast-book snapshot, or an unknown version.
    case badHeader
    /// The bytes end early or hold an impossible value.
    case corrupt
}

/// Depth, state hash and the byte-exact snapshot.
///
/// Snapshot layout (all integers little-endian): "FBK1"; rules (symbol, base, quote as u32 length +
/// UTF-8, default STP u8, allowed STP bitmask u8); lastTradeID, lastUpdateID, lastPreventedMatchID,
/// lastTradePrice (i64); then bids and asks, each as u32 level count and per level, best first,
/// u32 order count and the orders in queue order; then u32 stop count and the stops in placement
/// order. Enums are their index in `allCases`. The pool layout never appears, so equal states give
/// equal bytes.
extension FastBook {
    /// Visible depth, best first.
    public func depth(limit: Int) -> (bids: [(price: Int64, quantity: Int64)], asks: [(price: Int64, quantity: Int64)]) {
        func side(_ s: FastBookSide) -> [(price: Int64, quantity: Int64)] {
            var out: [(price: Int64, quantity: Int64)] = []
            var index = s.ladder.count - 1
            while index >= 0 && out.count < limit {
                let level = s.levels[Int(s.ladder[index].slot)]
                if level.head >= 0 { out.append((price: level.price, quantity: level.total)) }
                index -= 1
            }
            return out
        }
        return (side(bids), side(asks))
    }

    /// FNV-1a 64 over the contract's canonical state: resting orders (bids then asks, best level
    /// first, queue order; per order id, user, remaining, visible, cumulative, clientOrderID as u64
    /// length + UTF-8), the stop list's order ids in placement order, then the next tradeID,
    /// updateID and preventedMatchID to hand out (1 in an empty book) and lastTradePrice; integers
    /// as 8 bytes LE. ReferenceBook hashes the same bytes.
    public func stateHash() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func byte(_ b: UInt8) { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        func u64(_ v: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { byte(UInt8(truncatingIfNeeded: v >> UInt64(shift))) } }
        func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
        func order(_ o: FastBookOrder, _ clientOrderID: String) {
            u64(o.orderID)
            u64(o.userID)
            i64(o.remaining)
            i64(o.visible)
            i64(o.cumulativeQty)
            let utf8 = clientOrderID.utf8
            u64(UInt64(utf8.count))
            for b in utf8 { byte(b) }
        }
        for side in [bids, asks] {
            side.forEachLevel { level in
                var slot = level.head
                while slot >= 0 {
                    order(pool[Int(slot)], clientID(slot))
                    slot = pool[Int(slot)].next
                }
            }
        }
        // Stops by id only, and the counters as the next id each will hand out: the layout both
        // books share (docs/matching-semantics.md, "Determinism").
        var slot = stopHead
        while slot >= 0 {
            u64(pool[Int(slot)].orderID)
            slot = pool[Int(slot)].next
        }
        i64(lastTradeID + 1)
        i64(lastUpdateID + 1)
        i64(lastPreventedMatchID + 1)
        i64(lastTradePrice)
        return hash
    }

    /// The whole state as bytes (layout above).
    public func snapshot() -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes.append(contentsOf: Array("FBK1".utf8))
        w.string(rules.symbol)
        w.string(rules.baseAsset)
        w.string(rules.quoteAsset)
        w.enumIndex(rules.defaultSelfTradePrevention)
        var mask: UInt8 = 0
        for (index, mode) in SelfTradePreventionMode.allCases.enumerated() where rules.allowedSelfTradePrevention.contains(mode) {
            mask |= 1 << UInt8(index)
        }
        w.u8(mask)
        w.i64(lastTradeID)
        w.i64(lastUpdateID)
        w.i64(lastPreventedMatchID)
        w.i64(lastTradePrice)
        for side in [bids, asks] {
            w.u32(UInt32(side.liveCount))
            side.forEachLevel { level in
                var count: UInt32 = 0
                var slot = level.head
                while slot >= 0 { count += 1; slot = pool[Int(slot)].next }
                w.u32(count)
                slot = level.head
                while slot >= 0 {
                    w.order(pool[Int(slot)], clientOrderID: clientID(slot))
                    slot = pool[Int(slot)].next
                }
            }
        }
        w.u32(UInt32(stopCount))
        var slot = stopHead
        while slot >= 0 {
            w.order(pool[Int(slot)], clientOrderID: clientID(slot))
            slot = pool[Int(slot)].next
        }
        return w.bytes
    }

    /// Restores a book from `snapshot()` bytes.
    public init(snapshot bytes: [UInt8]) throws {
        var r = SnapshotReader(bytes: bytes, corrupt: FastBookSnapshotError.corrupt)
        guard Array(try r.take(4)) == Array("FBK1".utf8) else { throw FastBookSnapshotError.badHeader }
        let symbol = try r.string()
        let base = try r.string()
        let quote = try r.string()
        let defaultSTP: SelfTradePreventionMode = try r.enumValue()
        let mask = try r.u8()
        var allowed = Set<SelfTradePreventionMode>()
        for (index, mode) in SelfTradePreventionMode.allCases.enumerated() where mask & (1 << UInt8(index)) != 0 {
            allowed.insert(mode)
        }
        self.init(rules: SymbolRules(
            symbol: symbol, baseAsset: base, quoteAsset: quote, defaultSelfTradePrevention: defaultSTP,
            allowedSelfTradePrevention: allowed))
        lastTradeID = try r.i64()
        lastUpdateID = try r.i64()
        lastPreventedMatchID = try r.i64()
        lastTradePrice = try r.i64()
        for side in [Side.buy, Side.sell] {
            let levelCount = try r.u32()
            var previous: Int64?
            for _ in 0..<levelCount {
                let orderCount = try r.u32()
                guard orderCount > 0 else { throw FastBookSnapshotError.corrupt }
                var levelPrice: Int64?
                for _ in 0..<orderCount {
                    let (order, clientOrderID) = try r.order()
                    guard order.side == side, order.visible > 0, order.remaining >= order.visible,
                          byID[order.orderID] == nil, levelPrice == nil || levelPrice == order.price
                    else { throw FastBookSnapshotError.corrupt }
                    levelPrice = order.price
                    addResting(insert(order), clientOrderID: clientOrderID)
                }
                // Levels arrive best first: each must be strictly worse than the one before.
                if let previous, side == .buy ? levelPrice! >= previous : levelPrice! <= previous {
                    throw FastBookSnapshotError.corrupt
                }
                previous = levelPrice
            }
        }
        let stops = try r.u32()
        for _ in 0..<stops {
            let (order, clientOrderID) = try r.order()
            guard order.type.isStop, byID[order.orderID] == nil else { throw FastBookSnapshotError.corrupt }
            addStop(insert(order), clientOrderID: clientOrderID)
        }
        guard r.atEnd else { throw FastBookSnapshotError.corrupt }
    }
}

extension SnapshotWriter {
    /// Every field of an order except links and pool bookkeeping.
    mutating func order(_ o: FastBookOrder, clientOrderID: String) {
        u64(o.orderID)
        u64(o.userID)
        string(clientOrderID)
        enumIndex(o.side)
        enumIndex(o.type)
        enumIndex(o.timeInForce)
        enumIndex(o.stp)
        enumIndex(o.status)
        u8(o.working ? 1 : 0)
        for v in [o.price, o.quantity, o.quoteOrderQty, o.stopPrice, o.icebergQty, o.quoteBudget, o.makerRate,
                  o.takerRate, o.strategyID, Int64(o.strategyType), o.creationTime, o.workingTime, o.remaining,
                  o.visible, o.cumulativeQty, o.cumulativeQuote, o.preventedQty] {
            i64(v)
        }
    }
}

extension SnapshotReader {
    mutating func order() throws -> (FastBookOrder, clientOrderID: String) {
        var o = FastBookOrder.empty
        o.orderID = try u64()
        o.userID = try u64()
        let clientOrderID = try string()
        o.side = try enumValue()
        o.type = try enumValue()
        o.timeInForce = try enumValue()
        o.stp = try enumValue()
        o.status = try enumValue()
        o.working = try u8() != 0
        o.price = try i64()
        o.quantity = try i64()
        o.quoteOrderQty = try i64()
        o.stopPrice = try i64()
        o.icebergQty = try i64()
        o.quoteBudget = try i64()
        o.makerRate = try i64()
        o.takerRate = try i64()
        o.strategyID = try i64()
        guard let strategyType = Int32(exactly: try i64()) else { throw FastBookSnapshotError.corrupt }
        o.strategyType = strategyType
        o.creationTime = try i64()
        o.workingTime = try i64()
        o.remaining = try i64()
        o.visible = try i64()
        o.cumulativeQty = try i64()
        o.cumulativeQuote = try i64()
        o.preventedQty = try i64()
        return (o, clientOrderID)
    }
}
