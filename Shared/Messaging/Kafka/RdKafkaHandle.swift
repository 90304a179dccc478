import CRdKafka
import Foundation

/// Owns one `rd_kafka_t` and destroys it when the last user (client object or poll thread) is gone.
///
/// `@unchecked Sendable`: the `rd_kafka_t` handle is thread-safe per librdkafka's documentation,
/// and the only mutable state here (the topic-handle cache) is guarded by `lock`.
final class RdKafkaHandle: @unchecked Sendable {
    let rk: OpaquePointer
    private let lock = NSLock()
    private var topicHandles: [String: OpaquePointer] = [:]
    /// Runs right after `rd_kafka_destroy`, e.g. to release a callback context that must outlive
    /// every callback librdkafka can still make during destruction.
    private let afterDestroy: (@Sendable () -> Void)?

    init(_ rk: OpaquePointer, afterDestroy: (@Sendable () -> Void)? = nil) {
        self.rk = rk
        self.afterDestroy = afterDestroy
    }

    /// A cached `rd_kafka_topic_t` for producing, so each message avoids a by-name topic lookup.
    func topicHandle(_ name: String) throws -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let rkt = topicHandles[name] { return rkt }
        guard let rkt = rd_kafka_topic_new(rk, name, nil) else {
            throw RdKafka.error(rd_kafka_last_error(), "rd_kafka_topic_new(\(name))")
        }
        topicHandles[name] = rkt
        return rkt
    }

    deinit {
        // Topic handles must go before the client handle.
        for rkt in topicHandles.values { rd_kafka_topic_destroy(rkt) }
        rd_kafka_destroy(rk)
        afterDestroy?()
    }
}
