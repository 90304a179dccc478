import ArgumentParser
import ExchangeProtocol
import Foundation
import Histogram
import Messaging
import ServiceKit

/// `exchange bench eventlog --backend redis|kafka-mock`: publish->consume latency at fixed rates
/// (p50/p99 over the intended send time, so a stalled producer is not hidden) and batched
/// single-partition throughput.
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
        let target = try await BenchTarget.start(backend)
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
            throw error
        }
        await target.stop()
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
        // Let the consumer's first poll settle before timing starts.
        _ = try await consumer.poll(maxRecords: 1, timeout: .milliseconds(100))

        let received = try await withThrowingTaskGroup(of: (Histogram<UInt64>, Int)?.self) { group in
            group.addTask {
                var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                var count = 0
                let deadline = nowNs() + UInt64((seconds + 10) * 1e9)
                while count < total && nowNs() < deadline {
                    for record in try await consumer.poll(maxRecords: 1_000, timeout: .milliseconds(100)) {
                        let intended = record.value.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                        _ = histogram.record((nowNs() &- intended) / 1_000)
                        count += 1
                    }
                }
                return (histogram, count)
            }
            group.addTask {
                // Paced in 1 ms ticks; each record carries its intended send time, and sends are
                // issued without waiting for earlier ones (bounded in flight), as many routers would.
                let start = nowNs()
                let perNs = Double(rate) / 1e9
                var sent = 0
                try await withThrowingTaskGroup(of: Void.self) { sends in
                    var inFlight = 0
                    while sent < total {
                        let due = min(total, Int(Double(nowNs() - start) * perNs) + 1)
                        if due > sent {
                            let records = (sent..<due).map { i -> OutgoingRecord in
                                let intended = start + UInt64(Double(i) / perNs)
                                var value = [UInt8](repeating: 0x61, count: max(8, payloadBytes))
                                withUnsafeBytes(of: intended) { value.replaceSubrange(0..<8, with: $0) }
                                return OutgoingRecord(topic: topic, key: "k", value: value, partition: 0)
                            }
                            sent = due
                            if inFlight >= 256 {
                                try await sends.next()
                                inFlight -= 1
                            }
                            sends.addTask { _ = try await producer.send(records) }
                            inFlight += 1
                        }
                        try await Task.sleep(for: .microseconds(500))
                    }
                    try await sends.waitForAll()
                }
                return nil
            }
            var result: (Histogram<UInt64>, Int)?
            for try await value in group { if let value { result = value } }
            return result!
        }
        await consumer.close()
        await producer.close()
        let (histogram, count) = received
        return [
            "rate_msgs_per_s": rate, "seconds": seconds, "sent": total, "received": count,
            "p50_us": histogram.valueAtPercentile(50), "p90_us": histogram.valueAtPercentile(90),
            "p99_us": histogram.valueAtPercentile(99), "p999_us": histogram.valueAtPercentile(99.9),
            "max_us": histogram.max,
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

        let consumer = try await log.makeConsumer(ConsumerConfiguration(
            groupID: "bench-\(topic)", topics: [topic], partitions: .explicit([TopicPartition(topic, 0)])))
        let consumeStart = nowNs()
        var consumed = 0
        let deadline = consumeStart + 120_000_000_000
        while consumed < records && nowNs() < deadline {
            consumed += try await consumer.poll(maxRecords: 10_000, timeout: .milliseconds(200)).count
        }
        let consumeSeconds = Double(nowNs() - consumeStart) / 1e9
        await consumer.close()
        return [
            "partitions": 1, "records": records, "batch": batch, "payload_bytes": payloadBytes,
            "produce_msgs_per_s": Int(Double(records) / produceSeconds),
            "consumed": consumed, "consume_msgs_per_s": Int(Double(consumed) / consumeSeconds),
        ]
    }
}

/// The backend a benchmark runs against, started privately and stopped afterwards.
struct BenchTarget {
    let log: any EventLog
    let setup: String
    let stop: () async -> Void

    static func start(_ backend: BenchEventLogCommand.Backend) async throws -> BenchTarget {
        switch backend {
        case .kafkaMock:
            let cluster = try KafkaMockCluster(brokers: 3)
            let log = try KafkaEventLog(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), mockCluster: cluster)
            return BenchTarget(log: log, setup: "librdkafka mock cluster, 3 brokers, replication 3, idempotent producer acks=all", stop: {
                await log.shutdown()
                withExtendedLifetime(cluster) {}
            })
        case .redis:
            let port = try LoopbackPort.free()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-redis-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            guard let server = UpCommand.which("redis-server") else { throw ValidationError("redis-server not found") }
            let pid = try Spawn.launch(
                executable: server,
                arguments: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes",
                            "--appendfsync", "always", "--save", "", "--daemonize", "no"],
                environment: [:], logFile: "\(dir)/redis.log")
            let stop: () async -> Void = {
                kill(pid, SIGTERM)
                _ = await Spawn.waitForExit(pid)
                try? FileManager.default.removeItem(atPath: dir)
            }
            var lastError: (any Error)?
            for _ in 0..<100 {
                do {
                    let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(
                        redis: RedisConfiguration(host: "127.0.0.1", port: port)))
                    return BenchTarget(log: log, setup: "private redis-server, AOF appendfsync always, loopback", stop: {
                        await log.shutdown()
                        await stop()
                    })
                } catch {
                    lastError = error
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            await stop()
            throw lastError ?? ValidationError("redis-server did not start")
        }
    }
}
