import MarketDataCore
import Synchronization

/// Faults the replay injects, for ingestion tests.
public struct ReplayFaults: Sendable {
    /// Leave out the `gapFrame`-th depth diff (0-based, per symbol) of `gapSymbol` on the first
    /// connection only: a client sees U > its last u + 1 and must resync.
    public var gapSymbol: String?
    public var gapFrame: Int
    /// Close the first connection after sending this many frames; later connections run to the end.
    public var dropConnectionAfter: Int?
    /// The first N `/api/v3/depth` requests per symbol get a snapshot whose lastUpdateId is older
    /// than every recorded diff (a stale cache); later ones get the real book.
    public var staleSnapshots: Int
    /// The first N REST requests are answered 429 with `Retry-After: 1`.
    public var rateLimitFirst: Int

    public init(gapSymbol: String? = nil, gapFrame: Int = 5, dropConnectionAfter: Int? = nil, staleSnapshots: Int = 0, rateLimitFirst: Int = 0) {
        self.gapSymbol = gapSymbol
        self.gapFrame = gapFrame
        self.dropConnectionAfter = dropConnectionAfter
        self.staleSnapshots = staleSnapshots
        self.rateLimitFirst = rateLimitFirst
    }

    public static let none = ReplayFaults()
}

/// What the replay has served, for tests and logs.
public struct ReplayStatistics: Sendable {
    public var connections = 0
    public var framesSent = 0
    public var depthRequests: [String: Int] = [:]
    public var restRequests = 0
    public var rateLimited = 0
}

/// The exchange side of the replay: each symbol's book as of the furthest diff any connection has
/// sent (recorded snapshot plus the diffs after it), so `/api/v3/depth` answers what Binance's
/// REST would have answered at that moment of the recording.
final class ReplayState: Sendable {
    struct SymbolBook {
        var book = LocalBook()
        var lastUpdateID: Int64
        /// Indices into `depthFrames[symbol]` already applied.
        var applied = 0
        var firstDiffID: Int64
    }

    struct Mutable {
        var books: [String: SymbolBook] = [:]
        var statistics = ReplayStatistics()
        var weightWindowStart: Int64 = 0
        var usedWeight = 0
    }

    /// Per symbol, the parsed depth diffs in capture order.
    let depthFrames: [String: [(first: Int64, final: Int64, bids: [PriceQuantity], asks: [PriceQuantity])]]
    let faults: ReplayFaults
    private let mutable: Mutex<Mutable>

    init(capture: BinanceCapture, faults: ReplayFaults) {
        self.faults = faults
        var frames: [String: [(first: Int64, final: Int64, bids: [PriceQuantity], asks: [PriceQuantity])]] = [:]
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        for recorded in capture.frames where parser.parse(recorded.data, into: &frame) == nil && frame.kind == .depthUpdate {
            frames[frame.symbol.description, default: []].append((frame.firstUpdateID, frame.finalUpdateID, frame.bids, frame.asks))
        }
        self.depthFrames = frames
        var state = Mutable()
        for (symbol, diffs) in frames {
            guard let body = capture.depthSnapshotBody(symbol: symbol), case .success(let snapshot) = DepthSnapshot.parse(body) else { continue }
            var entry = SymbolBook(lastUpdateID: snapshot.lastUpdateID, firstDiffID: diffs.first?.first ?? snapshot.lastUpdateID)
            entry.book.load(bids: snapshot.bids, asks: snapshot.asks)
            state.books[symbol] = entry
        }
        self.mutable = Mutex(state)
    }

    /// Records that a connection sent the `index`-th depth diff of `symbol`: the REST book moves
    /// up to it (diffs at or below the snapshot's id are already in it).
    func advance(symbol: String, through index: Int) {
        guard let diffs = depthFrames[symbol] else { return }
        mutable.withLock { state in
            guard var entry = state.books[symbol] else { return }
            while entry.applied <= index && entry.applied < diffs.count {
                let diff = diffs[entry.applied]
                if diff.final > entry.lastUpdateID {
                    entry.book.apply(bids: diff.bids, asks: diff.asks)
                    entry.lastUpdateID = diff.final
                }
                entry.applied += 1
            }
            state.books[symbol] = entry
        }
    }

    /// The depth snapshot to serve, nil for an unknown symbol.
    func snapshot(symbol: String, limit: Int) -> DepthSnapshot? {
        mutable.withLock { state in
            state.statistics.depthRequests[symbol, default: 0] += 1
            guard let entry = state.books[symbol] else { return nil }
            let (bids, asks) = entry.book.top(limit)
            var id = entry.lastUpdateID
            if state.statistics.depthRequests[symbol, default: 0] <= faults.staleSnapshots {
                id = min(id, entry.firstDiffID - 1_000)
            }
            return DepthSnapshot(lastUpdateID: id, bids: bids, asks: asks)
        }
    }

    /// Counts a REST request of `weight`; returns whether it must be refused with 429, and the
    /// weight used in the current minute.
    func admitRequest(weight: Int, nowMs: Int64) -> (limited: Bool, usedWeight: Int) {
        mutable.withLock { state in
            state.statistics.restRequests += 1
            if nowMs / 60_000 != state.weightWindowStart {
                state.weightWindowStart = nowMs / 60_000
                state.usedWeight = 0
            }
            state.usedWeight += weight
            if state.statistics.restRequests <= faults.rateLimitFirst {
                state.statistics.rateLimited += 1
                return (true, state.usedWeight)
            }
            return (false, state.usedWeight)
        }
    }

    func connectionOpened() -> Int {
        mutable.withLock { state in
            state.statistics.connections += 1
            return state.statistics.connections
        }
    }

    func frameSent() {
        mutable.withLock { $0.statistics.framesSent += 1 }
    }

    var statistics: ReplayStatistics { mutable.withLock { $0.statistics } }
}
