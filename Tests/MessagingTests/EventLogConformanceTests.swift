import ExchangeProtocol
import Messaging
import Testing
import ExchangeTestSupport

/// The same behaviour on every backend: what DESIGN.md's recovery story relies on.
@Suite("EventLog conformance", .serialized)
struct EventLogConformanceTests {
    @Test("records of one key stay in order, on the murmur2 partition", arguments: BackendKind.allCases)
    func perKeyOrdering(kind: BackendKind) async throws {
        try await kind.with { log in
            let topic = uniqueTopic("conf.order")
            try await log.createTopics([TopicSpec(name: topic, partitions: 4)])
            #expect(try await log.partitionCount(of: topic) == 4)

            let producer = try await log.makeProducer()
            let keys = (0..<25).map { "user-\($0)" }
            var sent: [RecordPosition] = []
            for batch in 0..<20 {
                let records = keys.enumerated().map { i, key in
                    OutgoingRecord(topic: topic, key: key, value: Array("\(key):\(batch * 100 + i)".utf8))
                }
                let positions = try await producer.send(records)
                #expect(positions.count == records.count)
                for (record, position) in zip(records, positions) {
                    #expect(position.topicPartition.partition == Murmur2.partition(for: record.key, partitionCount: 4))
                }
                sent += positions
            }
            // Offsets within a partition are dense and increasing in send order.
            for p in Int32(0)..<4 {
                let offsets = sent.filter { $0.topicPartition.partition == p }.map(\.offset)
                #expect(offsets == Array(0..<Int64(offsets.count)))
            }

            let consumer = try await log.makeConsumer(ConsumerConfiguration(groupID: "g-order", topics: [topic]))
            let records = try await drain(consumer, count: 500)
            #expect(records.count == 500)
            var lastSeq: [String: Int] = [:]
            for record in records {
                let text = String(decoding: record.value, as: UTF8.self)
                let parts = text.split(separator: ":")
                let key = String(parts[0])
                let seq = Int(parts[1])!
                #expect(String(decoding: record.key, as: UTF8.self) == key)
                #expect(record.topicPartition.partition == Murmur2.partition(for: key, partitionCount: 4))
                if let previous = lastSeq[key] { #expect(seq > previous, "key \(key) out of order") }
                lastSeq[key] = seq
            }
            #expect(lastSeq.count == keys.count)
            let ends = try await log.endOffsets((0..<4).map { TopicPartition(topic, $0) })
            #expect(ends.values.reduce(0, +) == 500)
            await consumer.close()
            await producer.close()
        }
    }

    @Test("a restarted consumer resumes at its commit: nothing lost, nothing skipped", arguments: BackendKind.allCases)
    func resumeAfterCommit(kind: BackendKind) async throws {
        try await kind.with { log in
            let topic = uniqueTopic("conf.resume")
            try await log.createTopics([TopicSpec(name: topic, partitions: 2)])
            let producer = try await log.makeProducer()
            let first = (0..<300).map { OutgoingRecord(topic: topic, key: "k\($0 % 7)", value: Array("a\($0)".utf8)) }
            _ = try await producer.send(first)

            // Consumer A processes 120 records and commits exactly what it processed.
            let a = try await log.makeConsumer(ConsumerConfiguration(groupID: "g-resume", topics: [topic]))
            var processed: [ConsumedRecord] = []
            while processed.count < 120 {
                let batch = try await a.poll(maxRecords: 120 - processed.count, timeout: .milliseconds(200))
                processed += batch
            }
            processed = Array(processed.prefix(120))
            var positions: [TopicPartition: Int64] = [:]
            for record in processed { positions[record.topicPartition] = record.offset + 1 }
            try await a.commit(positions)
            #expect(try await a.committed(Array(positions.keys)) == positions)
            await a.close()

            let second = (300..<450).map { OutgoingRecord(topic: topic, key: "k\($0 % 7)", value: Array("a\($0)".utf8)) }
            _ = try await producer.send(second)

            // Consumer B (same group) gets exactly the rest: 180 + 150, no duplicates, no gaps.
            let b = try await log.makeConsumer(ConsumerConfiguration(groupID: "g-resume", topics: [topic]))
            let rest = try await drain(b, count: 330)
            #expect(rest.count == 330)
            let seen = Set((processed + rest).map { String(decoding: $0.value, as: UTF8.self) })
            #expect(seen.count == 450)
            for record in rest {
                #expect(record.offset >= positions[record.topicPartition, default: 0])
            }
            let extra = try await b.poll(maxRecords: 10, timeout: .milliseconds(300))
            #expect(extra.isEmpty)
            await b.close()
            await producer.close()
        }
    }

    @Test("replay from a stored position and seek", arguments: BackendKind.allCases)
    func replayFromPosition(kind: BackendKind) async throws {
        try await kind.with { log in
            let topic = uniqueTopic("conf.replay")
            try await log.createTopics([TopicSpec(name: topic, partitions: 1)])
            let producer = try await log.makeProducer()
            _ = try await producer.send((0..<100).map { OutgoingRecord(topic: topic, key: "k", value: [UInt8($0)]) })
            let tp = TopicPartition(topic, 0)

            // A snapshot says "consumed up to 40": replay starts exactly there, whatever is committed.
            let consumer = try await log.makeConsumer(ConsumerConfiguration(
                groupID: "g-replay", topics: [topic], onAssign: { _ in [tp: 40] }))
            let replayed = try await drain(consumer, count: 60)
            #expect(replayed.map(\.offset) == Array(40..<100))
            #expect(replayed.map { $0.value[0] } == (40..<100).map { UInt8($0) })

            try await consumer.seek(tp, to: 95)
            let tail = try await drain(consumer, count: 5)
            #expect(tail.map(\.offset) == [95, 96, 97, 98, 99])
            await consumer.close()

            // Explicit assignment reads the same partition from the beginning.
            let manual = try await log.makeConsumer(ConsumerConfiguration(
                groupID: "g-replay-manual", topics: [topic], partitions: .explicit([tp])))
            let all = try await drain(manual, count: 100)
            #expect(all.map(\.offset) == Array(0..<100))
            #expect(await manual.assignment() == [tp])
            await manual.close()
            await producer.close()
        }
    }

    @Test("pause and resume a partition", arguments: BackendKind.allCases)
    func pauseResume(kind: BackendKind) async throws {
        try await kind.with { log in
            let topic = uniqueTopic("conf.pause")
            try await log.createTopics([TopicSpec(name: topic, partitions: 2)])
            let producer = try await log.makeProducer()
            let p0 = TopicPartition(topic, 0)
            let p1 = TopicPartition(topic, 1)
            _ = try await producer.send((0..<10).map { OutgoingRecord(topic: topic, key: "x", value: [UInt8($0)], partition: 0) })
            _ = try await producer.send((0..<10).map { OutgoingRecord(topic: topic, key: "y", value: [UInt8($0)], partition: 1) })

            let consumer = try await log.makeConsumer(ConsumerConfiguration(
                groupID: "g-pause", topics: [topic], partitions: .explicit([p0, p1])))
            try await consumer.pause([p0])
            let onlyP1 = try await drain(consumer, count: 10)
            #expect(onlyP1.count == 10)
            #expect(onlyP1.allSatisfy { $0.topicPartition == p1 })
            let none = try await consumer.poll(maxRecords: 10, timeout: .milliseconds(300))
            #expect(none.isEmpty)
            try await consumer.resume([p0])
            let nowP0 = try await drain(consumer, count: 10)
            #expect(nowP0.count == 10)
            #expect(nowP0.allSatisfy { $0.topicPartition == p0 })
            await consumer.close()
            await producer.close()
        }
    }

    @Test("static shards split partitions", arguments: BackendKind.allCases)
    func shards(kind: BackendKind) async throws {
        try await kind.with { log in
            let topic = uniqueTopic("conf.shard")
            try await log.createTopics([TopicSpec(name: topic, partitions: 4)])
            let producer = try await log.makeProducer()
            _ = try await producer.send((0..<200).map { OutgoingRecord(topic: topic, key: "s\($0)", value: Array("\($0)".utf8)) })
            let even = try await log.makeConsumer(ConsumerConfiguration(
                groupID: "g-shard-0", topics: [topic], partitions: .shard(index: 0, count: 2)))
            let odd = try await log.makeConsumer(ConsumerConfiguration(
                groupID: "g-shard-1", topics: [topic], partitions: .shard(index: 1, count: 2)))
            let ends = try await log.endOffsets((0..<4).map { TopicPartition(topic, $0) })
            let evenCount = Int(ends[TopicPartition(topic, 0)]! + ends[TopicPartition(topic, 2)]!)
            let a = try await drain(even, count: evenCount)
            let b = try await drain(odd, count: 200 - evenCount)
            #expect(a.allSatisfy { $0.topicPartition.partition % 2 == 0 })
            #expect(b.allSatisfy { $0.topicPartition.partition % 2 == 1 })
            #expect(a.count + b.count == 200)
            await even.close()
            await odd.close()
            await producer.close()
        }
    }
}
