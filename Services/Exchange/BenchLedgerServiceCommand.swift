import ArgumentParser
import ExchangeProtocol
import Foundation
import LedgerService
import MatchingEngine
import MatchingService
import Messaging
import ServiceKit

/// `exchange bench ledger-service`: trades settled per second by the real `ledger` executable
/// through the event log.
///
/// The workload is built first, in this process, the way the stack produces it: accounts and
/// deposits, then pairs of crossing LIMIT orders from random users (the maker rests, the taker
/// fills it completely), run through a `LedgerProcessor` and a `MatchingProcessor` wired as the
/// services are. What the ledger reads is recorded: the requests and matching's settlement copies
/// (reports, trades, rejections) in each user partition of `orders.requests`. That stream is
/// appended to the log, then the ledger starts and consumes it: reserve, forward the funded order
/// to `matching.commands`, settle both sides of every trade with commission, release on terminal
/// reports, append balance changes to `ledger.events`, write the Redis projections and publish
/// on the user channels. The clock runs from its first applied record to its last (its
/// `exchange_consumer_records` metric).
struct BenchLedgerServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-service", abstract: "Trades settled/s through the ledger service and the event log.")

    @Option(help: "redis (a private redis-server with AOF fsync always) or kafka-mock (librdkafka mock cluster).")
    var backend: BenchEventLogCommand.Backend = .redis

    @Option(help: "Trades (each from a resting maker and a crossing taker).")
    var trades: Int = 50_000

    @Option(help: "Accounts.")
    var users: Int = 1_000

    @Option(help: "Directory holding the ledger executable (default: next to this one).")
    var binDir: String?

    @Flag(help: "Projections, replies and Pub/Sub in the event log's own redis-server (fsync always) instead of a second one.")
    var sharedRedis = false

    @Option(help: "RNG seed.")
    var seed: UInt64 = 11

    func run() async throws {
        LoggingSetup.bootstrap(format: .text, level: .warning)
        guard trades > 0, users > 1 else { throw ValidationError("--trades must be positive and --users above 1") }
        let binDir = self.binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let binary = "\(binDir)/ledger"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw ValidationError("missing \(binary)") }
        let catalogPath = "\(FileManager.default.temporaryDirectory.path)/bench-ledger-symbols-\(UUID().uuidString).json"
        try Data(#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","venue":"internal"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: catalogPath))
        defer { try? FileManager.default.removeItem(atPath: catalogPath) }
        let catalog = try SymbolCatalog.load(path: catalogPath)

        let built = Self.workload(trades: trades, users: users, seed: seed, catalog: catalog)
        let redis = try await PrivateRedis.start()
        let target = try await BenchTarget.start(backend, redis: redis)
        let projections = try await ProjectionsRedis.start(shared: sharedRedis, eventLog: redis)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bench-ledger-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var pid: pid_t?
        do {
            try await target.log.createTopics(Topics.all.map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) })
            let producer = try await target.log.makeProducer()
            for start in stride(from: 0, to: built.records.count, by: 5_000) {
                _ = try await producer.send(Array(built.records[start..<min(built.records.count, start + 5_000)]))
            }
            await producer.close()

            let total = built.records.count
            let run = try await ServiceBenchRun.start(
                binary: binary,
                arguments: [
                    "--event-log", target.eventLogURL, "--redis", projections.url, "--data-dir", work, "--instance", "ledger-bench",
                    "--symbols", catalogPath, "--log-level", "warning",
                ],
                logFile: "\(work)/ledger.log")
            pid = run.pid
            let (firstApplied, firstCount, applied, finished) = try await run.waitUntilApplied(total, what: "records")
            let launched = run.launched
            let stages = await run.stages()
            let seconds = (finished - firstApplied).seconds
            // The window starts after the first polled batch: count its share of the trades only.
            let timedShare = Double(applied - firstCount) / Double(applied)
            let ends = try await target.log.endOffsets((0..<(try await target.log.partitionCount(of: Topics.ledgerEvents.name)))
                .map { TopicPartition(Topics.ledgerEvents.name, $0) })
            try printJSON([
                "benchmark": "ledger-service", "backend": backend.rawValue, "setup": target.setup + projections.setupNote,
                "trades": trades, "users": users, "seed": seed,
                "records": total, "setup_records": built.setupRecords, "trade_records": built.tradeCopies,
                "trades_settled_per_s": Int(Double(trades) * timedShare / max(seconds, 1e-9)),
                "records_per_s": Int(Double(applied - firstCount) / max(seconds, 1e-9)),
                "balance_changes_emitted": ends.values.reduce(0, +),
                "measured_seconds": seconds,
                "startup_seconds": (firstApplied - launched).seconds,
                "processor_only": built.processorOnly,
                "loop_stages": stages,
                "method": "orders.requests pre-filled with what the ledger reads (requests and matching's settlement copies, built in-process by the real processors); clock from the ledger's first applied record to its last (exchange_consumer_records, polled every 20 ms); outputs durable before positions advance; projections and user channels written after each batch",
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

    struct Built {
        var records: [OutgoingRecord] = []
        var setupRecords = 0
        var tradeCopies = 0
        var processorOnly: [String: Any] = [:]
    }

    /// The records the ledger reads, in order per user partition, and the in-process ledger's
    /// time per record (decode, apply, encode outputs: the service's CPU work without I/O).
    static func workload(trades: Int, users: Int, seed: UInt64, catalog: SymbolCatalog) -> Built {
        var ledger = LedgerProcessor()
        ledger.adopt(catalog: catalog)
        var matching = MatchingProcessor<FastBook>()
        matching.catalog = catalog
        var rng = SplitMix64(seed: seed)
        var built = Built()
        var inputs: [(record: ConsumedRecord, envelope: Exchange_V1_Envelope)] = []
        var commandOffset: Int64 = 0
        var requestOffset: Int64 = 0
        let unit: Int64 = 100_000_000
        var time: Int64 = 1_763_000_000_000

        func feed(_ key: String, _ envelope: Exchange_V1_Envelope) {
            let bytes = EnvelopeCodec.encode(envelope)
            built.records.append(OutgoingRecord(topic: Topics.ordersRequests.name, key: key, value: bytes))
            let record = ConsumedRecord(
                topicPartition: TopicPartition(Topics.ordersRequests.name, 0), offset: requestOffset, key: Array(key.utf8),
                value: bytes, timestampMs: 0)
            requestOffset += 1
            inputs.append((record, envelope))
            for (index, output) in ledger.apply(ProcessorInput(record: record, envelope: envelope)).enumerated()
            where output.topic == Topics.matchingCommands.name {
                let stamped = output.stampedEnvelope(from: record, index: index, producer: "ledger-bench")
                let command = ConsumedRecord(
                    topicPartition: TopicPartition(Topics.matchingCommands.name, 0), offset: commandOffset, key: [],
                    value: [], timestampMs: 0)
                commandOffset += 1
                for (i, produced) in matching.apply(ProcessorInput(record: command, envelope: stamped)).enumerated()
                where produced.topic == Topics.ordersRequests.name {
                    if case .trade = produced.envelope.payload { built.tradeCopies += 1 }
                    feed(produced.key, produced.stampedEnvelope(from: command, index: i, producer: "matching-bench"))
                }
            }
        }
        func request(_ user: UInt64, _ payload: Exchange_V1_Envelope.OneOf_Payload) {
            time += 1
            feed(String(user), Exchange_V1_Envelope(payload: payload, requestID: "b\(time)", createdAtMs: time, emittedAtMs: time))
        }
        for user in 1...UInt64(users) {
            request(user, .accountAdmin(Exchange_V1_AccountAdmin.with {
                $0.userID = user
                $0.action = .create
                $0.canTrade = true
                $0.canWithdraw = true
                $0.canDeposit = true
            }))
            for (asset, amount) in [("USDT", 10_000_000 * unit), ("BTC", 10_000 * unit)] {
                request(user, .deposit(Exchange_V1_Deposit.with {
                    $0.userID = user
                    $0.asset = asset
                    $0.amount = amount
                    $0.txid = "bench-\(user)-\(asset)"
                    $0.confirmations = 100
                }))
            }
        }
        built.setupRecords = built.records.count
        var orderID: UInt64 = 1
        for _ in 0..<trades {
            let maker = UInt64(rng.int(1...Int64(users)))
            var taker = UInt64(rng.int(1...Int64(users)))
            if taker == maker { taker = maker % UInt64(users) + 1 }
            let makerSells = rng.chance(50)
            let price = (20_000 + rng.int(-50...50)) * unit
            let quantity = rng.int(1...100) * unit / 100
            for (user, side, limit) in [(maker, makerSells ? Exchange_V1_Side.sell : .buy, price),
                                        (taker, makerSells ? Exchange_V1_Side.buy : .sell, price)] {
                request(user, .placeOrder(Exchange_V1_PlaceOrder.with {
                    $0.userID = user
                    $0.symbol = "BTCUSDT"
                    $0.orderID = orderID
                    $0.clientOrderID = "b\(orderID)"
                    $0.side = side
                    $0.type = .limit
                    $0.timeInForce = .gtc
                    $0.price = limit
                    $0.quantity = quantity
                }))
                orderID += 1
            }
        }
        // The in-process ledger alone on the recorded stream: decode, apply, stamp and encode.
        var fresh = LedgerProcessor()
        fresh.adopt(catalog: catalog)
        let start = ContinuousClock.now
        var outputs = 0
        for (record, _) in inputs {
            guard let envelope = try? EnvelopeCodec.decode(record.value) else { continue }
            for (index, output) in fresh.apply(ProcessorInput(record: record, envelope: envelope)).enumerated() where !output.isEffectOnly {
                outputs += EnvelopeCodec.encode(output.stampedEnvelope(from: record, index: index, producer: "ledger-bench")).count > 0 ? 1 : 0
            }
        }
        let seconds = (ContinuousClock.now - start).seconds
        built.processorOnly = [
            "records": inputs.count, "outputs": outputs,
            "records_per_s": Int(Double(inputs.count) / max(seconds, 1e-9)),
            "trades_per_s": Int(Double(trades) / max(seconds, 1e-9)),
            "audit_clean": fresh.ledger.audit().isClean,
        ]
        return built
    }
}
