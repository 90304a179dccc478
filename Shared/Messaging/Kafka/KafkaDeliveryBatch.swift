import CRdKafka
import ExchangeProtocol
import Foundation

/// The delivery state of one `send` call: one continuation for the whole batch, completed when the
/// last record's delivery report arrives, so the per-record cost is a lock and a counter.
///
/// Each produced message carries a pointer to its `Slot` as librdkafka's per-message opaque; the
/// slot names the batch and the record's index. The batch keeps itself alive (one `Unmanaged`
/// retain) until every record has been reported.
///
/// `@unchecked Sendable`: delivery reports arrive on librdkafka's polling threads; all mutable state
/// is guarded by `lock`, and `slots` is written only before the messages are produced.
final class KafkaDeliveryBatch: @unchecked Sendable {
    struct Slot {
        var batch: UnsafeMutableRawPointer
        var index: Int
    }

    let count: Int
    let slots: UnsafeMutablePointer<Slot>
    private let topics: [String]
    private let lock = NSLock()
    /// Records not yet reported, plus one for the sender until it has finished enqueueing.
    private var remaining: Int
    private var positions: [RecordPosition?]
    private var failure: MessagingError?
    private var continuation: CheckedContinuation<[RecordPosition], any Error>?

    /// Creates the batch and retains it on behalf of its in-flight records.
    static func start(
        topics: [String], continuation: CheckedContinuation<[RecordPosition], any Error>
    ) -> KafkaDeliveryBatch {
        let batch = KafkaDeliveryBatch(topics: topics, continuation: continuation)
        let raw = Unmanaged.passRetained(batch).toOpaque()
        for i in 0..<batch.count {
            (batch.slots + i).initialize(to: Slot(batch: raw, index: i))
        }
        return batch
    }

    private init(topics: [String], continuation: CheckedContinuation<[RecordPosition], any Error>) {
        self.count = topics.count
        self.topics = topics
        self.slots = .allocate(capacity: max(topics.count, 1))
        self.remaining = topics.count + 1
        self.positions = Array(repeating: nil, count: topics.count)
        self.continuation = continuation
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    /// The opaque pointer to pass with record `index`.
    func opaque(for index: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(slots + index)
    }

    /// A delivery report for record `index`.
    func delivered(index: Int, partition: Int32, offset: Int64, err: rd_kafka_resp_err_t) {
        lock.lock()
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            positions[index] = RecordPosition(topicPartition: TopicPartition(topics[index], partition), offset: offset)
        } else if failure == nil {
            failure = RdKafka.error(err, "delivery of record \(index) to \(topics[index])[\(partition)]", code: .deliveryFailed)
        }
        remaining -= 1
        finishIfDone()
    }

    /// Records `index..<count` were never enqueued (no report will come for them).
    func notEnqueued(from index: Int, because error: MessagingError) {
        lock.lock()
        if failure == nil { failure = error }
        remaining -= count - index
        finishIfDone()
    }

    /// The sender has enqueued everything it is going to.
    func enqueueingFinished() {
        lock.lock()
        remaining -= 1
        finishIfDone()
    }

    /// Called with `lock` held; unlocks it.
    private func finishIfDone() {
        guard remaining == 0, let continuation else {
            lock.unlock()
            return
        }
        self.continuation = nil
        let result: Result<[RecordPosition], any Error>
        if let failure {
            result = .failure(failure)
        } else {
            result = .success(positions.map { $0! })
        }
        lock.unlock()
        continuation.resume(with: result)
        // Drop the retain taken in `start`: no report can reference the slots any more.
        Unmanaged.passUnretained(self).release()
    }
}
