import CRdKafka
import ExchangeProtocol
import Foundation

/// An idempotent Kafka producer (`acks=all`) that batches by linger and reports a `send` as done
/// only once the brokers acknowledged every record.
///
/// `@unchecked Sendable`: the `rd_kafka_t` handle is thread-safe per librdkafka's documentation;
/// the partition-count cache and the closed flag are guarded by `lock`; enqueueing and closing are
/// serialised on `sendQueue`.
public final class KafkaProducer: EventProducer, @unchecked Sendable {
    private let configuration: KafkaConfiguration
    private let handle: RdKafkaHandle
    private let pollLoop: KafkaPollLoop
    /// Enqueues batches and runs `close`, so a full local queue (which we wait out) never blocks
    /// the cooperative pool, and `close` cannot overtake a batch being enqueued.
    private let sendQueue = DispatchQueue(label: "exchange.kafka.producer.send")
    private let lock = NSLock()
    private var partitionCounts: [String: Int32] = [:]
    private var closed = false

    /// Connects a producer to the cluster in `configuration`.
    public init(configuration: KafkaConfiguration) throws {
        self.configuration = configuration
        let conf = try RdKafka.makeConf(configuration.producerProperties)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            let slot = opaque.assumingMemoryBound(to: KafkaDeliveryBatch.Slot.self).pointee
            let batch = Unmanaged<KafkaDeliveryBatch>.fromOpaque(slot.batch).takeUnretainedValue()
            withExtendedLifetime(batch) {
                batch.delivered(
                    index: slot.index, partition: message.pointee.partition,
                    offset: message.pointee.offset, err: message.pointee.err)
            }
        }
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, _ in
            let text = reason.map { String(cString: $0) } ?? ""
            rdKafkaLogger.warning("producer error \(RdKafka.describe(rd_kafka_resp_err_t(rawValue: err))): \(text)")
        }
        let rk = try RdKafka.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        handle = RdKafkaHandle(rk)
        pollLoop = KafkaPollLoop(handle: handle, name: "kafka-producer-poll")
    }

    deinit {
        // Without `close()` the thread still exits and the last reference destroys the handle.
        pollLoop.stop()
    }

    /// Appends `records`; returns their positions once every one was acknowledged by the brokers,
    /// or throws `MessagingError` (`.deliveryFailed` when any record could not be delivered).
    public func send(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        guard !records.isEmpty else { return [] }
        guard !isClosed else { throw MessagingError(.closed, "producer is closed") }
        var counts: [String: Int32] = [:]
        for record in records where counts[record.topic] == nil {
            counts[record.topic] = try await partitionCount(of: record.topic)
        }
        var partitions: [Int32] = []
        partitions.reserveCapacity(records.count)
        for record in records {
            let count = counts[record.topic]!
            if let explicit = record.partition {
                guard explicit >= 0 && explicit < count else {
                    throw MessagingError(.invalidArgument, "partition \(explicit) of \(record.topic) (has \(count))")
                }
                partitions.append(explicit)
            } else {
                partitions.append(Murmur2.partition(for: record.key, partitionCount: count))
            }
        }
        let topicHandles = try Dictionary(uniqueKeysWithValues: counts.keys.map { ($0, try handle.topicHandle($0)) })
        let enqueue = Enqueue(producer: self, records: records, partitions: partitions, topicHandles: topicHandles)
        return try await withCheckedThrowingContinuation { continuation in
            let batch = KafkaDeliveryBatch.start(topics: records.map(\.topic), continuation: continuation)
            sendQueue.async { enqueue.run(batch) }
        }
    }

    /// What one batch needs on `sendQueue`.
    ///
    /// `@unchecked Sendable`: the topic handles are thread-safe librdkafka objects kept alive by the
    /// producer's handle, which this value retains through `producer`.
    private struct Enqueue: @unchecked Sendable {
        let producer: KafkaProducer
        let records: [OutgoingRecord]
        let partitions: [Int32]
        let topicHandles: [String: OpaquePointer]

        func run(_ batch: KafkaDeliveryBatch) {
            let rk = producer.handle.rk
            if producer.isClosed {
                batch.notEnqueued(from: 0, because: MessagingError(.closed, "producer closed before the batch was sent"))
                batch.enqueueingFinished()
                return
            }
            // One argument array for the whole batch: librdkafka copies what it needs per message.
            let vus = UnsafeMutablePointer<rd_kafka_vu_t>.allocate(capacity: 6)
            vus.initialize(repeating: rd_kafka_vu_t(), count: 6)
            defer {
                vus.deinitialize(count: 6)
                vus.deallocate()
            }
            for (index, record) in records.enumerated() {
                let rkt = topicHandles[record.topic]!
                while true {
                    let error = produce(rk: rk, vus: vus, rkt: rkt, partition: partitions[index], record: record,
                                        opaque: batch.opaque(for: index))
                    guard let error else { break }
                    if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                        rd_kafka_error_destroy(error)
                        // The local queue drains as brokers acknowledge; serve reports meanwhile.
                        rd_kafka_poll(rk, 10)
                        continue
                    }
                    let failure = RdKafka.consume(error: error, "enqueue record \(index) for \(record.topic)")
                    batch.notEnqueued(
                        from: index,
                        because: MessagingError(.deliveryFailed, failure.reason, isRetriable: failure.isRetriable))
                    batch.enqueueingFinished()
                    return
                }
            }
            batch.enqueueingFinished()
        }

        private func produce(
            rk: OpaquePointer, vus: UnsafeMutablePointer<rd_kafka_vu_t>, rkt: OpaquePointer, partition: Int32,
            record: OutgoingRecord, opaque: UnsafeMutableRawPointer
        ) -> OpaquePointer? {
            record.key.withUnsafeBytes { key in
                record.value.withUnsafeBytes { value in
                    vus[0].vtype = RD_KAFKA_VTYPE_RKT
                    vus[0].u.rkt = rkt
                    vus[1].vtype = RD_KAFKA_VTYPE_PARTITION
                    vus[1].u.i32 = partition
                    vus[2].vtype = RD_KAFKA_VTYPE_KEY
                    vus[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                    vus[2].u.mem.size = key.count
                    vus[3].vtype = RD_KAFKA_VTYPE_VALUE
                    vus[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    vus[3].u.mem.size = value.count
                    vus[4].vtype = RD_KAFKA_VTYPE_OPAQUE
                    vus[4].u.ptr = opaque
                    vus[5].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    vus[5].u.i = RD_KAFKA_MSG_F_COPY
                    return rd_kafka_produceva(rk, vus, 6)
                }
            }
        }
    }

    /// Flushes outstanding records (bounded by the message timeout) and stops the poll thread.
    public func close() async {
        let wasClosed = lock.withLock {
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        let handle = self.handle
        let flushMs = Int32(clamping: configuration.messageTimeoutMs + 1_000)
        let pollLoop = self.pollLoop
        await RdKafka.offload(on: sendQueue) {
            let rk = handle.rk
            if rd_kafka_flush(rk, flushMs) != RD_KAFKA_RESP_ERR_NO_ERROR {
                // Fail what is left rather than leave `send` callers waiting forever.
                rd_kafka_purge(rk, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
                rd_kafka_flush(rk, 1_000)
            }
            pollLoop.stopAndWait()
        }
    }

    private var isClosed: Bool {
        lock.withLock { closed }
    }

    /// The partition count of `topic`, cached after the first metadata request.
    func partitionCount(of topic: String) async throws -> Int32 {
        if let cached = lock.withLock({ partitionCounts[topic] }) { return cached }
        let timeoutMs = Int32(clamping: configuration.requestTimeoutMs)
        let handle = self.handle
        let count = try await RdKafka.offload(on: RdKafka.blockingQueue) {
            try RdKafka.partitionCount(rk: handle.rk, topic: topic, timeoutMs: timeoutMs)
        }
        lock.withLock { partitionCounts[topic] = count }
        return count
    }
}
