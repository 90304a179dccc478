import ExchangeProtocol
@testable import Messaging
import Testing

@Suite("Redis Streams event log", .timeLimit(.minutes(1)))
struct RedisStreamsEventLogTests {
    @Test("acknowledged records survive kill -9 of redis-server, and offsets continue densely")
    func durableAcrossKill() async throws {
        let server = try await RedisTestServer.start()
        let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
        let topic = uniqueTopic("durable")
        try await log.createTopics([TopicSpec(name: topic, partitions: 3)])
        let producer = try await log.makeProducer()
        let records = (0..<300).map { OutgoingRecord(topic: topic, key: "acct-\($0 % 11)", value: [UInt8($0 % 256), 0, 13, 10, 255]) }
        let positions = try await producer.send(records)
        let consumerBefore = try await log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic]))
        try await consumerBefore.commit([TopicPartition(topic, 0): 7])

        await server.kill()  // no shutdown, no final fsync
        await producer.close()
        await consumerBefore.close()
        await log.shutdown()
        try await server.launch()

        let reopened = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
        #expect(try await reopened.partitionCount(of: topic) == 3)
        let partitions = (0..<3).map { TopicPartition(topic, $0) }
        var expectedEnds: [TopicPartition: Int64] = [:]
        for position in positions { expectedEnds[position.topicPartition, default: 0] += 1 }
        #expect(try await reopened.endOffsets(partitions) == expectedEnds)

        let consumer = try await reopened.makeConsumer(ConsumerConfiguration(
            groupID: "g-after", topics: [topic]))
        let read = try await drain(consumer, count: 300)
        #expect(read.count == 300)
        var byPosition: [RecordPosition: ConsumedRecord] = [:]
        for record in read { byPosition[RecordPosition(topicPartition: record.topicPartition, offset: record.offset)] = record }
        for (record, position) in zip(records, positions) {
            #expect(byPosition[position]?.value == record.value)
            #expect(byPosition[position]?.key == record.key)
        }
        #expect(try await consumer.committed([TopicPartition(topic, 0)]) == [:])
        let sameGroup = try await reopened.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic]))
        #expect(try await sameGroup.committed([TopicPartition(topic, 0)]) == [TopicPartition(topic, 0): 7])

        let producer2 = try await reopened.makeProducer()
        let next = try await producer2.send(OutgoingRecord(topic: topic, key: "x", value: [1], partition: 1))
        #expect(next.offset == expectedEnds[TopicPartition(topic, 1)])
        await consumer.close()
        await sameGroup.close()
        await producer2.close()
        await reopened.shutdown()
        await server.teardown()
    }

    @Test("concurrent producers get dense, distinct offsets on one partition")
    func concurrentProducers() async throws {
        let backend = try await RedisTestServer.startEventLog()
        let topic = uniqueTopic("dense")
        try await backend.log.createTopics([TopicSpec(name: topic, partitions: 1)])
        let offsets = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for producerIndex in 0..<4 {
                group.addTask {
                    let producer = try await backend.log.makeProducer()
                    var offsets: [Int64] = []
                    for batch in 0..<10 {
                        let records = (0..<25).map { OutgoingRecord(topic: topic, key: "p\(producerIndex)", value: Array("\(batch)-\($0)".utf8)) }
                        let positions = try await producer.send(records)
                        let mine = positions.map(\.offset)
                        #expect(mine == mine.sorted())
                        offsets += mine
                    }
                    await producer.close()
                    return offsets
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(offsets.sorted() == Array(0..<1000))
        #expect(try await backend.log.endOffsets([TopicPartition(topic, 0)]) == [TopicPartition(topic, 0): 1000])
        await backend.teardown()
    }

    @Test("a batch's records of one partition share a stream entry: polls and seeks start inside it at any offset")
    func packedEntries() async throws {
        let server = try await RedisTestServer.start()
        let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
        let redis = try await RedisClient.connect(configuration: server.configuration)
        let topic = uniqueTopic("packed")
        try await log.createTopics([TopicSpec(name: topic, partitions: 2)])
        let producer = try await log.makeProducer()
        let p0 = TopicPartition(topic, 0)
        let p1 = TopicPartition(topic, 1)
        // Single-record entry, then one send of interleaved partitions (one entry each), then a single again.
        _ = try await producer.send(OutgoingRecord(topic: topic, key: "a", value: [0], partition: 0))
        let mixed = (1...9).map { OutgoingRecord(topic: topic, key: "k\($0)", value: [UInt8($0), 13, 10, 0], partition: $0 % 2 == 0 ? 1 : 0) }
        let positions = try await producer.send(mixed)
        #expect(positions.filter { $0.topicPartition == p0 }.map(\.offset) == [1, 2, 3, 4, 5])
        #expect(positions.filter { $0.topicPartition == p1 }.map(\.offset) == [0, 1, 2, 3])
        _ = try await producer.send(OutgoingRecord(topic: topic, key: "z", value: [99], partition: 0))
        let raw = try await redis.send(["XLEN", .string("\(topic):0")])
        #expect(raw.integer == 3)  // three entries hold partition 0's seven records
        #expect(try await log.endOffsets([p0, p1]) == [p0: 7, p1: 4])

        let consumer = try await log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic], partitions: .explicit([p0])))
        try await consumer.seek(p0, to: 3)
        var offsets: [Int64] = []
        var values: [[UInt8]] = []
        while offsets.count < 4 {
            let batch = try await consumer.poll(maxRecords: 2, timeout: .milliseconds(200))
            #expect(batch.count <= 2)
            if batch.isEmpty { break }
            offsets += batch.map(\.offset)
            values += batch.map(\.value)
        }
        #expect(offsets == [3, 4, 5, 6])
        #expect(values == [[5, 13, 10, 0], [7, 13, 10, 0], [9, 13, 10, 0], [99]])
        #expect(try await consumer.poll(maxRecords: 10, timeout: .zero).isEmpty)
        await consumer.close()
        await producer.close()
        await redis.close()
        await log.shutdown()
        await server.teardown()
    }

    @Test("long runs of one partition split into entries of at most maxRecordsPerEntry; mixed packed and single partitions read back whole, in order")
    func entryCapAndMixedReads() async throws {
        let server = try await RedisTestServer.start()
        let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
        let redis = try await RedisClient.connect(configuration: server.configuration)
        let topic = uniqueTopic("cap")
        try await log.createTopics([TopicSpec(name: topic, partitions: 2)])
        let producer = try await log.makeProducer()
        let cap = RedisStreamsLayout.maxRecordsPerEntry
        // Partition 0: one send of 2.5 entries' worth, packed. Partition 1: single-record sends.
        let packedCount = cap * 5 / 2
        let packed = (0..<packedCount).map { OutgoingRecord(topic: topic, key: "p", value: Array("p\($0)".utf8), partition: 0) }
        #expect(try await producer.send(packed).map(\.offset) == (0..<packedCount).map(Int64.init))
        for i in 0..<40 {
            _ = try await producer.send(OutgoingRecord(topic: topic, key: "s", value: Array("s\(i)".utf8), partition: 1))
        }
        #expect(try await redis.send(["XLEN", .string("\(topic):0")]).integer == 3)
        #expect(try await redis.send(["XLEN", .string("\(topic):1")]).integer == 40)

        let consumer = try await log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic]))
        var seen: [Int32: [String]] = [:]
        for _ in 0..<1_000 {
            let batch = try await consumer.poll(maxRecords: 50, timeout: .milliseconds(100))
            #expect(batch.count <= 50)
            if batch.isEmpty { break }
            for record in batch { seen[record.topicPartition.partition, default: []].append(String(decoding: record.value, as: UTF8.self)) }
        }
        #expect(seen[0] == (0..<packedCount).map { "p\($0)" })
        #expect(seen[1] == (0..<40).map { "s\($0)" })
        await consumer.close()
        await producer.close()
        await redis.close()
        await log.shutdown()
        await server.teardown()
    }

    @Test("group commit: concurrent sends on one producer share appends; each caller gets its own dense, ordered offsets")
    func groupCommit() async throws {
        let backend = try await RedisTestServer.startEventLog()
        let topic = uniqueTopic("group")
        try await backend.log.createTopics([TopicSpec(name: topic, partitions: 1)])
        let producer = try await backend.log.makeProducer()
        let results = try await withThrowingTaskGroup(of: (Int, [RecordPosition]).self) { group in
            for caller in 0..<50 {
                group.addTask {
                    let records = (0..<3).map { OutgoingRecord(topic: topic, key: "c\(caller)", value: Array("\(caller)-\($0)".utf8), partition: 0) }
                    return (caller, try await producer.send(records))
                }
            }
            // One caller with a partition that does not exist fails alone.
            group.addTask {
                do {
                    _ = try await producer.send(OutgoingRecord(topic: topic, key: "bad", value: [], partition: 5))
                    Issue.record("a send to a missing partition succeeded")
                } catch let error as MessagingError {
                    #expect(error.code == .invalidArgument)
                }
                return (-1, [])
            }
            return try await group.reduce(into: [Int: [RecordPosition]]()) { $0[$1.0] = $1.1 }
        }
        let all = results.filter { $0.key >= 0 }.flatMap(\.value).map(\.offset).sorted()
        #expect(all == Array(0..<150))
        let consumer = try await backend.log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic]))
        let read = try await drain(consumer, count: 150)
        let byOffset = Dictionary(uniqueKeysWithValues: read.map { ($0.offset, String(decoding: $0.value, as: UTF8.self)) })
        for (caller, positions) in results where caller >= 0 {
            #expect(positions.map(\.offset) == positions.map(\.offset).sorted())
            #expect(positions.map { byOffset[$0.offset] } == (0..<3).map { "\(caller)-\($0)" })
        }
        await consumer.close()
        await producer.close()
        await backend.teardown()
    }

    @Test("topic registry: createTopics is idempotent, unknown topics are rejected, missing streams end at 0")
    func topicRegistry() async throws {
        let backend = try await RedisTestServer.startEventLog()
        let log = backend.log
        #expect(log.backendName == "redis")
        let topic = uniqueTopic("registry")
        try await log.createTopics([TopicSpec(name: topic, partitions: 2)])
        try await log.createTopics([TopicSpec(name: topic, partitions: 8)])  // left as it is
        #expect(try await log.partitionCount(of: topic) == 2)
        #expect(try await log.endOffsets([TopicPartition(topic, 0), TopicPartition(topic, 1)]) ==
            [TopicPartition(topic, 0): 0, TopicPartition(topic, 1): 0])

        await expectCode(.unknownTopic) { _ = try await log.partitionCount(of: "nope") }
        let producer = try await log.makeProducer()
        await expectCode(.unknownTopic) { _ = try await producer.send(OutgoingRecord(topic: "nope", key: "k", value: [])) }
        await expectCode(.invalidArgument) { _ = try await producer.send(OutgoingRecord(topic: topic, key: "k", value: [], partition: 2)) }
        await expectCode(.unknownTopic) { _ = try await log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: ["nope"])) }
        await expectCode(.invalidArgument) {
            _ = try await log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic], partitions: .shard(index: 2, count: 2)))
        }
        let consumer = try await log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic], partitions: .explicit([TopicPartition(topic, 1)])))
        await expectCode(.invalidArgument) { try await consumer.seek(TopicPartition(topic, 0), to: 0) }
        // Nothing to read: an empty poll after the timeout, never a hang.
        #expect(try await consumer.poll(maxRecords: 10, timeout: .milliseconds(50)).isEmpty)
        #expect(try await consumer.poll(maxRecords: 10, timeout: .zero).isEmpty)
        await consumer.close()
        await expectCode(.closed) { _ = try await consumer.poll(maxRecords: 1, timeout: .milliseconds(10)) }
        await producer.close()
        await backend.teardown()
    }

    @Test("a poll waiting in XREAD BLOCK returns records appended meanwhile; timestamps are set")
    func blockingPollWakesUp() async throws {
        let backend = try await RedisTestServer.startEventLog()
        let topic = uniqueTopic("wake")
        try await backend.log.createTopics([TopicSpec(name: topic, partitions: 1)])
        let consumer = try await backend.log.makeConsumer(ConsumerConfiguration(groupID: "g", topics: [topic]))
        let producer = try await backend.log.makeProducer()
        async let polled = consumer.poll(maxRecords: 10, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(100))
        _ = try await producer.send(OutgoingRecord(topic: topic, key: "k", value: [0, 0xFF]))
        var records = try await polled
        if records.isEmpty { records = try await drain(consumer, count: 1) }
        #expect(records.map(\.value) == [[0, 0xFF]])
        #expect(records.first.map { $0.timestampMs > 1_600_000_000_000 } == true)
        await consumer.close()
        await producer.close()
        await backend.teardown()
    }

    @Test("refuses a server without appendfsync always unless told otherwise")
    func requiresFsyncAlways() async throws {
        let server = try await RedisTestServer.start()
        let admin = try await RedisClient.connect(configuration: server.configuration)
        #expect(try await admin.send("CONFIG", "SET", "appendfsync", "everysec") == .status("OK"))
        await expectCode(.invalidArgument) {
            _ = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
        }
        let relaxed = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(
            redis: server.configuration, requireFsyncAlways: false))
        #expect(relaxed.backendName == "redis")
        await relaxed.shutdown()
        await admin.close()
        await server.teardown()
    }
}

private func expectCode(_ code: MessagingError.Code, sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () async throws -> Void) async
{
    do {
        try await body()
        Issue.record("expected MessagingError.\(code)", sourceLocation: sourceLocation)
    } catch let error as MessagingError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}
