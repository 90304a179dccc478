import CRdKafka
import Dispatch
import ExchangeProtocol
import Logging

/// librdkafka's own diagnostics (broker down, retries, …) end up here instead of stderr.
let rdKafkaLogger = Logger(label: "exchange.kafka.librdkafka")

/// Small helpers shared by the Kafka clients: building handles, converting errors and partition
/// lists, and running librdkafka's blocking calls off the Swift cooperative pool.
enum RdKafka {
    /// Builds an `rd_kafka_conf_t` from properties, reporting the first one librdkafka rejects.
    /// The caller owns the returned conf until `rd_kafka_new` succeeds.
    static func makeConf(_ properties: [(String, String)]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw MessagingError(.backendError, "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw MessagingError(.invalidArgument, "librdkafka property \(key)=\(value): \(cString(errstr))")
            }
        }
        rd_kafka_conf_set_log_cb(conf) { _, level, facility, message in
            let text = "\(facility.map { String(cString: $0) } ?? "?"): \(message.map { String(cString: $0) } ?? "")"
            // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
            switch level {
            case ...3: rdKafkaLogger.error("\(text)")
            case 4: rdKafkaLogger.warning("\(text)")
            case 5...6: rdKafkaLogger.info("\(text)")
            default: rdKafkaLogger.debug("\(text)")
            }
        }
        return conf
    }

    /// Creates a client handle. On success librdkafka owns `conf`; on failure it is destroyed here.
    static func makeHandle(_ type: rd_kafka_type_t, conf: OpaquePointer) throws -> OpaquePointer {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw MessagingError(.backendError, "rd_kafka_new: \(cString(errstr))")
        }
        return rk
    }

    static func cString(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static func describe(_ err: rd_kafka_resp_err_t) -> String {
        "\(String(cString: rd_kafka_err2name(err))): \(String(cString: rd_kafka_err2str(err)))"
    }

    /// Maps a librdkafka error code to the messaging layer's error.
    static func error(
        _ err: rd_kafka_resp_err_t, _ context: String, code: MessagingError.Code? = nil,
        file: String = #fileID, line: Int = #line
    ) -> MessagingError {
        let mapped: MessagingError.Code
        if let code {
            mapped = code
        } else {
            switch err {
            case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
                mapped = .timeout
            case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
                mapped = .unknownTopic
            case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE:
                mapped = .connectionFailed
            case RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
                mapped = .invalidArgument
            case RD_KAFKA_RESP_ERR__DESTROY:
                mapped = .closed
            default:
                mapped = .backendError
            }
        }
        return MessagingError(mapped, "\(context): \(describe(err))", isRetriable: isRetriable(err), file: file, line: line)
    }

    /// Whether librdkafka considers the error transient (the same call may succeed later).
    static func isRetriable(_ err: rd_kafka_resp_err_t) -> Bool {
        switch err {
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__QUEUE_FULL,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
            return true
        default:
            return false
        }
    }

    /// Converts an `rd_kafka_error_t` (which it destroys) into a `MessagingError`.
    static func consume(error: OpaquePointer, _ context: String, file: String = #fileID, line: Int = #line) -> MessagingError {
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        let retriable = rd_kafka_error_is_retriable(error) != 0
        rd_kafka_error_destroy(error)
        var mapped = self.error(code, context, file: file, line: line)
        mapped.reason = "\(context): \(text)"
        mapped.isRetriable = mapped.isRetriable || retriable
        return mapped
    }

    /// Timeout in milliseconds for librdkafka from a Swift `Duration` (clamped to `Int32`).
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, ms))
    }

    // MARK: Partition lists

    /// A new `rd_kafka_topic_partition_list_t` (caller destroys it) with the given offsets;
    /// `nil` offsets stay `RD_KAFKA_OFFSET_INVALID`.
    static func makeList(_ entries: [(TopicPartition, Int64?)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(clamping: max(entries.count, 1)))!
        for (tp, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
            element.pointee.offset = offset ?? Int64(RD_KAFKA_OFFSET_INVALID)
        }
        return list
    }

    static func makeList(_ partitions: [TopicPartition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        makeList(partitions.map { ($0, nil) })
    }

    /// One element of a partition list as Swift values.
    struct ListEntry {
        var topicPartition: TopicPartition
        var offset: Int64
        var err: rd_kafka_resp_err_t
    }

    static func entries(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [ListEntry] {
        guard let list, let elems = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { i in
            let element = elems[i]
            return ListEntry(
                topicPartition: TopicPartition(String(cString: element.topic), element.partition),
                offset: element.offset, err: element.err)
        }
    }

    // MARK: Blocking calls

    /// Runs a blocking librdkafka call on `queue` (never on the cooperative pool) and returns its result.
    static func offload<T: Sendable>(
        on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Non-throwing variant of `offload`.
    static func offload<T: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    /// Queue for one-off blocking calls (metadata, admin, commits); the global pool is not the
    /// Swift cooperative pool, so a slow broker cannot starve tasks.
    static let blockingQueue = DispatchQueue(label: "exchange.kafka.blocking", attributes: .concurrent)
}
