import CRdKafka
import ExchangeProtocol

/// The Swift side of a consumer's rebalance callback, reached through librdkafka's conf opaque.
///
/// `@unchecked Sendable`: immutable after `init` (two `@Sendable` closures); librdkafka calls the
/// rebalance callback only from inside `rd_kafka_consumer_poll`/`rd_kafka_consumer_close`.
final class KafkaConsumerCallbacks: @unchecked Sendable {
    let onAssign: @Sendable ([TopicPartition]) -> [TopicPartition: Int64]
    let onRevoke: @Sendable ([TopicPartition]) -> Void

    init(_ configuration: ConsumerConfiguration) {
        onAssign = configuration.onAssign
        onRevoke = configuration.onRevoke
    }

    /// Installs the rebalance callback and this object as the conf opaque. The caller must keep
    /// the object alive (one `Unmanaged` retain) until the handle is destroyed.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
            guard let rk, let opaque else { return }
            Unmanaged<KafkaConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                .rebalance(rk: rk, err: err, partitions: partitions)
        }
    }

    private func rebalance(
        rk: OpaquePointer, err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        // NULL when the protocol is not known (e.g. a revoke while the consumer closes): eager.
        let protocolName: UnsafePointer<CChar>? = rd_kafka_rebalance_protocol(rk)
        let cooperative = protocolName.map { String(cString: $0) } == "COOPERATIVE"
        let topicPartitions = RdKafka.entries(partitions).map(\.topicPartition)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let starts = onAssign(topicPartitions)
            if let partitions, let elems = partitions.pointee.elems {
                for i in 0..<Int(partitions.pointee.cnt) {
                    let tp = TopicPartition(String(cString: elems[i].topic), elems[i].partition)
                    // Left as OFFSET_INVALID: librdkafka starts at the committed position, else earliest.
                    if let start = starts[tp] { elems[i].offset = start }
                }
            }
            if cooperative {
                report(rd_kafka_incremental_assign(rk, partitions), "incremental assign")
            } else {
                report(rd_kafka_assign(rk, partitions), "assign")
            }
            rdKafkaLogger.info("assigned \(topicPartitions)")
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            onRevoke(topicPartitions)
            if cooperative {
                report(rd_kafka_incremental_unassign(rk, partitions), "incremental unassign")
            } else {
                report(rd_kafka_assign(rk, nil), "unassign")
            }
            rdKafkaLogger.info("revoked \(topicPartitions)")
        default:
            rdKafkaLogger.error("rebalance failed: \(RdKafka.describe(err))")
            onRevoke(topicPartitions)
            report(rd_kafka_assign(rk, nil), "unassign after rebalance error")
        }
    }

    private func report(_ err: rd_kafka_resp_err_t, _ what: String) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rdKafkaLogger.error("\(what) failed: \(RdKafka.describe(err))")
        }
    }

    private func report(_ error: OpaquePointer?, _ what: String) {
        if let error {
            rdKafkaLogger.error("\(what) failed: \(RdKafka.consume(error: error, what))")
        }
    }
}
