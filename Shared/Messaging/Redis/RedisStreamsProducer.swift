import ExchangeProtocol
import Foundation

/// Appends records to partition streams on a connection of its own.
///
/// A batch goes out as one pipeline of `XADD <topic>:<p> 0-* k <key> v <value> t <ms>`; one
/// connection executes a pipeline in order, so records of one partition keep their order and get
/// consecutive offsets. A thrown error after the pipeline was sent may leave some of the batch
/// appended (the contract says to treat none as acknowledged; a retry can duplicate them).
final class RedisStreamsProducer: EventProducer {
    private let client: RedisClient
    private let topicsKey: String
    /// Partition counts never change on this backend, so they are looked up once per topic.
    private let partitionCounts = RedisLocked<[String: Int32]>([:])

    init(client: RedisClient, topicsKey: String) {
        self.client = client
        self.topicsKey = topicsKey
    }

    func send(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        if records.isEmpty { return [] }
        let counts = try await counts(for: records.map(\.topic))
        let timestamp = RedisArgument.int(Int64(Date().timeIntervalSince1970 * 1000))
        var partitions: [TopicPartition] = []
        partitions.reserveCapacity(records.count)
        var commands: [[RedisArgument]] = []
        commands.reserveCapacity(records.count)
        for record in records {
            let count = counts[record.topic]!
            let partition: Int32
            if let explicit = record.partition {
                guard explicit >= 0, explicit < count else {
                    throw MessagingError(.invalidArgument, "partition \(explicit) of \(record.topic) does not exist (\(count) partitions)")
                }
                partition = explicit
            } else {
                partition = Murmur2.partition(for: record.key, partitionCount: count)
            }
            let tp = TopicPartition(record.topic, partition)
            partitions.append(tp)
            commands.append([
                "XADD", .string(RedisStreamsLayout.streamKey(tp)), "0-*",
                "k", .bytes(record.key), "v", .bytes(record.value), "t", timestamp,
            ])
        }
        let replies: [RedisReply]
        do {
            replies = try await client.pipeline(commands)
        } catch let error as MessagingError where error.code == .closed {
            throw error
        } catch let error as MessagingError {
            throw MessagingError(.deliveryFailed, "append not acknowledged: \(error)", isRetriable: error.isRetriable)
        }
        var positions: [RecordPosition] = []
        positions.reserveCapacity(records.count)
        for (tp, reply) in zip(partitions, replies) {
            guard let id = reply.bytes, case .bulk = reply else {
                throw MessagingError(.deliveryFailed, "XADD to \(tp) failed: \(reply)")
            }
            positions.append(RecordPosition(topicPartition: tp, offset: try RedisStreamsLayout.offset(ofID: id)))
        }
        return positions
    }

    func close() async {
        await client.close()
    }

    private func counts(for topics: [String]) async throws -> [String: Int32] {
        let known = partitionCounts.withLock { $0 }
        let missing = Set(topics).subtracting(known.keys)
        if missing.isEmpty { return known }
        let fetched = try await RedisStreamsLayout.partitionCounts(of: Array(missing), client: client, topicsKey: topicsKey)
        return partitionCounts.withLock { cache in
            cache.merge(fetched) { old, _ in old }
            return cache
        }
    }
}
