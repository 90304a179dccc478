import ArgumentParser
import ExchangeProtocol
import Foundation
import MatchingEngine
import MatchingService
import Messaging
import ServiceKit

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `exchange bench matching-service --backend redis|kafka-mock`: commands/s through the real
/// `matching` executable and the event log. The commands are appended to `matching.commands`
/// first (untimed); then the service starts and the clock runs from its first applied command to
/// its last (read from its own `exchange_consumer_records` metric), so start-up is excluded and
/// reported separately. Every command carries a reply channel, so the service also publishes one
/// outcome per command and keeps depth snapshots, as in production.
struct BenchMatchingServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching-service", abstract: "Commands/s through the matching service and the event log.")

    @Option(help: "redis (a private redis-server with AOF fsync always) or kafka-mock (librdkafka mock cluster).")
    var backend: BenchEventLogCommand.Backend = .redis

    @Option(help: "Commands to apply.")
    var commands: Int = 200_000

    @Option(help: "Symbols the commands spread over.")
    var symbols: Int = 8

    @Option(help: "Directory holding the matching executable (default: next to this one).")
    var binDir: String?

    @Flag(help: "Projections, replies and Pub/Sub in the event log's own redis-server (fsync always) instead of a second one.")
    var sharedRedis = false

    @Option(help: "RNG seed.")
    var seed: UInt64 = 7

    func run() async throws {
        LoggingSetup.bootstrap(format: .text, level: .warning)
        guard commands > 0, symbols > 0 else { throw ValidationError("--commands and --symbols must be positive") }
        let binDir = self.binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let binary = "\(binDir)/matching"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw ValidationError("missing \(binary)") }

        let inProcess = Self.processorOnly(Self.workload(commands: commands, symbols: symbols, seed: seed))
        let redis = try await PrivateRedis.start()
        let target = try await BenchTarget.start(backend, redis: redis)
        let projections = try await ProjectionsRedis.start(shared: sharedRedis, eventLog: redis)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bench-matching-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var pid: pid_t?
        do {
            try await target.log.createTopics(Topics.all.map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) })
            let producer = try await target.log.makeProducer()
            let envelopes = Self.workload(commands: commands, symbols: symbols, seed: seed)
            let fillStart = ContinuousClock.now
            for start in stride(from: 0, to: envelopes.count, by: 5_000) {
                _ = try await producer.send(envelopes[start..<min(envelopes.count, start + 5_000)].map {
                    OutgoingRecord(topic: Topics.matchingCommands.name, key: $0.symbol, value: EnvelopeCodec.encode($0.envelope))
                })
            }
            let fillSeconds = (ContinuousClock.now - fillStart).seconds
            await producer.close()

            let run = try await ServiceBenchRun.start(
                binary: binary,
                arguments: [
                    "--event-log", target.eventLogURL, "--redis", projections.url, "--data-dir", work, "--instance", "matching-bench",
                    "--symbols", "none", "--log-level", "warning",
                ],
                logFile: "\(work)/matching.log")
            pid = run.pid
            let (firstApplied, firstCount, applied, finished) = try await run.waitUntilApplied(commands, what: "commands")
            let launched = run.launched
            let stages = await run.stages()
            let seconds = (finished - firstApplied).seconds
            let partitions = try await target.log.partitionCount(of: Topics.matchingEvents.name)
            let ends = try await target.log.endOffsets((0..<partitions).map { TopicPartition(Topics.matchingEvents.name, $0) })
            try printJSON([
                "benchmark": "matching-service", "backend": backend.rawValue, "setup": target.setup + projections.setupNote,
                "commands": commands, "symbols": symbols, "seed": seed,
                "mix": ["gtc": 0.70, "ioc": 0.10, "cancel": 0.20],
                "commands_per_s": Int(Double(applied - firstCount) / max(seconds, 1e-9)),
                "events_emitted": ends.values.reduce(0, +),
                "measured_seconds": seconds,
                "startup_seconds": (firstApplied - launched).seconds,
                "prefill_commands_per_s": Int(Double(commands) / max(fillSeconds, 1e-9)),
                "processor_only": inProcess,
                "loop_stages": stages,
                "method": "commands appended first; clock from the service's first applied record to its last (its exchange_consumer_records metric, polled every 20 ms); outputs durable before positions advance, outcomes published on a reply channel, depth snapshots every 100 ms per symbol",
            ])
        } catch {
            if let pid { kill(pid, SIGKILL); _ = await Spawn.waitForExit(pid) }
            await target.stop()
            await redis.stop()
            await projections.stop()
            throw error
        }
        if let pid {
            kill(pid, SIGTERM)
            _ = await Spawn.waitForExit(pid)
        }
        await target.stop()
        await redis.stop()
        await projections.stop()
        try? FileManager.default.removeItem(atPath: work)
    }

    /// The service's CPU work per command without I/O, in this process: decode the input envelope,
    /// apply it, stamp and encode every output, and build the reply outcomes, as the consumer loop
    /// does (`MatchingProcessor<FastBook>`, one per symbol partition is equivalent here).
    static func processorOnly(_ workload: [(symbol: String, envelope: Exchange_V1_Envelope)]) -> [String: Any] {
        let inputs = workload.enumerated().map { index, item in
            ConsumedRecord(topicPartition: TopicPartition(Topics.matchingCommands.name, 0), offset: Int64(index),
                           key: Array(item.symbol.utf8), value: EnvelopeCodec.encode(item.envelope), timestampMs: 0)
        }
        var processor = MatchingProcessor<FastBook>()
        let replies = ReplyPlanner(producer: "bench")
        var outputs = 0
        var bytes = 0
        let start = ContinuousClock.now
        for record in inputs {
            guard let envelope = try? EnvelopeCodec.decode(record.value) else { continue }
            let stamped = ProcessorOutput.stampAndEncode(
                processor.apply(ProcessorInput(record: record, envelope: envelope)), from: record, producer: "bench")
            for output in stamped { bytes += output.encoded?.count ?? 0 }
            outputs += stamped.count
            for effect in replies.plan(stamped) { if case .publish(_, let message) = effect { bytes += message.count } }
        }
        let seconds = (ContinuousClock.now - start).seconds
        return [
            "commands_per_s": Int(Double(inputs.count) / max(seconds, 1e-9)),
            "ns_per_command": Int(seconds * 1e9 / Double(max(inputs.count, 1))),
            "outputs_per_command": Double(outputs) / Double(max(inputs.count, 1)),
            "bytes_per_command": bytes / max(inputs.count, 1),
        ]
    }

    /// The value of `exchange_consumer_records` on the service's /metrics, nil while it does not answer.
    static func appliedRecords(port: Int) async -> Int? {
        guard let samples = await AdminMetrics.samples(port: port) else { return nil }
        return samples.filter { $0.series.hasPrefix("exchange_consumer_records") }.reduce(0) { $0 + Int($1.value) }
    }

    /// Funded orders and cancels on `symbols` books: 70% GTC and 10% IOC limits near the middle
    /// (quantities 1 + r(6)r(6)r(6)), 20% cancels of an earlier GTC of the same symbol.
    static func workload(commands: Int, symbols: Int, seed: UInt64) -> [(symbol: String, envelope: Exchange_V1_Envelope)] {
        var rng = SplitMix64(seed: seed)
        let names = (0..<symbols).map { "SYM\($0)USDT" }
        var resting: [[(orderID: UInt64, user: UInt64)]] = Array(repeating: [], count: symbols)
        var out: [(symbol: String, envelope: Exchange_V1_Envelope)] = []
        out.reserveCapacity(commands)
        let unit: Int64 = 100_000_000
        for i in 0..<commands {
            let book = rng.below(symbols)
            let time = 1_763_000_000_000 + Int64(i)
            let roll = rng.below(100)
            let payload: Exchange_V1_Envelope.OneOf_Payload
            if roll < 20, !resting[book].isEmpty {
                let index = rng.below(resting[book].count)
                let target = resting[book].remove(at: index)
                var cancel = Exchange_V1_CancelOrder()
                cancel.userID = target.user
                cancel.symbol = names[book]
                cancel.orderID = target.orderID
                payload = .cancelOrder(cancel)
            } else {
                var order = Exchange_V1_PlaceOrder()
                order.userID = UInt64(rng.int(1...1_000))
                order.symbol = names[book]
                order.orderID = UInt64(i + 1)
                order.clientOrderID = "b\(i + 1)"
                order.side = rng.chance(50) ? .buy : .sell
                order.type = .limit
                order.timeInForce = roll < 30 ? .ioc : .gtc
                let offset = rng.int(0...20)
                order.price = (order.side == .buy ? 10_000 - offset : 10_000 + offset - 5) * unit / 100
                order.quantity = (1 + rng.int(0...5) * rng.int(0...5) * rng.int(0...5)) * unit / 100
                let funded = Exchange_V1_FundedOrder(
                    order: order, makerCommissionRate: 100_000, takerCommissionRate: 100_000, baseAsset: "SYM\(book)", quoteAsset: "USDT")
                if order.timeInForce == .gtc { resting[book].append((order.orderID, order.userID)) }
                payload = .fundedOrder(funded)
            }
            out.append((names[book], Exchange_V1_Envelope(
                payload: payload, requestID: "b\(i)", replyTo: RedisNames.replyChannel(instance: "bench-router"),
                createdAtMs: time, emittedAtMs: time)))
        }
        return out
    }
}

/// A service executable started for a benchmark, and its progress read from its own
/// `exchange_consumer_records` metric.
struct ServiceBenchRun {
    let pid: pid_t
    let adminPort: Int
    let launched: ContinuousClock.Instant
    let logFile: String

    /// Launches `binary` with `arguments` plus a free admin port.
    static func start(binary: String, arguments: [String], logFile: String) async throws -> ServiceBenchRun {
        let adminPort = try LoopbackPort.free()
        let launched = ContinuousClock.now
        let pid = try Spawn.launch(
            executable: binary, arguments: arguments + ["--admin-port", String(adminPort)],
            environment: ProcessInfo.processInfo.environment, logFile: logFile)
        return ServiceBenchRun(pid: pid, adminPort: adminPort, launched: launched, logFile: logFile)
    }

    /// Polls every 20 ms until `total` records were applied (at most 600 s): when the first
    /// poll saw records, how many, how many in all, and when the last arrived.
    func waitUntilApplied(_ total: Int, what: String) async throws
        -> (first: ContinuousClock.Instant, firstCount: Int, applied: Int, finished: ContinuousClock.Instant)
    {
        var firstApplied: ContinuousClock.Instant?
        var firstCount = 0
        var applied = 0
        let deadline = ContinuousClock.now + .seconds(600)
        while applied < total && ContinuousClock.now < deadline {
            if let count = await BenchMatchingServiceCommand.appliedRecords(port: adminPort) {
                if firstApplied == nil && count > 0 {
                    firstApplied = .now
                    firstCount = count
                }
                applied = count
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let finished = ContinuousClock.now
        guard let firstApplied, applied >= total else {
            throw ValidationError("the service applied \(applied) of \(total) \(what) in time; see \(logFile)")
        }
        return (firstApplied, firstCount, applied, finished)
    }

    /// The consumer loop's time per stage over the run (`exchange_consumer_stage_seconds`): for each
    /// stage, batches, mean ms per batch and share of the loop's time.
    func stages() async -> [String: Any] {
        guard let samples = await AdminMetrics.samples(port: adminPort) else { return [:] }
        var sums: [String: Double] = [:]
        var counts: [String: Double] = [:]
        for sample in samples where sample.series.hasPrefix("exchange_consumer_stage_seconds") {
            guard let stage = AdminMetrics.label("stage", of: sample.series) else { continue }
            if sample.series.hasPrefix("exchange_consumer_stage_seconds_sum") { sums[stage, default: 0] += sample.value }
            if sample.series.hasPrefix("exchange_consumer_stage_seconds_count") { counts[stage, default: 0] += sample.value }
        }
        let total = sums.values.reduce(0, +)
        var result: [String: Any] = [:]
        for (stage, sum) in sums {
            let batches = counts[stage] ?? 0
            result[stage] = [
                "batches": Int(batches), "mean_ms": batches > 0 ? (sum / batches * 1e5).rounded() / 100 : 0,
                "share": total > 0 ? (sum / total * 1000).rounded() / 1000 : 0,
            ] as [String: Any]
        }
        return result
    }
}

/// Where a service benchmark's projections, replies and Pub/Sub go: a second private redis-server,
/// as `exchange up` runs them, or (`shared`) the event log's own.
struct ProjectionsRedis {
    let url: String
    /// What the benchmark's `setup` field adds.
    let setupNote: String
    private let own: PrivateRedis?

    static func start(shared: Bool, eventLog: PrivateRedis) async throws -> ProjectionsRedis {
        if shared { return ProjectionsRedis(url: eventLog.url, setupNote: "; projections in the same redis-server", own: nil) }
        let own = try await PrivateRedis.start()
        return ProjectionsRedis(url: own.url, setupNote: "; projections in a second redis-server (also AOF appendfsync always)", own: own)
    }

    func stop() async { await own?.stop() }
}

/// A private redis-server (AOF fsync always) on a free loopback port, for benchmarks.
struct PrivateRedis {
    let port: Int
    let stop: () async -> Void
    var url: String { "redis://127.0.0.1:\(port)" }

    static func start() async throws -> PrivateRedis {
        let port = try LoopbackPort.free()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-redis-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard let server = UpCommand.which("redis-server") else { throw ValidationError("redis-server not found") }
        let pid = try Spawn.launch(
            executable: server,
            arguments: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes",
                        "--appendfsync", "always", "--save", "", "--daemonize", "no"],
            environment: [:], logFile: "\(dir)/redis.log")
        let redis = PrivateRedis(port: port, stop: {
            kill(pid, SIGTERM)
            _ = await Spawn.waitForExit(pid)
            try? FileManager.default.removeItem(atPath: dir)
        })
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: port))
        for _ in 0..<100 {
            if (try? await client.send(["PING"])) != nil {
                await client.close()
                return redis
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await client.close()
        await redis.stop()
        throw ValidationError("redis-server did not start")
    }
}
