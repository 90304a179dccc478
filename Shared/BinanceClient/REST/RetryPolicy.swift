/// Exponential backoff with full jitter: attempt n waits a random time in [0, min(cap, base * 2^n)].
/// Pure; the random source is injected so tests are deterministic.
public struct ExponentialBackoff: Sendable {
    public var base: Duration
    public var cap: Duration
    public private(set) var attempt = 0

    public init(base: Duration = .milliseconds(200), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the next delay before jitter.
    public var nextCeiling: Duration {
        let factor = 1 << min(attempt, 20)
        let raw = base * factor
        return raw > cap ? cap : raw
    }

    /// The next delay (jittered by `random` in 0...1) and advances the attempt count.
    public mutating func next(random: Double) -> Duration {
        let ceiling = nextCeiling
        attempt += 1
        return ceiling * min(max(random, 0), 1)
    }

    public mutating func reset() { attempt = 0 }
}

/// A circuit breaker: after `failureThreshold` consecutive failures calls fail fast for
/// `openDuration`; then one trial call is let through (half-open): success closes the circuit,
/// failure opens it again. Pure: time is passed in.
public struct CircuitBreaker: Sendable {
    public enum State: Sendable, Equatable {
        case closed(failures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen
    }

    public var failureThreshold: Int
    public var openDuration: Duration
    public private(set) var state: State = .closed(failures: 0)

    public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(10)) {
        self.failureThreshold = failureThreshold
        self.openDuration = openDuration
    }

    /// Whether a call may go out now (moves open -> half-open when the open time is over).
    public mutating func allow(now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed: return true
        case .halfOpen: return false  // one trial at a time
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        }
    }

    public mutating func recordSuccess() {
        state = .closed(failures: 0)
    }

    public mutating func recordFailure(now: ContinuousClock.Instant) {
        switch state {
        case .closed(let failures):
            state = failures + 1 >= failureThreshold ? .open(until: now + openDuration) : .closed(failures: failures + 1)
        case .halfOpen, .open:
            state = .open(until: now + openDuration)
        }
    }

    /// Opens the circuit until a server-given time (Retry-After on 429/418).
    public mutating func hold(until instant: ContinuousClock.Instant) {
        state = .open(until: instant)
    }
}
