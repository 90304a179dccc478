/// UInt64 -> Int32 open-addressing hash table (linear probing, backward-shift deletion, no
/// tombstones) with a multiplicative hash: the id indexes of the pure cores (the fast book's
/// order and user ids, the ledger's users, accounts and open orders). Swift's `Dictionary` pays
/// for SipHash on every probe; these keys are ids the exchange assigns, so a Fibonacci hash is
/// enough. Two arrays keep value semantics (copy-on-write). Inlinable: it sits on the cores' hot
/// paths in other modules.
public struct IDMap: Sendable {
    @usableFromInline var slotKeys: [UInt64]
    /// -1 marks an empty bucket.
    @usableFromInline var values: [Int32]
    @usableFromInline var shift: UInt64
    @usableFromInline var _count = 0
    /// Entries present.
    @inlinable public var count: Int { _count }

    /// A table that holds `capacity` entries before growing.
    @inlinable
    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slotKeys = Array(repeating: 0, count: size)
        values = Array(repeating: -1, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inlinable @inline(__always)
    func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// The value for `key`, if present.
    @inlinable @inline(__always)
    public subscript(key: UInt64) -> Int32? {
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
    @inlinable
    public mutating func set(_ key: UInt64, _ value: Int32) {
        precondition(value >= 0)
        if (count + 1) * 2 > values.count { reserve(values.count) }
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
        _count += 1
    }

    /// Removes `key` if present, shifting later entries of its probe run back.
    @inlinable
    public mutating func remove(_ key: UInt64) {
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
        _count -= 1
    }

    /// Grows (if needed) so that `capacity` entries fit without rehashing.
    @inlinable
    public mutating func reserve(_ capacity: Int) {
        guard capacity * 2 > values.count else { return }
        let oldKeys = slotKeys
        let oldValues = values
        self = IDMap(capacity: capacity)
        for index in oldValues.indices where oldValues[index] >= 0 { set(oldKeys[index], oldValues[index]) }
    }

    /// The keys present, in no particular order (callers sort).
    public var keys: [UInt64] {
        var result: [UInt64] = []
        result.reserveCapacity(count)
        for index in values.indices where values[index] >= 0 { result.append(slotKeys[index]) }
        return result
    }
}
