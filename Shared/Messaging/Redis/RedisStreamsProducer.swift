import ExchangeProtocol
import Foundation

/// Appends records to partition streams on a connection of its own.
///
/// A batch goes out as Lua script calls of up to `chunkSize` records each, every call doing
/// `XADD <topic>:<p> 0-* k <key> v <value> t <ms>` per record. One call is one command, so Redis
/// appends the chunk atomically and fsyncs it once (with `appendfsync always` Redis fsyncs after
/// every event-loop pass that wrote; a pipeline of single XADDs spans a pass per 16 KB read, and
/// paid an fsync each). Chunks run in order on one connection, so records of one partition keep
/// their order and get consecutive offsets. A thrown error may leave earlier chunks of the batch
/// appended (the contract says to treat none as acknowledged; a retry can duplicate them).
final class RedisStreamsProducer: EventProducer {
    private let client: RedisClient
    private let topicsKey: String
    /// Partition counts never change on this backend, so they are looked up once per topic.
    private let partitionCounts = RedisLocked<[String: Int32]>([:])
    /// Records per script call: bounds the size of one command (and of one atomic append).
    static let chunkSize = 1_000
    /// KEYS: one stream per record; ARGV: the time, then key and value of each record. Returns the ids.
    static let appendScript = RedisScript("""
        local ids = {}
        for i = 1, #KEYS do
          ids[i] = redis.call('XADD', KEYS[i], '0-*', 'k', ARGV[2 * i], 'v', ARGV[2 * i + 1], 't', ARGV[1])
        end
        return ids
        """)

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
        var keys: [RedisArgument] = []
        keys.reserveCapacity(records.count)
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
            keys.append(.string(RedisStreamsLayout.streamKey(tp)))
        }
        var positions: [RecordPosition] = []
        positions.reserveCapacity(records.count)
        for start in stride(from: 0, to: records.count, by: Self.chunkSize) {
            let end = min(records.count, start + Self.chunkSize)
            var args: [RedisArgument] = [timestamp]
            args.reserveCapacity(1 + 2 * (end - start))
            for record in records[start..<end] {
                args.append(.bytes(record.key))
                args.append(.bytes(record.value))
            }
            let reply: RedisReply
            do {
                reply = try await client.eval(Self.appendScript, keys: Array(keys[start..<end]), args: args)
            } catch let error as MessagingError where error.code == .closed {
                throw error
            } catch let error as MessagingError {
                throw MessagingError(.deliveryFailed, "append not acknowledged: \(error)", isRetriable: error.isRetriable)
            }
            guard let ids = reply.array, ids.count == end - start else {
                throw MessagingError(.deliveryFailed, "append to \(partitions[start]) failed: \(reply)")
            }
            for (tp, id) in zip(partitions[start..<end], ids) {
                guard case .bulk(let bytes) = id else { throw MessagingError(.deliveryFailed, "XADD to \(tp) failed: \(id)") }
                positions.append(RecordPosition(topicPartition: tp, offset: try RedisStreamsLayout.offset(ofID: bytes)))
            }
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
