import ExchangeProtocol

/// Pool, indexes, price levels, user lists and the stop list: the O(1)/O(log n) plumbing.
extension FastBook {
    // MARK: - Pool and indexes

    /// A slot for a new order: from the free list, else a new one (growing the buffer, which moves
    /// it: callers re-read `pool` after this). The caller initializes it; it is in no index yet.
    mutating func takeSlot() -> Int32 {
        if freeHead >= 0 {
            let slot = freeHead
            freeHead = pool[Int(slot)].next
            return slot
        }
        orders.append(.empty)
        return Int32(orders.count - 1)
    }

    /// Puts `order` in a new slot (not yet registered or linked).
    mutating func insert(_ order: FastBookOrder) -> Int32 {
        let slot = takeSlot()
        (pool + Int(slot)).initialize(to: order)
        return slot
    }

    /// Puts a slot that is in no index and no list back on the free list.
    @inline(__always)
    mutating func freeSlot(_ slot: Int32) {
        pool[Int(slot)].location = .free
        pool[Int(slot)].next = freeHead
        freeHead = slot
    }

    /// Registers the order in `slot` in the id, client-id and user indexes.
    mutating func register(_ slot: Int32, clientOrderID: String) {
        let i = Int(slot)
        let (orderID, userID) = (pool[i].orderID, pool[i].userID)
        pool[i].hasClientID = false
        byID.set(orderID, slot)
        if !clientOrderID.isEmpty {
            storeClientID(slot, clientOrderID)
            byClientID[FastBookClientKey(userID: userID, clientOrderID: clientOrderID)] = slot
        }
        let user: Int32
        if let known = userSlots[userID] {
            user = known
        } else {
            user = Int32(userHeads.count)
            userSlots.set(userID, user)
            userHeads.append(-1)
        }
        let head = userHeads[Int(user)]
        pool[i].userSlot = user
        pool[i].userPrev = -1
        pool[i].userNext = head
        if head >= 0 { pool[Int(head)].userPrev = slot }
        userHeads[Int(user)] = slot
    }

    /// Unregisters the order and puts its slot on the free list.
    mutating func release(_ slot: Int32) {
        unregister(slot)
        freeSlot(slot)
    }

    /// Takes the order out of the id, client-id and user indexes (its slot stays taken).
    mutating func unregister(_ slot: Int32) {
        let i = Int(slot)
        let orderID = pool[i].orderID
        byID.remove(orderID)
        if pool[i].hasClientID {
            let key = FastBookClientKey(userID: pool[i].userID, clientOrderID: clientIDs[i])
            if byClientID[key] == slot { byClientID.removeValue(forKey: key) }
            clientIDs[i] = ""
            pool[i].hasClientID = false
        }
        let (prev, next, user) = (pool[i].userPrev, pool[i].userNext, pool[i].userSlot)
        if prev >= 0 { pool[Int(prev)].userNext = next } else { userHeads[Int(user)] = next }
        if next >= 0 { pool[Int(next)].userPrev = prev }
    }

    /// Changes an open order's clientOrderID, keeping the client-id index in step.
    mutating func setClientOrderID(_ slot: Int32, _ clientOrderID: String) {
        let i = Int(slot)
        let userID = pool[i].userID
        if pool[i].hasClientID {
            let old = FastBookClientKey(userID: userID, clientOrderID: clientIDs[i])
            if byClientID[old] == slot { byClientID.removeValue(forKey: old) }
        }
        storeClientID(slot, clientOrderID)
        byClientID[FastBookClientKey(userID: userID, clientOrderID: clientOrderID)] = slot
    }

    /// Records a non-empty clientOrderID for `slot` beside the pool.
    mutating func storeClientID(_ slot: Int32, _ clientOrderID: String) {
        let i = Int(slot)
        if clientIDs.count <= i {
            clientIDs.append(contentsOf: repeatElement("", count: i + 1 - clientIDs.count))
        }
        clientIDs[i] = clientOrderID
        pool[i].hasClientID = true
    }

    // MARK: - Levels

    /// Runs `body` on one side in place.
    @inline(__always)
    mutating func withSide<R>(_ side: Side, _ body: (inout FastBookSide) -> R) -> R {
        side == .buy ? body(&bids) : body(&asks)
    }

    /// The level slot at `price` (an empty rung's total is 0, which is what callers want).
    @inline(__always)
    func levelSlot(side: Side, price: Int64) -> Int32? {
        side == .buy ? bids.slot(price: price) : asks.slot(price: price)
    }

    @inline(__always)
    mutating func addToLevelTotal(side: Side, level: Int32, _ delta: Int64) {
        withSide(side) { $0.levels[Int(level)].total += delta }
    }

    /// Registers the order in `slot` (its `visible` set) and appends it to the back of its level,
    /// creating the level; returns the level's new visible total.
    @discardableResult
    mutating func addResting(_ slot: Int32, clientOrderID: String) -> Int64 {
        pool[Int(slot)].location = .resting
        pool[Int(slot)].next = -1
        let (side, price, visible) = (pool[Int(slot)].side, pool[Int(slot)].price, pool[Int(slot)].visible)
        register(slot, clientOrderID: clientOrderID)
        restingCount += 1
        let (level, tail, total) = withSide(side) { s in
            let level = s.slotCreating(price: price)
            let l = Int(level)
            let tail = s.levels[l].tail
            if tail < 0 { s.levels[l].head = slot }
            s.levels[l].tail = slot
            s.levels[l].total += visible
            return (level, tail, s.levels[l].total)
        }
        let i = Int(slot)
        pool[i].prev = tail
        pool[i].level = level
        if tail >= 0 { pool[Int(tail)].next = slot }
        return total
    }

    /// Unlinks a resting order from its level (dropping an emptied level) and releases its slot;
    /// returns the level's visible total afterwards (0 when the level is gone).
    @discardableResult
    mutating func removeResting(_ slot: Int32) -> Int64 {
        let total = unlinkFromLevel(slot)
        restingCount -= 1
        release(slot)
        return total
    }

    /// Unlinks from the level FIFO and subtracts the visible quantity; an emptied level goes back
    /// to its side. Returns the level's total afterwards.
    mutating func unlinkFromLevel(_ slot: Int32) -> Int64 {
        let i = Int(slot)
        let (prev, next, visible, level, side) = (pool[i].prev, pool[i].next, pool[i].visible, pool[i].level, pool[i].side)
        if prev >= 0 { pool[Int(prev)].next = next }
        if next >= 0 { pool[Int(next)].prev = prev }
        let total = withSide(side) { s in
            let l = Int(level)
            if prev < 0 { s.levels[l].head = next }
            if next < 0 { s.levels[l].tail = prev }
            s.levels[l].total -= visible
            if s.levels[l].head < 0 {
                s.levelEmptied(level)
                return Int64(0)
            }
            return s.levels[l].total
        }
        pool[i].prev = -1
        pool[i].next = -1
        pool[i].level = -1
        return total
    }

    /// Moves a resting order to the back of its (non-empty) level: an iceberg's new slice.
    mutating func moveToBack(_ slot: Int32) {
        let i = Int(slot)
        let (prev, next, level) = (pool[i].prev, pool[i].next, pool[i].level)
        if next < 0 { return }  // already last
        if prev >= 0 { pool[Int(prev)].next = next }
        pool[Int(next)].prev = prev
        let tail = withSide(pool[i].side) { s in
            let l = Int(level)
            if prev < 0 { s.levels[l].head = next }
            let tail = s.levels[l].tail
            s.levels[l].tail = slot
            return tail
        }
        pool[Int(tail)].next = slot
        pool[i].prev = tail
        pool[i].next = -1
    }

    /// Emits `levelChanged` with the level's visible total (0 when gone).
    mutating func emitLevel(side: Side, price: Int64, into events: inout MatchingEvents) {
        let quantity: Int64
        if let level = levelSlot(side: side, price: price) {
            quantity = side == .buy ? bids.levels[Int(level)].total : asks.levels[Int(level)].total
        } else {
            quantity = 0
        }
        emitLevel(side: side, price: price, quantity: quantity, into: &events)
    }

    /// Emits `levelChanged` with a total the caller already knows.
    @inline(__always)
    mutating func emitLevel(side: Side, price: Int64, quantity: Int64, into events: inout MatchingEvents) {
        lastUpdateID += 1
        events.appendLevel(LevelChangeRecord(side: side, price: price, quantity: quantity, updateID: lastUpdateID))
    }

    // MARK: - Stops

    /// Registers the untriggered stop in `slot` and appends it to the stop list (placement order).
    mutating func addStop(_ slot: Int32, clientOrderID: String) {
        pool[Int(slot)].location = .stop
        pool[Int(slot)].next = -1
        pool[Int(slot)].prev = stopTail
        register(slot, clientOrderID: clientOrderID)
        if stopTail >= 0 { pool[Int(stopTail)].next = slot } else { stopHead = slot }
        stopTail = slot
        stopCount += 1
    }

    /// Takes a stop out of the list and releases its slot.
    mutating func removeStop(_ slot: Int32) {
        unlinkStop(slot)
        release(slot)
    }

    mutating func unlinkStop(_ slot: Int32) {
        let i = Int(slot)
        let (prev, next) = (pool[i].prev, pool[i].next)
        if prev >= 0 { pool[Int(prev)].next = next } else { stopHead = next }
        if next >= 0 { pool[Int(next)].prev = prev } else { stopTail = prev }
        stopCount -= 1
    }
}
