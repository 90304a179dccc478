import ExchangeProtocol

/// Pool, indexes, price levels, user lists and the stop list: the O(1)/O(log n) plumbing.
extension FastBook {
    // MARK: - Pool and indexes

    /// Stores `order` in a free slot (or a new one) and registers it in the id, client-id and user indexes.
    mutating func allocate(_ order: consuming FastBookOrder) -> Int32 {
        let (orderID, userID) = (order.orderID, order.userID)
        let slot: Int32
        if freeHead >= 0 {
            slot = freeHead
            freeHead = pool[Int(slot)].next
            pool[Int(slot)] = order
        } else {
            slot = Int32(pool.count)
            pool.append(order)
        }
        let i = Int(slot)
        byID.set(orderID, slot)
        if !pool[i].clientOrderID.isEmpty {
            byClientID[FastBookClientKey(userID: userID, clientOrderID: pool[i].clientOrderID)] = slot
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
        return slot
    }

    /// Unregisters the order and puts its slot on the free list.
    mutating func release(_ slot: Int32) {
        let i = Int(slot)
        let orderID = pool[i].orderID
        byID.remove(orderID)
        if !pool[i].clientOrderID.isEmpty {
            let key = FastBookClientKey(userID: pool[i].userID, clientOrderID: pool[i].clientOrderID)
            if byClientID[key] == slot { byClientID.removeValue(forKey: key) }
        }
        let (prev, next, user) = (pool[i].userPrev, pool[i].userNext, pool[i].userSlot)
        if prev >= 0 { pool[Int(prev)].userNext = next } else { userHeads[Int(user)] = next }
        if next >= 0 { pool[Int(next)].userPrev = prev }
        pool[i].clientOrderID = ""
        pool[i].location = .free
        pool[i].next = freeHead
        freeHead = slot
    }

    /// Changes an open order's clientOrderID, keeping the client-id index in step.
    mutating func setClientOrderID(_ slot: Int32, _ clientOrderID: String) {
        let i = Int(slot)
        let userID = pool[i].userID
        if !pool[i].clientOrderID.isEmpty {
            let old = FastBookClientKey(userID: userID, clientOrderID: pool[i].clientOrderID)
            if byClientID[old] == slot { byClientID.removeValue(forKey: old) }
        }
        pool[i].clientOrderID = clientOrderID
        byClientID[FastBookClientKey(userID: userID, clientOrderID: clientOrderID)] = slot
    }

    // MARK: - Levels

    /// Sort key: ascending in both arrays, best last (bids by price, asks by negated price).
    @inline(__always)
    static func key(_ side: Side, _ price: Int64) -> Int64 { side == .buy ? price : -price }

    /// Runs `body` on one side's level array in place.
    @inline(__always)
    mutating func withLevels<R>(_ side: Side, _ body: (inout [FastBookLevel]) -> R) -> R {
        side == .buy ? body(&bids) : body(&asks)
    }

    /// First index whose key is >= the price's key: a few touch-side levels scanned from the end,
    /// then a branchless binary search (cmov instead of mispredicted branches).
    static func lowerBound(_ levels: [FastBookLevel], _ side: Side, _ price: Int64) -> Int {
        let sign: Int64 = side == .buy ? 1 : -1
        let target = price &* sign
        var high = levels.count
        let stop = max(0, high - 8)
        while high > stop && levels[high - 1].price &* sign >= target { high -= 1 }
        if high > stop || high == 0 { return high }
        return levels.withUnsafeBufferPointer { buffer in
            var base = 0
            var n = high
            while n > 1 {
                let half = n >> 1
                base = buffer[base + half].price &* sign < target ? base + half : base
                n -= half
            }
            return buffer[base].price &* sign < target ? base + 1 : base
        }
    }

    /// The index of the level at `price`, if any.
    func levelIndex(side: Side, price: Int64) -> Int? {
        let levels = side == .buy ? bids : asks
        // Most traffic is near the touch (the end): scan a few levels before a binary search.
        let target = Self.key(side, price)
        var index = levels.count - 1
        let stop = max(0, levels.count - 8)
        while index >= stop {
            let key = Self.key(side, levels[index].price)
            if key == target { return index }
            if key < target { return nil }
            index -= 1
        }
        if index < 0 { return nil }
        index = Self.lowerBound(levels, side, price)
        return index < levels.count && levels[index].price == price ? index : nil
    }

    mutating func addToLevelTotal(side: Side, index: Int, _ delta: Int64) {
        withLevels(side) { $0[index].total += delta }
    }

    /// Appends a resting order (its `visible` set) to the back of its level, creating the level;
    /// returns the level's new visible total.
    @discardableResult
    mutating func addResting(_ order: consuming FastBookOrder) -> Int64 {
        order.location = .resting
        order.next = -1
        let (side, price, visible) = (order.side, order.price, order.visible)
        let slot = allocate(order)
        restingCount += 1
        let index: Int
        if let found = levelIndex(side: side, price: price) {
            index = found
        } else {
            index = withLevels(side) { levels in
                let at = Self.lowerBound(levels, side, price)
                levels.insert(FastBookLevel(price: price, head: -1, tail: -1, total: 0), at: at)
                return at
            }
        }
        let (tail, total) = withLevels(side) { levels in
            let tail = levels[index].tail
            if tail < 0 { levels[index].head = slot }
            levels[index].tail = slot
            levels[index].total += visible
            return (tail, levels[index].total)
        }
        pool[Int(slot)].prev = tail
        pool[Int(slot)].levelHint = Int32(truncatingIfNeeded: index)
        if tail >= 0 { pool[Int(tail)].next = slot }
        return total
    }

    /// Unlinks a resting order from its level (removing an empty level) and releases its slot;
    /// returns the level's visible total afterwards (0 when the level is gone).
    @discardableResult
    mutating func removeResting(_ slot: Int32) -> Int64 {
        let i = Int(slot)
        let (side, price, hint) = (pool[i].side, pool[i].price, Int(pool[i].levelHint))
        let levelCount = side == .buy ? bids.count : asks.count
        if hint >= 0 && hint < levelCount && (side == .buy ? bids[hint].price : asks[hint].price) == price {
            return removeResting(slot, side: side, index: hint)
        }
        guard let index = levelIndex(side: side, price: price) else { preconditionFailure("resting order without level") }
        return removeResting(slot, side: side, index: index)
    }

    /// `removeResting` when the level's index is already known.
    @discardableResult
    mutating func removeResting(_ slot: Int32, side: Side, index: Int) -> Int64 {
        let total = unlinkFromLevel(slot, side: side, index: index)
        restingCount -= 1
        release(slot)
        return total
    }

    /// Unlinks from the level FIFO and subtracts the visible quantity; drops the level when empty.
    /// Returns the level's total afterwards.
    mutating func unlinkFromLevel(_ slot: Int32, side: Side, index: Int) -> Int64 {
        let i = Int(slot)
        let (prev, next, visible) = (pool[i].prev, pool[i].next, pool[i].visible)
        if prev >= 0 { pool[Int(prev)].next = next }
        if next >= 0 { pool[Int(next)].prev = prev }
        let total = withLevels(side) { levels in
            if prev < 0 { levels[index].head = next }
            if next < 0 { levels[index].tail = prev }
            levels[index].total -= visible
            let total = levels[index].total
            if levels[index].head < 0 {
                // The best level is last: dropping it is O(1).
                if index == levels.count - 1 { levels.removeLast() } else { levels.remove(at: index) }
                return Int64(0)
            }
            return total
        }
        pool[i].prev = -1
        pool[i].next = -1
        return total
    }

    /// Moves a resting order to the back of its (non-empty) level: an iceberg's new slice.
    mutating func moveToBack(_ slot: Int32, side: Side, index: Int) {
        let i = Int(slot)
        let (prev, next) = (pool[i].prev, pool[i].next)
        if next < 0 { return }  // already last
        if prev >= 0 { pool[Int(prev)].next = next }
        pool[Int(next)].prev = prev
        let tail = withLevels(side) { levels in
            if prev < 0 { levels[index].head = next }
            let tail = levels[index].tail
            levels[index].tail = slot
            return tail
        }
        pool[Int(tail)].next = slot
        pool[i].prev = tail
        pool[i].next = -1
    }

    /// Emits `levelChanged` with the level's visible total (0 when gone).
    mutating func emitLevel(side: Side, price: Int64, into events: inout [MatchingEvent]) {
        let quantity: Int64
        if let index = levelIndex(side: side, price: price) {
            quantity = side == .buy ? bids[index].total : asks[index].total
        } else {
            quantity = 0
        }
        emitLevel(side: side, price: price, quantity: quantity, into: &events)
    }

    /// Emits `levelChanged` with a total the caller already knows.
    @inline(__always)
    mutating func emitLevel(side: Side, price: Int64, quantity: Int64, into events: inout [MatchingEvent]) {
        lastUpdateID += 1
        events.append(.levelChanged(side: side, price: price, quantity: quantity, updateID: lastUpdateID))
    }

    // MARK: - Stops

    /// Appends an untriggered stop to the stop list (placement order).
    mutating func addStop(_ order: FastBookOrder) {
        var order = order
        order.location = .stop
        order.next = -1
        order.prev = stopTail
        let slot = allocate(order)
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
