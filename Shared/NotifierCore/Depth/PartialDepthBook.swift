import ExchangeProtocol
import MarketDataCore

/// The notifier's local book of one symbol for the partial-depth streams (`@depth5/10/20`),
/// kept by Binance's own procedure: a snapshot (`mdDepth:<SYMBOL>` or `depth:<SYMBOL>` at the
/// first subscription, or an `MdDepthSnapshot` on the channel), then the diffs that follow it.
/// A gap or an `MdDepthResync` drops the book until the next snapshot; meanwhile nothing is sent.
public struct PartialDepthBook: Sendable {
    /// What the owner must do after a record.
    public enum Action: Equatable, Sendable {
        case none
        /// The book is gone (gap, resync); fetch the latest snapshot.
        case needSnapshot
    }

    public let symbol: String
    private var book = LocalBook()
    /// The id the book is at; nil while waiting for a snapshot.
    public private(set) var lastUpdateID: Int64?
    /// Diffs that arrived while waiting for a snapshot (the newest `pendingLimit`), applied on load.
    private var pending: [Exchange_V1_MdDepthDiff] = []
    public static let pendingLimit = 1000

    public init(symbol: String) { self.symbol = symbol }

    /// Replaces the book with a snapshot at `lastUpdateID` (levels best first or in any order).
    /// Buffered diffs that follow it are applied; `.needSnapshot` when they do not connect to it.
    @discardableResult
    public mutating func load(lastUpdateID: Int64, bids: [Exchange_V1_PriceLevel], asks: [Exchange_V1_PriceLevel]) -> Action {
        // An older snapshot than the book never rewinds it.
        if let current = self.lastUpdateID, current >= lastUpdateID { return .none }
        book.load(bids: bids.map(Self.pq), asks: asks.map(Self.pq))
        self.lastUpdateID = lastUpdateID
        let buffered = pending
        pending.removeAll()
        for (i, diff) in buffered.enumerated() where apply(diff) == .needSnapshot {
            pending.append(contentsOf: buffered[(i + 1)...])
            return .needSnapshot
        }
        return .none
    }

    /// Whether the book waits for a snapshot.
    public var isWaiting: Bool { lastUpdateID == nil }

    /// Applies a diff by Binance's rule: drop it when `u` <= the book's id, apply it when
    /// `U` <= id + 1, otherwise the book has a gap and is dropped.
    public mutating func apply(_ diff: Exchange_V1_MdDepthDiff) -> Action {
        guard let current = lastUpdateID else {
            pending.append(diff)
            if pending.count > Self.pendingLimit { pending.removeFirst(pending.count - Self.pendingLimit) }
            return .none
        }
        if diff.finalUpdateID <= current { return .none }
        guard diff.firstUpdateID <= current + 1 else {
            reset()
            // This diff follows the snapshot to come; keep it.
            pending.append(diff)
            return .needSnapshot
        }
        book.apply(bids: diff.bids.map(Self.pq), asks: diff.asks.map(Self.pq))
        lastUpdateID = diff.finalUpdateID
        return .none
    }

    /// Forgets the book (an `MdDepthResync`).
    public mutating func reset() {
        pending.removeAll()
        book.removeAll()
        lastUpdateID = nil
    }

    /// The top `levels` of each side, best first, with the book's id; nil without a book.
    public func top(_ levels: Int) -> (lastUpdateID: Int64, bids: [Exchange_V1_PriceLevel], asks: [Exchange_V1_PriceLevel])? {
        guard let lastUpdateID else { return nil }
        let top = book.top(levels)
        return (lastUpdateID, top.bids.map(Self.level), top.asks.map(Self.level))
    }

    static func pq(_ l: Exchange_V1_PriceLevel) -> PriceQuantity { PriceQuantity(price: l.price, quantity: l.quantity) }
    static func level(_ p: PriceQuantity) -> Exchange_V1_PriceLevel { DepthDiffWindow.level(p.price, p.quantity) }
}
