import CRdKafka

extension RdKafka {
    /// The partition count of `topic`, from a blocking metadata request.
    ///
    /// Asks for all topics rather than just this one: a single-topic request lets the broker
    /// auto-create the topic (the producer default), which would hide a misspelt topic name.
    static func partitionCount(rk: OpaquePointer, topic: String, timeoutMs: Int32) throws -> Int32 {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(rk, 1, nil, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw error(err, "metadata for \(topic)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = metadata.pointee.topics
        for i in 0..<Int(metadata.pointee.topic_cnt) {
            guard let entry = topics?[i], String(cString: entry.topic) == topic else { continue }
            if entry.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || entry.partition_cnt == 0 {
                break
            }
            if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw error(entry.err, "metadata for \(topic)")
            }
            return entry.partition_cnt
        }
        throw MessagingError(.unknownTopic, "topic \(topic) does not exist")
    }
}
