import ArgumentParser
import ExchangeProtocol
import Foundation
import Histogram
import Messaging
import ServiceKit

/// `exchange bench eventlog --backend redis|kafka-mock`: publish->consume latency at fixed rates
/// (from the moment a record is handed to the producer until a consumer holds it; the sender's
/// lag behind its schedule is reported beside it) and batched single-partition throughput.
struct BenchEventLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eventlog", abstract: "Event-log publish->consume latency at fixed rates and batched throughput.")

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case redis
        case kafkaMock = "kafka-mock"
    }

    @Option(help: "redis (a private redis-server with AOF fsync always) or kafka-mock (librdkafka mock cluster).")
    var backend: Backend = .redis

    @Option(help: "Comma-separated publish rates (msgs/s) for the latency runs.")
    var rates: String = "1000,10000"

    @Option(help: "Seconds per latency run.")
    var duration: Double = 5

    @Option(help: "Records for the throughput run (one partition).")
    var throughputRecords: Int = 500_000

    @Option(help: "Records per send in the throughput run.")
    var batch: Int = 5_000

    @Option(help: "Payload bytes per record.")
    var payloadBytes: Int = 100

    func run() async throws {
        LoggingSetup.bootstrap(format: .text, level: .warning)
        let rateList = rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !rateList.isEmpty, rateList.allSatisfy({ $0 > 0 }) else { throw ValidationError("bad --rates \(rates)") }
        let redis = try await PrivateRedis.start()
        let target = try await BenchTarget.start(backend, redis: redis)
        do {
            var latency: [[String: Any]] = []
            for rate in rateList {
                latency.append(try await Self.latencyRun(log: target.log, rate: rate, seconds: duration, payloadBytes: payloadBytes))
            }
            let throughput = try await Self.throughputRun(log: target.log, records: throughputRecords, batch: batch, payloadBytes: payloadBytes)
            try printJSON([
                "benchmark": "eventlog", "backend": backend.rawValue, "setup": target.setup,
                "latency": latency, "throughput": throughput,
            ])
        } catch {
            await target.stop()
            await redis.stop()
            throw error
        }
        await target.stop()
        await redis.stop()
    }

    /// Monotonic nanoseconds.
    static func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func latencyRun(log: any EventLog, rate: Int, seconds: Double, payloadBytes: Int) async throws -> [String: Any] {
        let topic = "bench.latency.\(rate).\(UInt32.random(in: 0...UInt32.max))"
        try await log.createTopics([TopicSpec(name: topic, partitions: 1)])
        let total = Int(Double(rate) * seconds)
        let producer = try await log.makeProducer()
        let consumer = try await log.makeConsumer(ConsumerConfiguration(
            groupID: "bench-\(topic)", topics: [topic], partitions: .explicit([TopicPartition(topic, 0)])))
        // Warm up: one record through the whole path (metadata, assignment, first fetch) before
        // the clock starts; the warm-up poll takes it, so the timed consumer never sees it.
        _ = try await producer.send(OutgoingRecord(topic: topic, key: "k", value: [UInt8](repeating: 0, count: 8), partition: 0))
        var warm = 0
        let warmDeadline = nowNs() + 20_000_000_000
        while warm == 0 && nowNs() < warmDeadline {
            warm = try await consumer.poll(maxRecords: 1, timeout: .milliseconds(100)).count
        }

        let (received, pacing) = try await withThrowingTaskGroup(of: (Histogram<UInt64>, Int).self) { group in
            group.addTask {
                var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                var count = 0
                let deadline = nowNs() + UInt64((seconds + 10) * 1e9)
                while count < total && nowNs() < deadline {
                    for record in try await consumer.poll(maxRecords: 1_000, timeout: .milliseconds(100)) {
                        let stamp = record.value.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                        _ = histogram.record((nowNs() &- stamp) / 1_000)
                        count += 1
                    }
                }
                return (histogram, count)
            }
            group.addTask {
                // Paced in ticks of about half a millisecond. Each record carries the time it is
                // handed to the producer; sends do not wait for earlier ones (bounded in flight, as
                // many routers would). How late each send starts against its schedule is reported
                // separately as pacing lag, so a stalled sender is not hidden.
                let start = nowNs()
                let perNs = Double(rate) / 1e9
                var sent = 0
                var lag = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                try await withThrowingTaskGroup(of: Void.self) { sends in
                    var inFlight = 0
                    while sent < total {
                        let due = min(total, Int(Double(nowNs() - start) * perNs) + 1)
                        if due > sent {
                            if inFlight >= 256 {
                                try await sends.next()
                                inFlight -= 1
                            }
                            let stamp = nowNs()
                            for i in sent..<due { _ = lag.record((stamp &- (start + UInt64(Double(i) / perNs))) / 1_000) }
                            var value = [UInt8](repeating: 0x61, count: max(8, payloadBytes))
                            withUnsafeBytes(of: stamp) { value.replaceSubrange(0..<8, with: $0) }
                            let records = (sent..<due).map { _ in OutgoingRecord(topic: topic, key: "k", value: value, partition: 0) }
                            sent = due
                            sends.addTask { _ = try await producer.send(records) }
                            inFlight += 1
                        }
                        try await Task.sleep(for: .microseconds(500))
                    }
                    try await sends.waitForAll()
                }
                return (lag, -1)
            }
            var result: (Histogram<UInt64>, Int)?
            var lag: Histogram<UInt64>?
            for try await value in group {
                if value.1 < 0 { lag = value.0 } else { result = value }
            }
            return (result!, lag!)
        }
        await consumer.close()
        await producer.close()
        let (histogram, count) = received
        return [
            "rate_msgs_per_s": rate, "seconds": seconds, "sent": total, "received": count,
            "p50_us": histogram.valueAtPercentile(50), "p90_us": histogram.valueAtPercentile(90),
            "p99_us": histogram.valueAtPercentile(99), "p999_us": histogram.valueAtPercentile(99.9),
            "max_us": histogram.max,
            "pacing_lag_p50_us": pacing.valueAtPercentile(50), "pacing_lag_p99_us": pacing.valueAtPercentile(99),
        ]
    }

    static func throughputRun(log: any EventLog, records: Int, batch: Int, payloadBytes: Int) async throws -> [String: Any] {
        let topic = "bench.throughput.\(UInt32.random(in: 0...UInt32.max))"
        try await log.createTopics([TopicSpec(name: topic, partitions: 1)])
        let producer = try await log.makeProducer()
        let value = [UInt8](repeating: 0x62, count: payloadBytes)
        let batches = (records + batch - 1) / batch
        let produceStart = nowNs()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for b in 0..<batches {
                let count = min(batch, records - b * batch)
                let slice = (0..<count).map { _ in OutgoingRecord(topic: topic, key: "k", value: value, partition: 0) }
                if inFlight >= 8 {
                    try await group.next()
                    inFlight -= 1
                }
                group.addTask { _ = try await producer.send(slice) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        let produceSeconds = Double(nowNs() - produceStart) / 1e9
        await producer.close()

        // Consume from the beginning of what the log still holds up to its end. (librdkafka's mock
        // brokers keep only about 5 MB per partition and evict older record batches, so on
        // kafka-mock the consumer starts at the oldest retained record, not at offset 0.)
        let tp = TopicPartition(topic, 0)
        let end = try await log.endOffsets([tp])[tp, default: 0]
        let consumer = try await log.makeConsumer(ConsumerConfiguration(
            groupID: "bench-\(topic)", topics: [topic], partitions: .explicit([tp])))
        var consumed = 0
        var firstOffset: Int64 = -1
        var lastOffset: Int64 = -1
        var consumeStart: UInt64 = 0
        let deadline = nowNs() + 60_000_000_000
        while lastOffset < end - 1 && nowNs() < deadline {
            let polled = try await consumer.poll(maxRecords: 10_000, timeout: .milliseconds(200))
            guard let last = polled.last else { continue }
            lastOffset = last.offset
            if firstOffset < 0 {
                // The clock starts when the first batch is in hand; only later batches count.
                consumeStart = nowNs()
                firstOffset = polled[0].offset
                continue
            }
            consumed += polled.count
        }
        let consumeSeconds = Double(nowNs() - consumeStart) / 1e9
        await consumer.close()
        return [
            "partitions": 1, "records": records, "batch": batch, "payload_bytes": payloadBytes,
            "produce_msgs_per_s": Int(Double(records) / produceSeconds),
            "consumed": consumed, "consumed_from_offset": firstOffset,
            "consume_msgs_per_s": consumeSeconds > 0 ? Int(Double(consumed) / consumeSeconds) : 0,
        ]
    }
}

/// The backend a benchmark runs against, started privately and stopped afterwards.
struct BenchTarget {
    let log: any EventLog
    /// What a service is given as `--event-log`.
    let eventLogURL: String
    let setup: String
    let stop: () async -> Void

    /// The event log on `redis` (Redis Streams), or on a fresh librdkafka mock cluster.
    static func start(_ backend: BenchEventLogCommand.Backend, redis: PrivateRedis) async throws -> BenchTarget {
        switch backend {
        case .kafkaMock:
            let cluster = try KafkaMockCluster(brokers: 3)
            var configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
            configuration.consumerProperties = ["fetch.wait.max.ms": "1"]
            let log = try KafkaEventLog(configuration: configuration, mockCluster: cluster)
            // The mock answers an empty fetch only after fetch.wait.max.ms and is not woken by new
            // records (a real broker is), so a long wait would measure the mock, not the path.
            return BenchTarget(
                log: log, eventLogURL: "kafka://\(cluster.bootstrapServers)",
                setup: "librdkafka mock cluster, 3 brokers, replication 3, idempotent producer acks=all, consumer fetch.wait.max.ms=1",
                stop: {
                    await log.shutdown()
                    withExtendedLifetime(cluster) {}
                })
        case .redis:
            let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(
                redis: RedisConfiguration(host: "127.0.0.1", port: redis.port)))
            return BenchTarget(
                log: log, eventLogURL: redis.url, setup: "private redis-server, AOF appendfsync always, loopback",
                stop: { await log.shutdown() })
        }
    }
}
