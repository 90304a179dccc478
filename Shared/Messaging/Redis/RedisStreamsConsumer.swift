import ExchangeProtocol
import Logging

/// Reads partition streams with `XREAD BLOCK` from statically assigned partitions.
///
/// Polls block on a connection of their own (on that client's queue, never on the cooperative
/// pool); commits and lookups of committed positions use a second connection so they never
/// wait behind a blocked poll.
final class RedisStreamsConsumer: EventConsumer {
    private struct State: Sendable {
        var assignment: [TopicPartition]
        var positions: [TopicPartition: Int64]
        var paused: Set<TopicPartition> = []
        /// Bumped by `seek`, so a poll already in flight does not overwrite the new position.
        var epochs: [TopicPartition: UInt64] = [:]
        /// Where the next poll starts its partition list, so `maxRecords` does not starve the last ones.
        var rotation = 0
        /// Records per entry last seen in each partition (a power of two), to turn a record budget
        /// into an `XREAD COUNT` of entries. Unknown partitions start at the most an entry holds.
        var recordsPerEntry: [TopicPartition: Int] = [:]
        var isClosed = false
    }

    private let reader: RedisClient
    private let writer: RedisClient
    private let offsetsKey: String
    private let state: RedisLocked<State>

    private init(reader: RedisClient, writer: RedisClient, offsetsKey: String, assignment: [TopicPartition],
                 positions: [TopicPartition: Int64])
    {
        self.reader = reader
        self.writer = writer
        self.offsetsKey = offsetsKey
        self.state = RedisLocked(State(assignment: assignment, positions: positions))
    }

    /// Resolves the assignment and the starting positions (onAssign, else committed, else 0).
    static func make(_ consumer: ConsumerConfiguration, configuration: RedisStreamsConfiguration, logger: Logger)
        async throws -> RedisStreamsConsumer
    {
        let writer = RedisClient(configuration: configuration.redis, label: "eventlog-consumer-\(consumer.clientID)",
                                 logger: logger)
        do {
            let assignment = try await resolveAssignment(consumer, client: writer, topicsKey: configuration.topicsKey)
            let offsetsKey = configuration.offsetsKeyPrefix + consumer.groupID
            var positions = consumer.onAssign(assignment).filter { assignment.contains($0.key) }
            let rest = assignment.filter { positions[$0] == nil }
            let committed = try await fetchCommitted(rest, client: writer, offsetsKey: offsetsKey)
            for partition in rest {
                positions[partition] = committed[partition] ?? 0
            }
            let reader = RedisClient(configuration: configuration.redis,
                                     label: "eventlog-consumer-\(consumer.clientID)-poll", logger: logger)
            return RedisStreamsConsumer(reader: reader, writer: writer, offsetsKey: offsetsKey,
                                        assignment: assignment, positions: positions)
        } catch {
            await writer.close()
            throw error
        }
    }

    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumedRecord] {
        guard maxRecords > 0 else { throw MessagingError(.invalidArgument, "maxRecords must be positive") }
        let snapshot = try state.withLock { state -> (partitions: [TopicPartition], positions: [TopicPartition: Int64], epochs: [TopicPartition: UInt64], perEntry: [TopicPartition: Int]) in
            if state.isClosed { throw MessagingError(.closed, "consumer is closed") }
            var active = state.assignment.filter { !state.paused.contains($0) }
            if !active.isEmpty {
                let start = state.rotation % active.count
                active = Array(active[start...] + active[..<start])
                state.rotation &+= 1
            }
            return (active, state.positions, state.epochs, state.recordsPerEntry)
        }
        if snapshot.partitions.isEmpty {
            try await Task.sleep(for: timeout)
            return []
        }

        // COUNT is per stream and counts entries, which hold up to `maxRecordsPerEntry` records
        // each: ask for about each stream's share of `maxRecords` in entries of the size last seen,
        // so a backlog of packed entries does not make Redis send (and this process copy) many
        // times the records used. One XREAD per poll, so the count follows the partition with the
        // smallest entries; the others may be over-read by at most their entries' size.
        let perStream = (maxRecords + snapshot.partitions.count - 1) / snapshot.partitions.count
        let smallest = snapshot.partitions.map { snapshot.perEntry[$0] ?? RedisStreamsLayout.maxRecordsPerEntry }.min() ?? 1
        var args: [RedisArgument] = ["XREAD", "COUNT", .int((perStream + smallest - 1) / smallest)]
        let blockMs = timeout.redisMilliseconds
        // BLOCK 0 would wait forever: a zero timeout is a non-blocking read instead.
        if blockMs > 0 { args += ["BLOCK", .int(blockMs)] }
        args.append("STREAMS")
        var partitionByKey: [String: TopicPartition] = [:]
        for partition in snapshot.partitions {
            let key = RedisStreamsLayout.streamKey(partition)
            partitionByKey[key] = partition
            args.append(.string(key))
        }
        for partition in snapshot.partitions {
            args.append(.string(RedisStreamsLayout.readID(forPosition: snapshot.positions[partition] ?? 0)))
        }
        let reply = try await reader.send(args, blockingFor: timeout).throwingOnError()
        guard let streams = reply.array else { return [] }  // null: timed out

        // Parse in request order (XREAD answers streams in the order asked), at most maxRecords.
        var batches: [(TopicPartition, [ConsumedRecord])] = []
        var seen: [TopicPartition: (entries: Int, records: Int)] = [:]
        var total = 0
        for stream in streams {
            guard total < maxRecords else { break }
            guard let pair = stream.array, pair.count == 2, let key = pair[0].string,
                  let partition = partitionByKey[key], let entries = pair[1].array
            else { throw MessagingError(.protocolError, "unexpected XREAD reply element \(stream)") }
            var records: [ConsumedRecord] = []
            let position = snapshot.positions[partition] ?? 0
            var inEntries = 0
            for entry in entries {
                guard total + records.count < maxRecords else { break }
                inEntries += try Self.records(from: entry, partition: partition, at: position, limit: maxRecords - total, into: &records)
            }
            if !entries.isEmpty { seen[partition] = (entries.count, inEntries) }
            total += records.count
            batches.append((partition, records))
        }

        return state.withLock { state in
            for (partition, counts) in seen where counts.entries > 0 {
                // The largest power of two at most the mean, so the next COUNT covers the share.
                let mean = max(1, min(RedisStreamsLayout.maxRecordsPerEntry, counts.records / counts.entries))
                state.recordsPerEntry[partition] = 1 << (Int.bitWidth - 1 - mean.leadingZeroBitCount)
            }
            var accepted: [ConsumedRecord] = []
            for (partition, records) in batches {
                guard let last = records.last,
                      !state.isClosed,
                      !state.paused.contains(partition),
                      state.epochs[partition, default: 0] == snapshot.epochs[partition, default: 0],
                      state.positions[partition] == snapshot.positions[partition]
                else { continue }  // paused or moved by seek while the poll was in flight
                state.positions[partition] = last.offset + 1
                accepted += records
            }
            return accepted
        }
    }

    /// Assignment is static: no poll ever revokes or assigns.
    var pollsAheadSafely: Bool { true }

    func commit(_ positions: [TopicPartition: Int64]) async throws {
        if positions.isEmpty { return }
        try ensureOpen()
        var args: [RedisArgument] = ["HSET", .string(offsetsKey)]
        for (partition, offset) in positions.sorted(by: { $0.key < $1.key }) {
            guard offset >= 0 else { throw MessagingError(.invalidArgument, "negative position \(offset) for \(partition)") }
            args += [.string(RedisStreamsLayout.offsetField(partition)), .int(offset)]
        }
        try await writer.send(args).throwingOnError()
    }

    func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try ensureOpen()
        return try await Self.fetchCommitted(partitions, client: writer, offsetsKey: offsetsKey)
    }

    func seek(_ partition: TopicPartition, to offset: Int64) async throws {
        guard offset >= 0 else { throw MessagingError(.invalidArgument, "cannot seek \(partition) to \(offset)") }
        try state.withLock { state in
            if state.isClosed { throw MessagingError(.closed, "consumer is closed") }
            guard state.assignment.contains(partition) else {
                throw MessagingError(.invalidArgument, "\(partition) is not assigned to this consumer")
            }
            state.positions[partition] = offset
            state.epochs[partition, default: 0] &+= 1
        }
    }

    func pause(_ partitions: [TopicPartition]) async throws {
        try state.withLock { state in
            try Self.checkAssigned(partitions, state)
            state.paused.formUnion(partitions)
        }
    }

    func resume(_ partitions: [TopicPartition]) async throws {
        try state.withLock { state in
            try Self.checkAssigned(partitions, state)
            state.paused.subtract(partitions)
        }
    }

    func assignment() async -> [TopicPartition] {
        state.withLock { $0.isClosed ? [] : $0.assignment }
    }

    func close() async {
        let wasClosed = state.withLock { state in
            defer { state.isClosed = true }
            return state.isClosed
        }
        if wasClosed { return }
        await reader.close()
        await writer.close()
    }

    // MARK: - Private

    private func ensureOpen() throws {
        if state.withLock({ $0.isClosed }) { throw MessagingError(.closed, "consumer is closed") }
    }

    private static func checkAssigned(_ partitions: [TopicPartition], _ state: State) throws {
        if state.isClosed { throw MessagingError(.closed, "consumer is closed") }
        for partition in partitions where !state.assignment.contains(partition) {
            throw MessagingError(.invalidArgument, "\(partition) is not assigned to this consumer")
        }
    }

    private static func resolveAssignment(_ consumer: ConsumerConfiguration, client: RedisClient, topicsKey: String)
        async throws -> [TopicPartition]
    {
        switch consumer.partitions {
        case .group:
            let counts = try await RedisStreamsLayout.partitionCounts(of: consumer.topics, client: client, topicsKey: topicsKey)
            return counts.flatMap { topic, count in (0..<count).map { TopicPartition(topic, $0) } }.sorted()
        case .shard(let index, let count):
            guard count > 0, index >= 0, index < count else {
                throw MessagingError(.invalidArgument, "invalid shard \(index)/\(count)")
            }
            let counts = try await RedisStreamsLayout.partitionCounts(of: consumer.topics, client: client, topicsKey: topicsKey)
            return counts.flatMap { topic, partitions in
                (0..<partitions).filter { $0 % count == index }.map { TopicPartition(topic, $0) }
            }.sorted()
        case .explicit(let partitions):
            let counts = try await RedisStreamsLayout.partitionCounts(of: partitions.map(\.topic), client: client,
                                                                      topicsKey: topicsKey)
            for partition in partitions where partition.partition < 0 || partition.partition >= counts[partition.topic]! {
                throw MessagingError(.invalidArgument, "\(partition) does not exist")
            }
            return Array(Set(partitions)).sorted()
        }
    }

    private static func fetchCommitted(_ partitions: [TopicPartition], client: RedisClient, offsetsKey: String)
        async throws -> [TopicPartition: Int64]
    {
        if partitions.isEmpty { return [:] }
        let args: [RedisArgument] = ["HMGET", .string(offsetsKey)]
            + partitions.map { .string(RedisStreamsLayout.offsetField($0)) }
        let reply = try await client.send(args).throwingOnError()
        guard let values = reply.array, values.count == partitions.count else {
            throw MessagingError(.protocolError, "unexpected HMGET reply \(reply)")
        }
        var result: [TopicPartition: Int64] = [:]
        for (partition, value) in zip(partitions, values) {
            if let offset = value.integer { result[partition] = offset }
        }
        return result
    }

    /// The records of an `XREAD` entry, `[id, [k, key, v, value, t, ms]]` (one record) or
    /// `[id, [n, count, b, batch, t, ms]]` (a packed batch ending at the id's offset), from offset
    /// `position` on, until `records` holds `limit`. Returns how many records the entry holds.
    private static func records(
        from entry: RedisReply, partition: TopicPartition, at position: Int64, limit: Int, into records: inout [ConsumedRecord]
    ) throws -> Int {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].bytes, let fields = parts[1].array else {
            throw MessagingError(.protocolError, "unexpected stream entry \(entry)")
        }
        var key: [UInt8] = []
        var value: [UInt8] = []
        var batch: [UInt8]?
        var count = 1
        var timestamp: Int64 = 0
        var index = 0
        while index + 1 < fields.count {
            switch fields[index].bytes ?? [] {
            case [UInt8(ascii: "k")]: key = fields[index + 1].bytes ?? []
            case [UInt8(ascii: "v")]: value = fields[index + 1].bytes ?? []
            case [UInt8(ascii: "t")]: timestamp = fields[index + 1].integer ?? 0
            case [UInt8(ascii: "n")]: count = Int(fields[index + 1].integer ?? 1)
            case [UInt8(ascii: "b")]: batch = fields[index + 1].bytes
            default: break
            }
            index += 2
        }
        let last = try RedisStreamsLayout.offset(ofID: id)
        guard let batch else {
            if last >= position {
                records.append(ConsumedRecord(topicPartition: partition, offset: last, key: key, value: value, timestampMs: timestamp))
            }
            return 1
        }
        guard count >= 1, Int64(count) <= last + 1 else {
            throw MessagingError(.protocolError, "stream entry \(String(decoding: id, as: UTF8.self)) claims \(count) records")
        }
        let first = last - Int64(count) + 1
        for (i, record) in try RedisStreamsLayout.unpackBatch(batch, count: count).enumerated() {
            let offset = first + Int64(i)
            guard offset >= position else { continue }
            guard records.count < limit else { return count }
            records.append(ConsumedRecord(topicPartition: partition, offset: offset, key: record.key, value: record.value,
                                          timestampMs: timestamp))
        }
        return count
    }
}
