/// The memory behind a `MatchingEvents`: records packed in one raw byte area (8-byte aligned,
/// each at a multiple of 8) and, per event, an entry with its kind and byte offset. One object,
/// so making a buffer unique before a command is a single reference-count check.
final class MatchingEventStorage: @unchecked Sendable {
    // @unchecked Sendable: written only while uniquely referenced (`MatchingEvents.makeUnique()`
    // first), so a storage shared between copies, possibly on different threads, is only read.
    let bytes: UnsafeMutableRawPointer
    let byteCapacity: Int
    /// Per event: kind in the top 2 bits, byte offset / 8 in the low 30.
    let entries: UnsafeMutablePointer<UInt32>
    let entryCapacity: Int

    static let alignment = 8

    init(byteCapacity: Int, entryCapacity: Int) {
        self.byteCapacity = max(byteCapacity, 256)
        self.entryCapacity = max(entryCapacity, 8)
        bytes = .allocate(byteCount: self.byteCapacity, alignment: Self.alignment)
        entries = .allocate(capacity: self.entryCapacity)
    }

    /// A storage with at least the given capacities holding the first `byteCount` bytes and
    /// `entryCount` entries of this one.
    func copy(byteCount: Int, entryCount: Int, byteCapacity: Int, entryCapacity: Int) -> MatchingEventStorage {
        let copy = MatchingEventStorage(byteCapacity: byteCapacity, entryCapacity: entryCapacity)
        copy.bytes.copyMemory(from: bytes, byteCount: byteCount)
        copy.entries.initialize(from: entries, count: entryCount)
        return copy
    }

    deinit {
        // Trivial records and entries: nothing to deinitialize.
        bytes.deallocate()
        entries.deallocate()
    }
}
