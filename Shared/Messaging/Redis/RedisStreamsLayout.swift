import ExchangeProtocol

/// How the event log maps onto Redis keys and stream ids.
///
/// Partition `p` of topic `t` is the stream `t:p`. The record at offset N has the id `0-(N+1)`
/// (appended with `XADD key 0-* ...`, so Redis assigns the next sequence number atomically); the
/// position "next offset to read" N is therefore the exclusive `XREAD` id `0-N`.
enum RedisStreamsLayout {
    static func streamKey(_ partition: TopicPartition) -> String {
        "\(partition.topic):\(partition.partition)"
    }

    /// The `XREAD` id after which the record at `offset` comes.
    static func readID(forPosition offset: Int64) -> String {
        "0-\(offset)"
    }

    /// The offset of the record with this stream id.
    static func offset(ofID id: [UInt8]) throws -> Int64 {
        let text = String(decoding: id, as: UTF8.self)
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "0", let sequence = Int64(parts[1]), sequence >= 1 else {
            throw MessagingError(.protocolError, "stream id \(text) is not an event-log id (0-<offset+1>)")
        }
        return sequence - 1
    }

    /// The group's committed positions hash field of a partition.
    static func offsetField(_ partition: TopicPartition) -> String {
        "\(partition.topic):\(partition.partition)"
    }

    /// Partition counts of these topics from the registry; throws `.unknownTopic` for a missing one.
    static func partitionCounts(of topics: [String], client: RedisClient, topicsKey: String) async throws
        -> [String: Int32]
    {
        let unique = Array(Set(topics)).sorted()
        if unique.isEmpty { return [:] }
        let reply = try await client.send([.string("HMGET"), .string(topicsKey)] + unique.map { .string($0) })
            .throwingOnError()
        guard let values = reply.array, values.count == unique.count else {
            throw MessagingError(.protocolError, "unexpected HMGET reply \(reply)")
        }
        var counts: [String: Int32] = [:]
        for (topic, value) in zip(unique, values) {
            guard let count = value.integer else {
                throw MessagingError(.unknownTopic, "topic \(topic) does not exist")
            }
            counts[topic] = Int32(count)
        }
        return counts
    }
}
