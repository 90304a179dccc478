import CRdKafka
import ExchangeProtocol
import Foundation
import Messaging
import Testing

/// Kafka-specific behaviour on a librdkafka mock cluster (loopback only).
@Suite("Kafka on the librdkafka mock cluster", .serialized)
struct KafkaEventLogTests {
    @Test("our murmur2 partitioner equals librdkafka's")
    func murmur2MatchesLibrdkafka() {
        var generator = SystemRandomNumberGenerator()
        var keys: [[UInt8]] = (0..<64).map { Array("user-\($0)".utf8) } + [Array("".utf8), Array("a".utf8), Array("ab".utf8), Array("abc".utf8)]
        for length in 1...40 {
            for _ in 0..<25 {
                keys.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
        }
        var mismatches = 0
        for count: Int32 in [1, 2, 3, 4, 5, 7, 8, 12, 16, 31, 64, 100, 1000] {
            for key in keys {
                let theirs = key.withUnsafeBytes { bytes in
                    // The murmur2 partitioner reads neither the topic handle nor the opaques.
                    rd_kafka_msg_partitioner_murmur2(nil, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), bytes.count, count, nil, nil)
                }
                if theirs != Murmur2.partition(for: key, partitionCount: count) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("two members of a group split the partitions; the survivor takes all when one leaves")
    func groupRebalance() async throws {
        let (backend, _) = try await KafkaMockTestCluster.start()
        let topic = uniqueTopic("kafka.rebalance")
        try await backend.log.createTopics([TopicSpec(name: topic, partitions: 4)])
        let all = (Int32(0)..<4).map { TopicPartition(topic, $0) }
        let logA = RebalanceLog()
        let logB = RebalanceLog()
        let a = try await backend.log.makeConsumer(logA.configuration(group: "g-rebalance", topic: topic))
        try await pollUntil([a]) { await a.assignment() == all }
        #expect(await a.assignment() == all)

        let b = try await backend.log.makeConsumer(logB.configuration(group: "g-rebalance", topic: topic))
        try await pollUntil([a, b]) {
            let (x, y) = (await a.assignment(), await b.assignment())
            return !x.isEmpty && !y.isEmpty && Set(x).isDisjoint(with: y) && Set(x + y) == Set(all)
        }
        let splitA = await a.assignment()
        let splitB = await b.assignment()
        #expect(splitA.count == 2 && splitB.count == 2)
        #expect(Set(splitA + splitB) == Set(all))
        #expect(logA.revoked.first == all, "the eager protocol revokes everything from the first member")
        #expect(logB.assigned.last.map(Set.init) == Set(splitB))

        await a.close()
        #expect(logA.revoked.last.map(Set.init) == Set(splitA), "closing revokes the member's partitions")
        try await pollUntil([b]) { await b.assignment() == all }
        #expect(await b.assignment() == all)
        #expect(!logB.revoked.isEmpty)
        #expect(logB.assigned.last == all)
        await b.close()
        await backend.teardown()
    }

    @Test("a non-retriable produce error is thrown from send, not hung")
    func produceErrorIsThrown() async throws {
        let (backend, cluster) = try await KafkaMockTestCluster.start()
        let topic = uniqueTopic("kafka.produce-error")
        try await backend.log.createTopics([TopicSpec(name: topic, partitions: 1)])
        let producer = try await backend.log.makeProducer()
        _ = try await producer.send(OutgoingRecord(topic: topic, key: "warm", value: [1]))

        // Produce = ApiKey 0; TOPIC_AUTHORIZATION_FAILED is permanent, so librdkafka does not retry.
        cluster.failNextRequests(apiKey: 0, errorCodes: Array(repeating: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue, count: 10))
        await #expect {
            _ = try await producer.send((0..<5).map { OutgoingRecord(topic: topic, key: "k\($0)", value: [UInt8($0)]) })
        } throws: { error in
            (error as? MessagingError)?.code == .deliveryFailed
        }
        cluster.clearRequestErrors(apiKey: 0)
        await producer.close()
        await backend.teardown()
    }

    @Test("records time out with every broker down: send throws deliveryFailed")
    func brokersDownTimesOut() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        var configuration = KafkaMockTestCluster.configuration(cluster)
        configuration.messageTimeoutMs = 1_500
        let log = try KafkaEventLog(configuration: configuration, mockCluster: cluster)
        let topic = uniqueTopic("kafka.down")
        try await log.createTopics([TopicSpec(name: topic, partitions: 2)])
        let producer = try KafkaProducer(configuration: configuration)
        _ = try await producer.send(OutgoingRecord(topic: topic, key: "before", value: [0]))

        try cluster.setBrokerDown()
        await #expect {
            _ = try await producer.send(OutgoingRecord(topic: topic, key: "during", value: [1]))
        } throws: { error in
            (error as? MessagingError)?.code == .deliveryFailed
        }
        try cluster.setBrokerUp()
        await producer.close()
        await log.shutdown()
    }

    @Test("10,000 records to one partition are all acknowledged with dense offsets")
    func largeBatch() async throws {
        let (backend, _) = try await KafkaMockTestCluster.start()
        let topic = uniqueTopic("kafka.batch")
        try await backend.log.createTopics([TopicSpec(name: topic, partitions: 3)])
        let producer = try await backend.log.makeProducer()
        let records = (0..<10_000).map { OutgoingRecord(topic: topic, key: "k\($0)", value: Array("v\($0)".utf8), partition: 1) }
        let positions = try await producer.send(records)
        #expect(positions.count == 10_000)
        #expect(positions.allSatisfy { $0.topicPartition == TopicPartition(topic, 1) })
        #expect(positions.map(\.offset) == Array(0..<10_000))
        let ends = try await backend.log.endOffsets([TopicPartition(topic, 1)])
        #expect(ends[TopicPartition(topic, 1)] == 10_000)
        await producer.close()
        await backend.teardown()
    }

    @Test("unknown topics are reported as unknownTopic")
    func unknownTopic() async throws {
        let (backend, _) = try await KafkaMockTestCluster.start(brokers: 1)
        let producer = try await backend.log.makeProducer()
        await #expect {
            _ = try await producer.send(OutgoingRecord(topic: "no.such.topic", key: "k", value: []))
        } throws: { error in
            (error as? MessagingError)?.code == .unknownTopic
        }
        await #expect {
            _ = try await backend.log.partitionCount(of: "no.such.topic")
        } throws: { error in
            (error as? MessagingError)?.code == .unknownTopic
        }
        await producer.close()
        await backend.teardown()
    }

    @Test("librdkafka 2.0.2's mock brokers do not answer CreateTopics (why the mock path exists)")
    func mockHasNoCreateTopics() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        var configuration = KafkaMockTestCluster.configuration(cluster)
        configuration.requestTimeoutMs = 1_000
        let admin = try KafkaAdmin(configuration: configuration)
        await #expect(throws: MessagingError.self) {
            try await admin.createTopics([TopicSpec(name: uniqueTopic("kafka.admin"), partitions: 1)], replicationFactor: 1)
        }
        withExtendedLifetime(cluster) {}
    }
}

/// Records a consumer's rebalance callbacks.
///
/// `@unchecked Sendable`: the callbacks run on the consumer's polling thread while the test reads;
/// every access goes through `lock`.
final class RebalanceLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _assigned: [[TopicPartition]] = []
    private var _revoked: [[TopicPartition]] = []

    var assigned: [[TopicPartition]] { lock.withLock { _assigned } }
    var revoked: [[TopicPartition]] { lock.withLock { _revoked } }

    func configuration(group: String, topic: String) -> ConsumerConfiguration {
        ConsumerConfiguration(
            groupID: group, topics: [topic],
            onAssign: { partitions in
                self.lock.withLock { self._assigned.append(partitions.sorted()) }
                return [:]
            },
            onRevoke: { partitions in
                self.lock.withLock { self._revoked.append(partitions.sorted()) }
            })
    }
}

/// Polls every consumer (rebalance callbacks run inside poll) until `condition` holds or 30 s pass.
private func pollUntil(
    _ consumers: [any EventConsumer], _ condition: () async -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: .seconds(30))
    while clock.now < end {
        if await condition() { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for consumer in consumers {
                group.addTask { _ = try await consumer.poll(maxRecords: 10, timeout: .milliseconds(100)) }
            }
            try await group.waitForAll()
        }
    }
}
