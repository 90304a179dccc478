/// Kafka's default partitioner hash: murmur2 with seed 0x9747b28c, exactly as the Java client's
/// `Utils.murmur2`, so every consumer (Java, librdkafka's `murmur2_random`, ours) maps a key to the
/// same partition.
public enum Murmur2 {
    /// The signed 32-bit murmur2 hash of `bytes` (the Java client's return value).
    @inlinable  // specialized at the call site: every produce hashes its key
    public static func hash<Bytes: Collection>(_ bytes: Bytes) -> Int32 where Bytes.Element == UInt8 {
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = bytes.count
        var h: UInt32 = seed ^ UInt32(truncatingIfNeeded: length)
        var index = bytes.startIndex
        var remaining = length
        while remaining >= 4 {
            let b0 = UInt32(bytes[index])
            let b1 = UInt32(bytes[bytes.index(index, offsetBy: 1)])
            let b2 = UInt32(bytes[bytes.index(index, offsetBy: 2)])
            let b3 = UInt32(bytes[bytes.index(index, offsetBy: 3)])
            var k = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
            index = bytes.index(index, offsetBy: 4)
            remaining -= 4
        }
        if remaining > 0 {
            // The last 1-3 bytes, without allocating: byte j of the tail goes to bits 8j.
            var shift: UInt32 = 0
            var tail: UInt32 = 0
            var i = index
            while i != bytes.endIndex {
                tail |= UInt32(bytes[i]) << shift
                shift += 8
                i = bytes.index(after: i)
            }
            h ^= tail
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition Kafka's Java client (and librdkafka's `murmur2_random`) picks for a non-null key.
    @inlinable
    public static func partition<Bytes: Collection>(for key: Bytes, partitionCount: Int32) -> Int32
    where Bytes.Element == UInt8 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        let positive = hash(key) & 0x7fff_ffff
        return positive % partitionCount
    }

    /// Convenience for string keys (UTF-8 bytes).
    public static func partition(for key: String, partitionCount: Int32) -> Int32 {
        partition(for: Array(key.utf8), partitionCount: partitionCount)
    }
}
