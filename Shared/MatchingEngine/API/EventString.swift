/// A string held by a `MatchingEvents` buffer without a reference, so an event record stays plain
/// data (no retain/release when it is written, no destruction when the buffer is cleared): up to
/// 15 UTF-8 bytes inline, a longer one as an index into the buffer's string table.
///
/// Layout: `low` holds bytes 0-7 (little-endian by shifts, not by memory), `high` bytes 8-14 and,
/// in its top byte, the inline length (0...15) or `tableTag` (then `low` is the table index).
struct EventString: Equatable {
    var low: UInt64
    var high: UInt64

    static let tableTag: UInt64 = 0xFF
    /// "".
    @inline(__always)
    static var empty: EventString { EventString(low: 0, high: 0) }
    /// "NONE" (every book's `rejectReason`), spelled out so it is a constant, not a lazy global.
    @inline(__always)
    static var noRejectReason: EventString { EventString(low: 0x45_4E_4F_4E, high: 4 << 56) }

    init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// The inline form of `string`, or nil when it is longer than 15 UTF-8 bytes.
    init?(inline string: String) {
        let utf8 = string.utf8
        let count = utf8.count
        guard count <= 15 else { return nil }
        var low: UInt64 = 0
        var high: UInt64 = UInt64(count) << 56
        var index = 0
        for byte in utf8 {
            if index < 8 {
                low |= UInt64(byte) << UInt64(8 * index)
            } else {
                high |= UInt64(byte) << UInt64(8 * (index - 8))
            }
            index += 1
        }
        self.init(low: low, high: high)
    }

    /// Entry `index` of the owning buffer's string table.
    @inline(__always)
    static func table(_ index: Int) -> EventString {
        EventString(low: UInt64(index), high: tableTag << 56)
    }

    @inline(__always)
    var isEmpty: Bool { low == 0 && high == 0 }

    /// The string, reading long ones from `table` (the owning buffer's).
    func resolve(_ table: [String]) -> String {
        let tag = high >> 56
        if tag == Self.tableTag { return table[Int(low)] }
        if tag == 0 { return "" }
        if self == .noRejectReason { return "NONE" }  // on every report: a literal, nothing to decode
        let count = Int(tag)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { buffer in
            for index in 0..<count {
                buffer[index] = index < 8
                    ? UInt8(truncatingIfNeeded: low >> UInt64(8 * index))
                    : UInt8(truncatingIfNeeded: high >> UInt64(8 * (index - 8)))
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }
}
