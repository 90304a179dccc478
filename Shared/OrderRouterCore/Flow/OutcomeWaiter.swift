import ExchangeProtocol
import Logging
import Messaging
import Synchronization

/// Delivers the `RequestOutcome`s published on this router's reply channel to the requests
/// waiting for them. A waiter is registered before its request is appended, so an outcome that
/// arrives before the append returns is not missed. An outcome nobody waits for (the request
/// answered ACK, or timed out) is dropped.
///
/// The ledger may publish an outcome that only says it forwarded the order (no events); a waiter
/// is completed by the first outcome that carries an `OrderRejected` or `OrderUpdate`.
public final class OutcomeWaiter: Sendable {
    private struct State {
        var waiting: [String: CheckedContinuation<Exchange_V1_RequestOutcome?, Never>] = [:]
        /// Outcomes that arrived before their waiter started waiting.
        var early: [String: Exchange_V1_RequestOutcome] = [:]
        var registered: Set<String> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Announces that `requestID` will be waited for (call before appending the request).
    public func register(_ requestID: String) {
        state.withLock { _ = $0.registered.insert(requestID) }
    }

    /// Forgets a registration without waiting (ACK answers).
    public func cancel(_ requestID: String) {
        state.withLock {
            $0.registered.remove(requestID)
            $0.early[requestID] = nil
        }
    }

    /// The decisive outcome of `requestID`, or nil after `timeout`.
    public func wait(_ requestID: String, timeout: Duration) async -> Exchange_V1_RequestOutcome? {
        let result: Exchange_V1_RequestOutcome? = await withTaskGroup(of: Exchange_V1_RequestOutcome?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready: Exchange_V1_RequestOutcome?? = self.state.withLock { state in
                        if let early = state.early.removeValue(forKey: requestID) { return .some(early) }
                        guard state.registered.contains(requestID) else { return .some(nil) }
                        state.waiting[requestID] = continuation
                        return .none
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                // Resume the waiter with nil if it is still waiting.
                let continuation = self.state.withLock { state -> CheckedContinuation<Exchange_V1_RequestOutcome?, Never>? in
                    state.registered.remove(requestID)
                    return state.waiting.removeValue(forKey: requestID)
                }
                continuation?.resume(returning: nil)
                return nil
            }
            var first: Exchange_V1_RequestOutcome?? = nil
            for await value in group {
                if first == nil {
                    first = .some(value)
                    group.cancelAll()
                }
            }
            return first ?? nil
        }
        state.withLock {
            $0.registered.remove(requestID)
            $0.early[requestID] = nil
        }
        return result
    }

    /// Hands an outcome to its waiter (called by the reply-channel subscriber).
    public func deliver(_ outcome: Exchange_V1_RequestOutcome) {
        let decisive = outcome.events.contains {
            if case .orderRejected = $0.payload { return true }
            if case .orderUpdate = $0.payload { return true }
            return false
        }
        guard decisive else { return }
        let continuation = state.withLock { state -> CheckedContinuation<Exchange_V1_RequestOutcome?, Never>? in
            guard state.registered.contains(outcome.requestID) else { return nil }
            if let waiting = state.waiting.removeValue(forKey: outcome.requestID) {
                state.registered.remove(outcome.requestID)
                return waiting
            }
            state.early[outcome.requestID] = outcome
            return nil
        }
        continuation?.resume(returning: outcome)
    }

    /// Reads the reply channel until cancelled.
    public func run(subscriber: RedisSubscriber, logger: Logger) async {
        for await message in subscriber {
            do {
                deliver(try Exchange_V1_RequestOutcome(fastSerializedBytes: message.payload))
            } catch {
                logger.warning("undecodable message on the reply channel", metadata: ["error": "\(error)"])
            }
        }
    }
}
