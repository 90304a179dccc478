/// A growable buffer of trivial values (the fast book's order pool and price levels) reached
/// through a raw pointer, so a hot-path read or write costs no Array uniqueness or bounds check.
///
/// Copy-on-write is explicit: copies of a buffer share one storage until `makeUnique()`, which
/// `FastBook.makeUnique()` calls on each of its buffers at every mutating entry point. Writes
/// through the subscript are `nonmutating` (they go through the pointer), so a storage must only
/// be written by a book that has just made it unique.
struct FastBookBuffer<Element>: Sendable {
    /// Owns the allocation.
    final class Storage: @unchecked Sendable {
        // @unchecked Sendable: written only while uniquely referenced (see above), so a storage
        // shared between books, possibly on different threads, is only read.
        let base: UnsafeMutablePointer<Element>
        let capacity: Int

        init(capacity: Int) {
            precondition(_isPOD(Element.self), "FastBookBuffer holds trivial values only: it never deinitializes them")
            base = .allocate(capacity: capacity)
            self.capacity = capacity
        }

        /// A new storage with room for `capacity` holding the first `count` values of this one.
        func copy(count: Int, capacity: Int) -> Storage {
            let copy = Storage(capacity: capacity)
            copy.base.initialize(from: base, count: count)
            return copy
        }

        deinit {
            // Trivial elements: nothing to deinitialize.
            base.deallocate()
        }
    }

    var storage: Storage
    /// Initialized values (the prefix of the storage).
    private(set) var count = 0

    init(capacity: Int) {
        storage = Storage(capacity: max(capacity, 1))
    }

    /// `count` copies of `value`.
    init(repeating value: Element, count: Int) {
        storage = Storage(capacity: max(count, 1))
        storage.base.initialize(repeating: value, count: count)
        self.count = count
    }

    /// The first value; valid until the next `append` (which may move the buffer).
    @inline(__always)
    var base: UnsafeMutablePointer<Element> { storage.base }

    @inline(__always)
    var capacity: Int { storage.capacity }

    /// Copies a shared storage; a no-op (one reference-count check) when already unique.
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy(count: count, capacity: storage.capacity)
        }
    }

    @inline(__always)
    subscript(index: Int) -> Element {
        unsafeAddress {
            assert(index >= 0 && index < count)
            return UnsafePointer(storage.base + index)
        }
        nonmutating unsafeMutableAddress {
            assert(index >= 0 && index < count)
            return storage.base + index
        }
    }

    /// Forgets every value, keeping the storage (trivial values: nothing to deinitialize).
    @inline(__always)
    mutating func removeAll() {
        count = 0
    }

    /// Appends, doubling the storage when full (the buffer must be unique).
    @inline(__always)
    mutating func append(_ value: Element) {
        if count == storage.capacity {
            storage = storage.copy(count: count, capacity: storage.capacity * 2)
        }
        (storage.base + count).initialize(to: value)
        count += 1
    }
}
