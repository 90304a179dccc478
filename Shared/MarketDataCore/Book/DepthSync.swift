/// One symbol's local order book kept in sync with an upstream diff stream by Binance's procedure
/// ("How to manage a local order book correctly"): buffer diffs, take a REST snapshot, refetch it
/// while it is older than the first buffered diff, drop buffered diffs with u <= lastUpdateId,
/// then apply diffs in order; any gap (U > local id + 1) or ids going backwards throws the book
/// away and starts over.
///
/// Pure: the caller feeds diffs and snapshots and acts on the returned outcome (request a
/// snapshot, publish the applied diff, publish a resync marker).
public struct DepthSync: Sendable {
    public enum Phase: Sendable, Equatable {
        /// No diff seen yet (or just reset): the next diff starts the buffer.
        case idle
        /// Diffs are buffered until a snapshot arrives.
        case awaitingSnapshot
        /// The book is live at `lastUpdateID`.
        case synced
    }

    /// What a diff did.
    public enum DiffOutcome: Sendable, Equatable {
        /// Applied to the live book; publish it.
        case applied
        /// Buffered while waiting for a snapshot; `requestSnapshot` when one must be fetched now.
        case buffered(requestSnapshot: Bool)
        /// u <= local id: nothing new (a repeat); ignored.
        case ignoredStale
        /// The book was discarded (gap or ids going backwards); the diff starts a new buffer and a
        /// snapshot must be fetched. `lastGood` is the local id before the reset.
        case resync(reason: ResyncReason, lastGood: Int64)
    }

    /// What a snapshot did.
    public enum SnapshotOutcome: Sendable, Equatable {
        /// The book is live; `appliedBuffered` buffered diffs were applied on top of the snapshot.
        case synced(appliedBuffered: Int)
        /// The snapshot is older than the first buffered diff: fetch another.
        case tooOld(snapshotID: Int64, firstBuffered: Int64)
        /// The buffered diffs have a gap after the snapshot: the buffer restarts at the gap; fetch another.
        case gapInBuffer
        /// No snapshot was expected (already synced or nothing buffered); ignored.
        case notAwaiting
    }

    public enum ResyncReason: String, Sendable, Equatable {
        case gap
        case backwards
        case reconnect
        case requested
    }

    struct BufferedDiff: Sendable {
        var first: Int64
        var final: Int64
        var bids: [PriceQuantity]
        var asks: [PriceQuantity]
    }

    public private(set) var phase: Phase = .idle
    public private(set) var book = LocalBook()
    /// The id of the last diff (or snapshot) in `book`; meaningful when synced.
    public private(set) var lastUpdateID: Int64 = 0
    /// Incremented on every reset, so published records say which sync they belong to.
    public private(set) var epoch: UInt64 = 0
    var buffer: [BufferedDiff] = []
    /// Diffs kept while waiting for a snapshot; the oldest go first (only diffs after the
    /// snapshot are needed, so dropping old ones keeps the procedure correct).
    public var maxBuffered: Int

    public init(maxBuffered: Int = 20_000) {
        self.maxBuffered = maxBuffered
    }

    public var bufferedCount: Int { buffer.count }
    /// U of the first buffered diff, if any.
    public var firstBufferedID: Int64? { buffer.first?.first }

    /// Feeds one diff [first (U), final (u)].
    public mutating func apply(first: Int64, final: Int64, bids: [PriceQuantity], asks: [PriceQuantity]) -> DiffOutcome {
        switch phase {
        case .idle:
            buffer.append(BufferedDiff(first: first, final: final, bids: bids, asks: asks))
            phase = .awaitingSnapshot
            return .buffered(requestSnapshot: true)
        case .awaitingSnapshot:
            if buffer.count >= maxBuffered { buffer.removeFirst(buffer.count / 2) }
            buffer.append(BufferedDiff(first: first, final: final, bids: bids, asks: asks))
            return .buffered(requestSnapshot: false)
        case .synced:
            if final == lastUpdateID { return .ignoredStale }
            if final < lastUpdateID {
                let lastGood = lastUpdateID
                restart(with: BufferedDiff(first: first, final: final, bids: bids, asks: asks))
                return .resync(reason: .backwards, lastGood: lastGood)
            }
            if first > lastUpdateID + 1 {
                let lastGood = lastUpdateID
                restart(with: BufferedDiff(first: first, final: final, bids: bids, asks: asks))
                return .resync(reason: .gap, lastGood: lastGood)
            }
            book.apply(bids: bids, asks: asks)
            lastUpdateID = final
            return .applied
        }
    }

    /// Feeds a REST snapshot (`GET /api/v3/depth`).
    public mutating func applySnapshot(lastUpdateID snapshotID: Int64, bids: [PriceQuantity], asks: [PriceQuantity]) -> SnapshotOutcome {
        guard phase == .awaitingSnapshot, let firstBuffered = buffer.first?.first else { return .notAwaiting }
        // Binance says refetch when lastUpdateId < U of the first buffered diff; a snapshot at
        // exactly U - 1 is continuous with that diff, so only older ones are refused.
        if snapshotID + 1 < firstBuffered { return .tooOld(snapshotID: snapshotID, firstBuffered: firstBuffered) }
        book.load(bids: bids, asks: asks)
        lastUpdateID = snapshotID
        var applied = 0
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        for (index, diff) in pending.enumerated() where diff.final > lastUpdateID {
            if diff.first > lastUpdateID + 1 {
                // A hole inside the buffer (the oldest were dropped, or upstream skipped): start
                // over from the diff after the hole.
                book.removeAll()
                buffer = Array(pending[index...])
                epoch &+= 1
                return .gapInBuffer
            }
            book.apply(bids: diff.bids, asks: diff.asks)
            lastUpdateID = diff.final
            applied += 1
        }
        phase = .synced
        return .synced(appliedBuffered: applied)
    }

    /// Throws the book away (a reconnect, an operator request): the next diff starts over.
    public mutating func reset() {
        book.removeAll()
        buffer.removeAll()
        phase = .idle
        lastUpdateID = 0
        epoch &+= 1
    }

    private mutating func restart(with diff: BufferedDiff) {
        book.removeAll()
        buffer.removeAll()
        buffer.append(diff)
        phase = .awaitingSnapshot
        epoch &+= 1
    }
}
