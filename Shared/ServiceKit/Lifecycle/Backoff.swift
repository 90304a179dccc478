/// Capped exponential backoff: each `next()` returns the delay to wait now and doubles the one
/// after it, up to `cap`. Shared by every retry loop (event log, consumer, producer, child restarts).
public struct Backoff: Sendable {
    public let initial: Duration
    public let cap: Duration
    public private(set) var current: Duration

    public init(initial: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.initial = initial
        self.cap = cap
        self.current = initial
    }

    /// The delay to wait now; the following one doubles (capped).
    public mutating func next() -> Duration {
        defer { current = min(current * 2, cap) }
        return current
    }

    /// Starts again from `initial` (after a long healthy stretch).
    public mutating func reset() { current = initial }
}
