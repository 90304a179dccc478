import ExchangeProtocol

/// How the event log maps onto Redis keys and stream ids.
///
/// Partition `p` of topic `t` is the stream `t:p`. An entry holds one record (`k`, `v`, `t`
/// fields) or a batch of n consecutive records (`n`, `b` packed as in `packBatch`, `t`), and its id
/// is `0-(L+1)` for L the offset of its last record: a single record is appended with
/// `XADD key 0-* ...` (Redis assigns the next sequence number atomically), a batch with the newest
/// id plus n, inside the same script call. The position "next offset to read" N is therefore the
/// exclusive `XREAD` id `0-N`: it returns the entry holding offset N first, whose records before N
/// the reader skips. Offsets stay dense, so `endOffsets` is the newest id's sequence number.
enum RedisStreamsLayout {
    /// The most records one entry packs (the producer splits longer runs). A reader whose position
    /// falls inside an entry receives (and skips) the whole entry, and `XREAD COUNT` counts
    /// entries, so unbounded entries made a reader copy many times the records it used; see
    /// `RedisStreamsConsumer.poll`.
    static let maxRecordsPerEntry = 128

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

    /// Records packed into one entry's `b` field: per record a little-endian UInt32 key length, the
    /// key, a UInt32 value length, the value.
    static func packBatch(_ records: [(key: [UInt8], value: [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(0) { $0 + 8 + $1.key.count + $1.value.count })
        for record in records {
            appendLength(record.key.count, to: &bytes)
            bytes.append(contentsOf: record.key)
            appendLength(record.value.count, to: &bytes)
            bytes.append(contentsOf: record.value)
        }
        return bytes
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        let value = UInt32(length)
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    /// The `count` (key, value) pairs of a packed batch; throws on a malformed one.
    static func unpackBatch(_ bytes: [UInt8], count: Int) throws -> [(key: [UInt8], value: [UInt8])] {
        var records: [(key: [UInt8], value: [UInt8])] = []
        records.reserveCapacity(count)
        var at = 0
        func field() throws -> [UInt8] {
            guard at + 4 <= bytes.count else { throw MessagingError(.protocolError, "truncated record batch") }
            let length = Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
            at += 4
            guard length <= bytes.count - at else { throw MessagingError(.protocolError, "truncated record batch") }
            defer { at += length }
            return Array(bytes[at..<at + length])
        }
        for _ in 0..<count {
            let key = try field()
            records.append((key, try field()))
        }
        guard at == bytes.count else { throw MessagingError(.protocolError, "record batch longer than its count") }
        return records
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
