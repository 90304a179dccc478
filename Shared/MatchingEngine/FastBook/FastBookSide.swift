/// One side of the fast book: price levels in a pool whose slots never move (resting orders name
/// their level's slot, so a cancel reaches it in O(1)), a price -> slot table, and a ladder of
/// (key, slot) rungs sorted so the best level is last.
///
/// A level that empties away from the touch keeps its rung and slot ("lazy" removal): the next
/// order at that price reuses it, so the churn of a live book (cancel here, new order there)
/// rarely shifts the ladder. The best rung is never empty (emptied best rungs are popped at once),
/// and the empties are compacted away once they outnumber the live levels, so memory stays bounded
/// by the live levels (amortized O(1) per removal). Nothing outside this type ever sees an empty
/// level: depth, hash and snapshot skip them.
struct FastBookSide {
    /// Bids rank by price, asks by negated price: higher key = better.
    let isBid: Bool
    /// Starts small and doubles (a thousand books per process).
    var levels = FastBookBuffer<FastBookLevel>(capacity: 16)
    /// Free level slots, linked through `head`.
    var freeLevel: Int32 = -1
    /// Ascending by key: the best level is `last`.
    var ladder: [FastBookRung] = []
    /// Starts small: a process may hold a thousand books, and a table of empty buckets still
    /// costs cache; it doubles as levels appear.
    var byPrice = FastBookIDMap(capacity: 16)
    /// Rungs whose level is empty (never the last one).
    var emptyRungs = 0
    /// The best level's slot (-1 when the side is empty) and price, kept beside the ladder: the
    /// touch check of an order that does not cross then reads no ladder or level memory (with a
    /// thousand books, those are cache misses).
    private(set) var best: Int32 = -1
    private(set) var bestLevelPrice: Int64 = 0

    init(isBid: Bool) {
        self.isBid = isBid
    }

    @inline(__always)
    func key(_ price: Int64) -> Int64 { isBid ? price : 0 &- price }

    /// The slot of the best non-empty level, if any.
    @inline(__always)
    var bestSlot: Int32? { best >= 0 ? best : nil }

    /// The best price, if any level is live.
    @inline(__always)
    var bestPrice: Int64? { best >= 0 ? bestLevelPrice : nil }

    /// Re-reads `best` from the ladder after it changed at the top.
    private mutating func refreshBest() {
        if let last = ladder.last {
            best = last.slot
            bestLevelPrice = levels[Int(last.slot)].price
        } else {
            best = -1
            bestLevelPrice = 0
        }
    }

    /// The slot of the level at `price` (possibly an empty one still on the ladder).
    @inline(__always)
    func slot(price: Int64) -> Int32? { byPrice[UInt64(bitPattern: price)] }

    /// The level at `price`, creating it (on the ladder, empty) when there is none.
    mutating func slotCreating(price: Int64) -> Int32 {
        if let found = byPrice[UInt64(bitPattern: price)] {
            if levels[Int(found)].head < 0 { emptyRungs -= 1 }  // an empty rung comes back to life
            return found
        }
        let level = FastBookLevel(price: price, head: -1, tail: -1, total: 0)
        let slot: Int32
        if freeLevel >= 0 {
            slot = freeLevel
            freeLevel = levels[Int(slot)].head
            levels[Int(slot)] = level
        } else {
            slot = Int32(levels.count)
            levels.append(level)
        }
        byPrice.set(UInt64(bitPattern: price), slot)
        let k = key(price)
        ladder.insert(FastBookRung(key: k, slot: slot), at: lowerBound(k))
        refreshBest()
        return slot
    }

    /// Called when the level at `slot` just became empty: pops it (and empties behind it) when it
    /// is the best, else leaves it on the ladder and compacts once the empties dominate.
    mutating func levelEmptied(_ slot: Int32) {
        if ladder[ladder.count - 1].slot == slot {
            releaseLast()
            while let last = ladder.last, levels[Int(last.slot)].head < 0 {
                emptyRungs -= 1
                releaseLast()
            }
            refreshBest()
            return
        }
        emptyRungs += 1
        if emptyRungs > 32 && emptyRungs * 2 > ladder.count { compact() }
    }

    /// Removes the last rung and frees its level.
    private mutating func releaseLast() {
        let rung = ladder.removeLast()
        freeSlot(rung.slot)
    }

    private mutating func freeSlot(_ slot: Int32) {
        byPrice.remove(UInt64(bitPattern: levels[Int(slot)].price))
        levels[Int(slot)].head = freeLevel
        levels[Int(slot)].tail = -1
        levels[Int(slot)].total = 0
        freeLevel = slot
    }

    /// Drops every empty rung (O(levels)); the last rung is live, so it stays last.
    private mutating func compact() {
        var kept = 0
        for index in ladder.indices {
            let rung = ladder[index]
            if levels[Int(rung.slot)].head < 0 {
                freeSlot(rung.slot)
            } else {
                ladder[kept] = rung
                kept += 1
            }
        }
        ladder.removeLast(ladder.count - kept)
        emptyRungs = 0
    }

    /// First ladder index whose key is >= `k`: a few touch-side rungs scanned from the end (most
    /// new levels appear near the touch), then a branchless binary search.
    func lowerBound(_ k: Int64) -> Int {
        var high = ladder.count
        let stop = max(0, high - 8)
        while high > stop && ladder[high - 1].key >= k { high -= 1 }
        if high > stop || high == 0 { return high }
        return ladder.withUnsafeBufferPointer { buffer in
            var base = 0
            var n = high
            while n > 1 {
                let half = n >> 1
                base = buffer[base + half].key < k ? base + half : base
                n -= half
            }
            return buffer[base].key < k ? base + 1 : base
        }
    }

    /// Live levels, best first.
    func forEachLevel(_ body: (FastBookLevel) -> Void) {
        for rung in ladder.reversed() {
            let level = levels[Int(rung.slot)]
            if level.head >= 0 { body(level) }
        }
    }

    /// Number of live levels.
    var liveCount: Int { ladder.count - emptyRungs }
}

/// A price level: FIFO of order slots plus the visible total. A free level links the free list
/// through `head`.
struct FastBookLevel {
    var price: Int64
    var head: Int32
    var tail: Int32
    var total: Int64
}

/// One ladder entry: the level's sort key (see `FastBookSide.key`) and its slot.
struct FastBookRung {
    var key: Int64
    var slot: Int32
}
