import CRdKafka
import ExchangeProtocol
import Foundation

/// A Kafka consumer that leaves offset storage to the application: nothing is committed unless
/// `commit` is called, and start positions can come from the application (`onAssign`).
///
/// Blocking librdkafka calls run on `operations`, a private concurrent queue, never on the
/// cooperative pool. `close` runs there as a barrier, so it waits for calls in flight and no call
/// can use the handle after it is destroyed.
///
/// `@unchecked Sendable`: the `rd_kafka_t` handle is thread-safe per librdkafka's documentation;
/// `handle` and `pendingError` are guarded by `lock`.
public final class KafkaConsumer: EventConsumer, @unchecked Sendable {
    private let configuration: KafkaConfiguration
    private let consumerConfiguration: ConsumerConfiguration
    private let operations = DispatchQueue(label: "exchange.kafka.consumer", attributes: .concurrent)
    private let lock = NSLock()
    /// `nil` once closed.
    private var handle: RdKafkaHandle?
    /// An error met after records were already collected in a poll, reported by the next poll.
    private var pendingError: MessagingError?

    /// Creates a consumer and joins its group (`.group`) or assigns its partitions statically
    /// (`.shard`, `.explicit`), asking `onAssign` for start positions.
    public static func make(
        configuration: KafkaConfiguration, consumer: ConsumerConfiguration
    ) async throws -> KafkaConsumer {
        let kafkaConsumer = try KafkaConsumer(configuration: configuration, consumer: consumer)
        do {
            try await kafkaConsumer.withHandle { handle in try kafkaConsumer.start(handle.rk) }
        } catch {
            await kafkaConsumer.close()
            throw error
        }
        return kafkaConsumer
    }

    private init(configuration: KafkaConfiguration, consumer: ConsumerConfiguration) throws {
        self.configuration = configuration
        self.consumerConfiguration = consumer
        let conf = try RdKafka.makeConf(
            configuration.consumerProperties(groupID: consumer.groupID, clientID: consumer.clientID))
        let callbacks = KafkaConsumerCallbacks(consumer)
        callbacks.install(on: conf)
        // Transient client errors (a broker went away) are logged rather than thrown from `poll`;
        // librdkafka recovers from them by itself.
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, _ in
            let text = reason.map { String(cString: $0) } ?? ""
            rdKafkaLogger.warning("consumer error \(RdKafka.describe(rd_kafka_resp_err_t(rawValue: err))): \(text)")
        }
        let retained = Unmanaged.passRetained(callbacks)
        let rk: OpaquePointer
        do {
            rk = try RdKafka.makeHandle(RD_KAFKA_CONSUMER, conf: conf)
        } catch {
            retained.release()
            throw error
        }
        // Rebalance callbacks may run until the handle is destroyed, so the context lives that long.
        handle = RdKafkaHandle(rk, afterDestroy: { retained.release() })
        // Serve everything (rebalances, errors) from rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(rk)
    }

    private var timeoutMs: Int32 { Int32(clamping: configuration.requestTimeoutMs) }

    /// Runs `body` with the live handle on `operations`; `.closed` after `close`.
    private func withHandle<T: Sendable>(_ body: @escaping @Sendable (RdKafkaHandle) throws -> T) async throws -> T {
        try await RdKafka.offload(on: operations) { [self] in
            guard let handle = lock.withLock({ self.handle }) else {
                throw MessagingError(.closed, "consumer is closed")
            }
            return try body(handle)
        }
    }

    /// Subscribes or assigns, on `operations`.
    private func start(_ rk: OpaquePointer) throws {
        let config = consumerConfiguration
        switch config.partitions {
        case .group:
            let list = RdKafka.makeList(config.topics.map { (TopicPartition($0, RD_KAFKA_PARTITION_UA), nil) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_subscribe(rk, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw RdKafka.error(err, "subscribe to \(config.topics)") }
        case .explicit(let partitions):
            try assignStatically(rk, partitions)
        case .shard(let index, let count):
            guard count > 0, index >= 0, index < count else {
                throw MessagingError(.invalidArgument, "shard \(index)/\(count)")
            }
            var partitions: [TopicPartition] = []
            for topic in config.topics {
                let total = try RdKafka.partitionCount(rk: rk, topic: topic, timeoutMs: timeoutMs)
                partitions += (0..<total).filter { $0 % count == index }.map { TopicPartition(topic, $0) }
            }
            try assignStatically(rk, partitions)
        }
    }

    /// Static assignment: start at `onAssign`'s position, else the group's commit, else the beginning.
    private func assignStatically(_ rk: OpaquePointer, _ partitions: [TopicPartition]) throws {
        let starts = consumerConfiguration.onAssign(partitions)
        var positions: [TopicPartition: Int64] = [:]
        let unknown = partitions.filter { starts[$0] == nil }
        if !unknown.isEmpty {
            positions = try committed(rk, unknown)
        }
        let list = RdKafka.makeList(partitions.map {
            ($0, starts[$0] ?? positions[$0] ?? Int64(RD_KAFKA_OFFSET_BEGINNING))
        })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw RdKafka.error(err, "assign \(partitions)") }
    }

    private func committed(_ rk: OpaquePointer, _ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let list = RdKafka.makeList(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(rk, list, timeoutMs)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw RdKafka.error(err, "committed offsets") }
        var result: [TopicPartition: Int64] = [:]
        for entry in RdKafka.entries(list) {
            if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw RdKafka.error(entry.err, "committed offset of \(entry.topicPartition)") }
            if entry.offset >= 0 { result[entry.topicPartition] = entry.offset }
        }
        return result
    }

    /// Up to `maxRecords` records: waits up to `timeout` for the first, then takes what is ready.
    public func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumedRecord] {
        guard maxRecords > 0 else { return [] }
        let timeoutMs = RdKafka.milliseconds(timeout)
        return try await withHandle { [self] handle in
            if let error = lock.withLock({ () -> MessagingError? in
                defer { pendingError = nil }
                return pendingError
            }) {
                throw error
            }
            return try collect(handle.rk, maxRecords: maxRecords, timeoutMs: timeoutMs)
        }
    }

    private func collect(_ rk: OpaquePointer, maxRecords: Int, timeoutMs: Int32) throws -> [ConsumedRecord] {
        var records: [ConsumedRecord] = []
        var topicNames: [OpaquePointer: String] = [:]
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
        while records.count < maxRecords {
            var wait: Int32 = 0
            if records.isEmpty {
                let now = DispatchTime.now().uptimeNanoseconds
                wait = now >= deadline ? 0 : Int32((deadline - now) / 1_000_000)
            }
            guard let message = rd_kafka_consumer_poll(rk, wait) else {
                if records.isEmpty && wait > 0 { continue }  // woke early (callback served): keep waiting
                break
            }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? ""
                var error = RdKafka.error(m.err, "consume")
                if !text.isEmpty { error.reason = "consume: \(text)" }
                if records.isEmpty { throw error }
                lock.withLock { pendingError = error }
                break
            }
            let topic: String
            if let rkt = m.rkt, let known = topicNames[rkt] {
                topic = known
            } else {
                topic = String(cString: rd_kafka_topic_name(m.rkt))
                if let rkt = m.rkt { topicNames[rkt] = topic }
            }
            var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &timestampType)
            records.append(ConsumedRecord(
                topicPartition: TopicPartition(topic, m.partition),
                offset: m.offset,
                key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) } ?? [],
                value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? [],
                timestampMs: timestamp))
        }
        return records
    }

    /// Commits `positions` (next offset to read) synchronously.
    public func commit(_ positions: [TopicPartition: Int64]) async throws {
        guard !positions.isEmpty else { return }
        try await withHandle { handle in
            let list = RdKafka.makeList(positions.map { ($0.key, $0.value) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_commit(handle.rk, list, 0)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
                throw RdKafka.error(err, "commit")
            }
            for entry in RdKafka.entries(list) where entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RdKafka.error(entry.err, "commit of \(entry.topicPartition)")
            }
        }
    }

    /// The group's committed positions; partitions with nothing committed are absent.
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try await withHandle { [self] handle in try committed(handle.rk, partitions) }
    }

    /// Moves an assigned partition's fetch position to `offset`.
    public func seek(_ partition: TopicPartition, to offset: Int64) async throws {
        let timeoutMs = self.timeoutMs
        try await withHandle { handle in
            let list = RdKafka.makeList([(partition, offset)])
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_seek_partitions(handle.rk, list, timeoutMs) {
                throw RdKafka.consume(error: error, "seek \(partition) to \(offset)")
            }
            for entry in RdKafka.entries(list) where entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RdKafka.error(entry.err, "seek \(partition) to \(offset)")
            }
        }
    }

    /// Stops fetching these partitions until `resume`.
    public func pause(_ partitions: [TopicPartition]) async throws {
        try await pauseOrResume(partitions, pause: true)
    }

    /// Fetches paused partitions again, from where the application left them.
    public func resume(_ partitions: [TopicPartition]) async throws {
        try await pauseOrResume(partitions, pause: false)
    }

    private func pauseOrResume(_ partitions: [TopicPartition], pause: Bool) async throws {
        guard !partitions.isEmpty else { return }
        try await withHandle { handle in
            let list = RdKafka.makeList(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = pause ? rd_kafka_pause_partitions(handle.rk, list) : rd_kafka_resume_partitions(handle.rk, list)
            let what = pause ? "pause" : "resume"
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw RdKafka.error(err, "\(what) \(partitions)") }
            for entry in RdKafka.entries(list) where entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RdKafka.error(entry.err, "\(what) \(entry.topicPartition)")
            }
        }
    }

    /// The partitions currently assigned (empty when closed or not yet assigned).
    public func assignment() async -> [TopicPartition] {
        let result = try? await withHandle { handle -> [TopicPartition] in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let err = rd_kafka_assignment(handle.rk, &list)
            defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return [] }
            return RdKafka.entries(list).map(\.topicPartition).sorted()
        }
        return result ?? []
    }

    /// Leaves the group (revoking partitions through `onRevoke`) and destroys the handle.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            operations.async(flags: .barrier) { [self] in
                let handle = lock.withLock { () -> RdKafkaHandle? in
                    defer { self.handle = nil }
                    return self.handle
                }
                if let handle {
                    let err = rd_kafka_consumer_close(handle.rk)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        rdKafkaLogger.warning("consumer close: \(RdKafka.describe(err))")
                    }
                }
                // Dropping the last reference destroys the handle here, off the cooperative pool.
                _ = consume handle
                continuation.resume()
            }
        }
    }
}
