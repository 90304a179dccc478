import ExchangeProtocol
import Foundation

/// Appends records to partition streams on a connection of its own.
///
/// A batch goes out as Lua script calls of up to `chunkSize` records each; a call appends one
/// stream entry per partition in it: `XADD <topic>:<p> 0-* k <key> v <value> t <ms>` for a single
/// record, or one entry packing several records (see `RedisStreamsLayout`). One call is one command, so Redis
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
    /// Sends waiting for the append in flight (group commit), and whether one is in flight.
    private let queue = RedisLocked<(waiting: [Waiting], draining: Bool)>(([], false))
    /// Records per script call: bounds the size of one command (and of one atomic append).
    static let chunkSize = 1_000
    /// KEYS: one stream per entry; ARGV: the time, then per entry its record count n and either
    /// (n = 1) the record's key and value, appended as `XADD key 0-* k <key> v <value> t <ms>`, or
    /// (n > 1) the records packed (`RedisStreamsLayout.packBatch`), appended as one entry
    /// `n <n> b <batch> t <ms>` whose id is the last record's (`0-(last+1)`, the newest id plus n).
    /// Returns each entry's id.
    static let appendScript = RedisScript("""
        local ids = {}
        local a = 2
        for i = 1, #KEYS do
          local n = tonumber(ARGV[a])
          if n == 1 then
            ids[i] = redis.call('XADD', KEYS[i], '0-*', 'k', ARGV[a + 1], 'v', ARGV[a + 2], 't', ARGV[1])
            a = a + 3
          else
            local newest = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
            local last = 0
            if #newest > 0 then last = tonumber(string.match(newest[1][1], '^0%-(%d+)$')) end
            ids[i] = redis.call('XADD', KEYS[i], '0-' .. string.format('%d', last + n), 'n', ARGV[a], 'b', ARGV[a + 1], 't', ARGV[1])
            a = a + 2
          end
        end
        return ids
        """)

    /// One caller's records, resolved to partitions, and where its answer goes.
    private struct Waiting: Sendable {
        var records: [OutgoingRecord]
        var continuation: CheckedContinuation<[RecordPosition], any Error>
    }

    init(client: RedisClient, topicsKey: String) {
        self.client = client
        self.topicsKey = topicsKey
    }

    /// Group commit: sends that arrive while an append is in flight wait and then go out together,
    /// in one script call (one fsync on the server) per `chunkSize` records. A server with
    /// `appendfsync always` fsyncs once per pass that wrote, so one connection appending one
    /// caller at a time was capped at one caller per fsync (about 1,300/s on this machine's disk);
    /// concurrent callers (the router's requests) now share them. Each caller's records keep their
    /// order; a caller's bad partition fails that caller alone; a failed append fails every caller
    /// whose records were in it (none of them acknowledged; a retry can duplicate, as before).
    func send(_ records: [OutgoingRecord]) async throws -> [RecordPosition] {
        if records.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let lead = queue.withLock { state -> Bool in
                state.waiting.append(Waiting(records: records, continuation: continuation))
                if state.draining { return false }
                state.draining = true
                return true
            }
            if lead { Task { await self.drain() } }
        }
    }

    /// Appends whatever waits, until nothing does.
    private func drain() async {
        while true {
            let batch = queue.withLock { state -> [Waiting] in
                if state.waiting.isEmpty {
                    state.draining = false
                    return []
                }
                defer { state.waiting.removeAll(keepingCapacity: true) }
                return state.waiting
            }
            if batch.isEmpty { return }
            await append(batch)
        }
    }

    private func append(_ batch: [Waiting]) async {
        let counts: [String: Int32]
        do {
            counts = try await self.counts(for: batch.flatMap { $0.records.map(\.topic) })
        } catch {
            for waiting in batch { waiting.continuation.resume(throwing: error) }
            return
        }
        // Partitions per caller first: an invalid record fails its caller, not the others.
        var accepted: [(waiting: Waiting, partitions: [TopicPartition])] = []
        for waiting in batch {
            do {
                accepted.append((waiting, try waiting.records.map { try Self.partition(of: $0, counts: counts) }))
            } catch {
                waiting.continuation.resume(throwing: error)
            }
        }
        if accepted.isEmpty { return }
        let records = accepted.count == 1 ? accepted[0].waiting.records : accepted.flatMap(\.waiting.records)
        let partitions = accepted.count == 1 ? accepted[0].partitions : accepted.flatMap(\.partitions)
        do {
            let positions = try await appendChunks(records, partitions: partitions)
            var next = 0
            for (waiting, own) in accepted {
                waiting.continuation.resume(returning: Array(positions[next..<next + own.count]))
                next += own.count
            }
        } catch {
            for (waiting, _) in accepted { waiting.continuation.resume(throwing: error) }
        }
    }

    private static func partition(of record: OutgoingRecord, counts: [String: Int32]) throws -> TopicPartition {
        let count = counts[record.topic]!
        if let explicit = record.partition {
            guard explicit >= 0, explicit < count else {
                throw MessagingError(.invalidArgument, "partition \(explicit) of \(record.topic) does not exist (\(count) partitions)")
            }
            return TopicPartition(record.topic, explicit)
        }
        return TopicPartition(record.topic, Murmur2.partition(for: record.key, partitionCount: count))
    }

    /// Appends in script calls of up to `chunkSize` records; within a call, the records of one
    /// partition go out as one stream entry (in their order), so Redis pays per entry, not per record.
    private func appendChunks(_ records: [OutgoingRecord], partitions: [TopicPartition]) async throws -> [RecordPosition] {
        let timestamp = RedisArgument.int(Int64(Date().timeIntervalSince1970 * 1000))
        var positions = [RecordPosition?](repeating: nil, count: records.count)
        for start in stride(from: 0, to: records.count, by: Self.chunkSize) {
            let end = min(records.count, start + Self.chunkSize)
            // Entries in order of each partition's first record; records keep their order inside.
            // A partition's records past `maxRecordsPerEntry` open its next entry.
            var entryOf: [TopicPartition: Int] = [:]
            var entries: [(partition: TopicPartition, records: [Int])] = []
            for index in start..<end {
                if let entry = entryOf[partitions[index]], entries[entry].records.count < RedisStreamsLayout.maxRecordsPerEntry {
                    entries[entry].records.append(index)
                } else {
                    entryOf[partitions[index]] = entries.count
                    entries.append((partitions[index], [index]))
                }
            }
            var args: [RedisArgument] = [timestamp]
            args.reserveCapacity(1 + 3 * entries.count)
            for entry in entries {
                args.append(.int(entry.records.count))
                if entry.records.count == 1 {
                    args.append(.bytes(records[entry.records[0]].key))
                    args.append(.bytes(records[entry.records[0]].value))
                } else {
                    args.append(.bytes(RedisStreamsLayout.packBatch(entry.records.map { (records[$0].key, records[$0].value) })))
                }
            }
            let keys = entries.map { RedisArgument.string(RedisStreamsLayout.streamKey($0.partition)) }
            let reply: RedisReply
            do {
                reply = try await client.eval(Self.appendScript, keys: keys, args: args)
            } catch let error as MessagingError where error.code == .closed {
                throw error
            } catch let error as MessagingError {
                throw MessagingError(.deliveryFailed, "append not acknowledged: \(error)", isRetriable: error.isRetriable)
            }
            guard let ids = reply.array, ids.count == entries.count else {
                throw MessagingError(.deliveryFailed, "append to \(partitions[start]) failed: \(reply)")
            }
            for (entry, id) in zip(entries, ids) {
                guard case .bulk(let bytes) = id else {
                    throw MessagingError(.deliveryFailed, "XADD to \(entry.partition) failed: \(id)")
                }
                let last = try RedisStreamsLayout.offset(ofID: bytes)
                let first = last - Int64(entry.records.count) + 1
                for (i, index) in entry.records.enumerated() {
                    positions[index] = RecordPosition(topicPartition: entry.partition, offset: first + Int64(i))
                }
            }
        }
        return positions.map { $0! }
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
