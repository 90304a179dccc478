/// The fast book's UInt64 -> Int32 indexes (order ids, user ids, prices): open addressing with
/// linear probing, backward-shift deletion (no tombstones) and a Fibonacci hash, like
/// ExchangeProtocol's `IDMap`, but with each key and value side by side in one 16-byte bucket, so
/// a probe touches one cache line rather than one in each of two arrays (a deep book's id table
/// is megabytes: a lookup is a cache miss either way, and this halves them). A value type:
/// mutations copy a shared table first.
struct FastBookIDMap: Sendable {
    struct Bucket {
        var key: UInt64
        /// -1 marks an empty bucket.
        var value: Int32
    }

    var buckets: FastBookBuffer<Bucket>
    /// Buckets - 1 (a power of two minus one).
    var mask: Int
    var shift: UInt64
    /// Entries present.
    private(set) var count = 0

    /// A table that holds `capacity` entries before growing.
    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        buckets = FastBookBuffer(repeating: Bucket(key: 0, value: -1), count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// The value for `key`, if present.
    @inline(__always)
    subscript(key: UInt64) -> Int32? {
        let b = buckets.base
        var i = home(key)
        while true {
            let v = b[i].value
            if v < 0 { return nil }
            if b[i].key == key { return v }
            i = (i + 1) & mask
        }
    }

    /// Inserts or replaces.
    mutating func set(_ key: UInt64, _ value: Int32) {
        precondition(value >= 0)
        if (count + 1) * 2 > mask + 1 { grow() } else { buckets.makeUnique() }
        let b = buckets.base
        var i = home(key)
        while b[i].value >= 0 {
            if b[i].key == key {
                b[i].value = value
                return
            }
            i = (i + 1) & mask
        }
        b[i] = Bucket(key: key, value: value)
        count += 1
    }

    /// Removes `key` if present, shifting later entries of its probe run back.
    mutating func remove(_ key: UInt64) {
        var i = home(key)
        do {
            let b = buckets.base
            while true {
                if b[i].value < 0 { return }
                if b[i].key == key { break }
                i = (i + 1) & mask
            }
        }
        buckets.makeUnique()
        let b = buckets.base
        var j = i
        while true {
            j = (j + 1) & mask
            if b[j].value < 0 { break }
            let h = home(b[j].key)
            // Entry j may fill hole i unless its home lies cyclically in (i, j].
            if (j &- h) & mask >= (j &- i) & mask {
                b[i] = b[j]
                i = j
            }
        }
        b[i].value = -1
        count -= 1
    }

    /// Doubles the table (a fresh one: never shared).
    private mutating func grow() {
        let old = buckets
        let oldSize = mask + 1
        self = FastBookIDMap(capacity: oldSize)
        for index in 0..<oldSize where old[index].value >= 0 { set(old[index].key, old[index].value) }
    }
}
