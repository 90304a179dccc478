/// UInt64 -> Int32 open-addressing hash table (linear probing, backward-shift deletion, no
/// tombstones) with a multiplicative hash (the same design as MatchingEngine's FastBookIDMap): the
/// ledger's user, account and open-order indexes.
/// Swift's `Dictionary` pays for SipHash on every probe; the keys here are ids assigned by the
/// exchange itself (users, orders) or built from interned indices, so a Fibonacci
/// hash is enough. Two arrays keep value semantics (copy-on-write) like the rest of the ledger.
struct LedgerIDMap {
    private var slotKeys: [UInt64]
    /// -1 marks an empty bucket.
    private var values: [Int32]
    private var shift: UInt64
    private(set) var count = 0

    /// A table that holds `capacity` entries before growing.
    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slotKeys = Array(repeating: 0, count: size)
        values = Array(repeating: -1, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// The value for `key`, if present.
    @inline(__always)
    subscript(key: UInt64) -> Int32? {
        let mask = values.count - 1
        var i = home(key)
        while true {
            let v = values[i]
            if v < 0 { return nil }
            if slotKeys[i] == key { return v }
            i = (i + 1) & mask
        }
    }

    /// Inserts or replaces.
    mutating func set(_ key: UInt64, _ value: Int32) {
        precondition(value >= 0)
        if (count + 1) * 2 > values.count { grow() }
        let mask = values.count - 1
        var i = home(key)
        while values[i] >= 0 {
            if slotKeys[i] == key {
                values[i] = value
                return
            }
            i = (i + 1) & mask
        }
        slotKeys[i] = key
        values[i] = value
        count += 1
    }

    /// Removes `key` if present, shifting later entries of its probe run back.
    mutating func remove(_ key: UInt64) {
        let mask = values.count - 1
        var i = home(key)
        while true {
            if values[i] < 0 { return }
            if slotKeys[i] == key { break }
            i = (i + 1) & mask
        }
        var j = i
        while true {
            j = (j + 1) & mask
            if values[j] < 0 { break }
            let h = home(slotKeys[j])
            // Entry j may fill hole i unless its home lies cyclically in (i, j].
            if (j &- h) & mask >= (j &- i) & mask {
                slotKeys[i] = slotKeys[j]
                values[i] = values[j]
                i = j
            }
        }
        values[i] = -1
        count -= 1
    }

    /// Grows (if needed) so that `capacity` entries fit without rehashing.
    mutating func reserve(_ capacity: Int) {
        guard capacity * 2 > values.count else { return }
        let oldKeys = slotKeys
        let oldValues = values
        self = LedgerIDMap(capacity: capacity)
        for index in oldValues.indices where oldValues[index] >= 0 { set(oldKeys[index], oldValues[index]) }
    }

    /// The keys present, in no particular order (callers sort).
    var keys: [UInt64] {
        var result: [UInt64] = []
        result.reserveCapacity(count)
        for index in values.indices where values[index] >= 0 { result.append(slotKeys[index]) }
        return result
    }

    private mutating func grow() {
        let oldKeys = slotKeys
        let oldValues = values
        self = LedgerIDMap(capacity: oldValues.count)
        for index in oldValues.indices where oldValues[index] >= 0 { set(oldKeys[index], oldValues[index]) }
    }
}
