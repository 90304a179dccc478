import CRdKafka
import ExchangeProtocol
import Foundation

/// Topic administration and log-end queries against a Kafka cluster, through one client handle.
///
/// `@unchecked Sendable`: the `rd_kafka_t` handle is thread-safe per librdkafka's documentation and
/// every call uses its own result queue; there is no other mutable state.
public final class KafkaAdmin: @unchecked Sendable {
    private let configuration: KafkaConfiguration
    private let handle: RdKafkaHandle
    private let pollLoop: KafkaPollLoop

    /// Connects an admin client to the cluster in `configuration`.
    public convenience init(configuration: KafkaConfiguration) throws {
        try self.init(configuration: configuration, keepAlive: nil)
    }

    /// `keepAlive` (e.g. the mock cluster serving this client) is released only after the handle
    /// is destroyed, so the client never outlives the brokers it talks to.
    init(configuration: KafkaConfiguration, keepAlive: (any Sendable & AnyObject)?) throws {
        self.configuration = configuration
        let conf = try RdKafka.makeConf(configuration.adminProperties)
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, _ in
            let text = reason.map { String(cString: $0) } ?? ""
            rdKafkaLogger.warning("admin client error \(RdKafka.describe(rd_kafka_resp_err_t(rawValue: err))): \(text)")
        }
        handle = RdKafkaHandle(try RdKafka.makeHandle(RD_KAFKA_PRODUCER, conf: conf), afterDestroy: { _ = keepAlive })
        // Serves error callbacks queued on the main queue.
        pollLoop = KafkaPollLoop(handle: handle, name: "kafka-admin-poll")
    }

    deinit {
        pollLoop.stop()
    }

    private var timeoutMs: Int32 { Int32(clamping: configuration.requestTimeoutMs) }

    /// Creates the topics that do not exist yet with the CreateTopics admin request (an existing
    /// topic is success), then waits until the metadata shows each of them.
    /// `replicationFactor` -1 takes the broker's `default.replication.factor`.
    public func createTopics(_ topics: [TopicSpec], replicationFactor: Int32 = -1) async throws {
        guard !topics.isEmpty else { return }
        let handle = self.handle
        let timeoutMs = self.timeoutMs
        try await RdKafka.offload(on: RdKafka.blockingQueue) {
            try Self.createTopicsBlocking(rk: handle.rk, topics, replicationFactor: replicationFactor, timeoutMs: timeoutMs)
            // A created topic reaches every broker's metadata cache a little later.
            let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
            for topic in topics {
                while true {
                    do {
                        _ = try RdKafka.partitionCount(rk: handle.rk, topic: topic.name, timeoutMs: timeoutMs)
                        break
                    } catch let error as MessagingError where error.code == .unknownTopic && Date() < deadline {
                        Thread.sleep(forTimeInterval: 0.05)
                    }
                }
            }
        }
    }

    /// The CreateTopics round trip. Throws `MessagingError` with `.protocolError` when the brokers
    /// do not implement the request (librdkafka's mock brokers).
    static func createTopicsBlocking(
        rk: OpaquePointer, _ topics: [TopicSpec], replicationFactor: Int32, timeoutMs: Int32
    ) throws {
        var errstr = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in topics {
            guard let topic = rd_kafka_NewTopic_new(spec.name, spec.partitions, replicationFactor, &errstr, errstr.count) else {
                throw MessagingError(.invalidArgument, "topic \(spec.name): \(RdKafka.cString(errstr))")
            }
            newTopics.append(topic)
        }
        guard let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
            throw MessagingError(.backendError, "rd_kafka_AdminOptions_new failed")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errstr, errstr.count)
        guard let queue = rd_kafka_queue_new(rk) else { throw MessagingError(.backendError, "rd_kafka_queue_new failed") }
        defer { rd_kafka_queue_destroy(queue) }

        newTopics.withUnsafeMutableBufferPointer {
            rd_kafka_CreateTopics(rk, $0.baseAddress, $0.count, options, queue)
        }
        // librdkafka enforces the request timeout itself; the margin only guards against a lost event.
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 5_000) else {
            throw MessagingError(.timeout, "CreateTopics: no result within \(timeoutMs) ms", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = String(cString: rd_kafka_event_error_string(event))
            let code: MessagingError.Code? = err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ? .protocolError : nil
            var error = RdKafka.error(err, "CreateTopics", code: code)
            error.reason = "CreateTopics: \(text)"
            throw error
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw MessagingError(.protocolError, "CreateTopics: unexpected event \(rd_kafka_event_type(event))")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        for i in 0..<count {
            let topicResult = results[i]
            let topicErr = rd_kafka_topic_result_error(topicResult)
            if topicErr == RD_KAFKA_RESP_ERR_NO_ERROR || topicErr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { continue }
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
            let code: MessagingError.Code? = topicErr == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ? .protocolError : nil
            var error = RdKafka.error(topicErr, "CreateTopics \(name)", code: code)
            if !text.isEmpty { error.reason += " (\(text))" }
            throw error
        }
    }

    /// The partition count of an existing topic (`.unknownTopic` otherwise).
    public func partitionCount(of topic: String) async throws -> Int32 {
        let handle = self.handle
        let timeoutMs = self.timeoutMs
        return try await RdKafka.offload(on: RdKafka.blockingQueue) {
            try RdKafka.partitionCount(rk: handle.rk, topic: topic, timeoutMs: timeoutMs)
        }
    }

    /// The high watermark (next offset to be written) of each partition.
    public func endOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        let handle = self.handle
        let timeoutMs = self.timeoutMs
        return try await RdKafka.offload(on: RdKafka.blockingQueue) {
            var ends: [TopicPartition: Int64] = [:]
            for tp in partitions {
                var low: Int64 = 0
                var high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(handle.rk, tp.topic, tp.partition, &low, &high, timeoutMs)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw RdKafka.error(err, "watermarks of \(tp)")
                }
                ends[tp] = high
            }
            return ends
        }
    }
}
