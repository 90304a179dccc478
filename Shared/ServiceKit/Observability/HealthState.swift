import Synchronization

/// Liveness and readiness of a service. Components register named checks and flip them as their
/// backing services come and go; the service is ready when every check is up.
public final class HealthState: Sendable {
    private let checks = Mutex<[String: Check]>([:])

    /// One component's state.
    public struct Check: Sendable, Equatable {
        public var ready: Bool
        public var detail: String
    }

    public init() {}

    /// Records a component's readiness (`detail` says why when not ready).
    public func set(_ name: String, ready: Bool, detail: String = "") {
        checks.withLock { $0[name] = Check(ready: ready, detail: detail) }
    }

    /// Ready when at least one check exists and all are up.
    public var isReady: Bool {
        checks.withLock { !$0.isEmpty && $0.values.allSatisfy(\.ready) }
    }

    /// Every check, by name.
    public var snapshot: [String: Check] { checks.withLock { $0 } }
}
