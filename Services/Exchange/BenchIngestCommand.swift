import ArgumentParser
import ExchangeProtocol
import Foundation
import MarketDataCore
import MarketDataService
import Messaging

/// `exchange bench ingest`: depth frames/s parsed and applied by one ingestion engine (one
/// core), from the recorded capture at full speed, with publishing off, with records built and
/// encoded into batches, and optionally appended to an event log.
///
/// The capture has 177 depth diffs; to run millions of frames it is repeated with every
/// symbol's update ids shifted by its span per pass, so each pass continues the last one and the
/// books stay in sync (checked: the run fails if any resync happened).
struct BenchIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Depth frames/s parsed+applied (and published) per ingestion worker (JSON).")

    @Option(name: .customLong("ws-capture")) var wsCapture: String = "../shared/fixtures/binance/spot-ws-2021-10-12.txt"
    @Option(name: .customLong("rest-capture")) var restCapture: String = "../shared/fixtures/binance/spot-rest-2021-10-12.txt"
    @Option(help: "Depth frames per measurement.") var frames: Int = 2_000_000
    @Option(help: "Capture passes generated up front (frames cycle through them).") var passes: Int = 200
    @Option(help: "Records per append when publishing to a backend.") var batch: Int = 2000
    @Option(help: "Also append to an event log: none, redis (private redis-server, AOF fsync always) or kafka-mock.")
    var backend: String = "none"

    func run() async throws {
        let capture = try loadCapture(ws: wsCapture, rest: [restCapture])
        let workload = try IngestWorkload(capture: capture, passes: passes)
        var results: [[String: Any]] = []
        results.append(measureParseOnly(workload))
        results.append(try measure(workload, mode: "parse_apply", emit: false, sink: nil))
        results.append(try measure(workload, mode: "parse_apply_publish_encode", emit: true, sink: nil))
        if backend != "none" {
            guard let kind = BenchEventLogCommand.Backend(rawValue: backend) else { throw ValidationError("backend: none, redis or kafka-mock") }
            let redis = kind == .redis ? try await PrivateRedis.start() : nil
            let target = try await BenchTarget.start(kind, redis: redis ?? PrivateRedis(port: 0, stop: {}))
            try await ServiceRuntimeTopics.ensure(target.log)
            let publisher = try await MarketDataPublisher.make(producerName: "bench", eventLog: target.log)
            let producer = try await target.log.makeProducer()
            var result = try await measureAppend(workload, publisher: publisher, producer: producer)
            result["setup"] = target.setup
            results.append(result)
            await producer.close()
            await target.stop()
            await redis?.stop()
        }
        try printJSON([
            "benchmark": "ingest", "capture": wsCapture, "depth_frames_in_capture": workload.depthFramesPerPass,
            "symbols": workload.symbols, "frames_per_measurement": frames, "results": results,
        ])
    }

    func measureParseOnly(_ workload: IngestWorkload) -> [String: Any] {
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        var sink = 0
        let clock = ContinuousClock()
        var done = 0
        let elapsed = clock.measure {
            while done < frames {
                for bytes in workload.frames {
                    bytes.withUnsafeBufferPointer { buffer in
                        _ = parser.parse(buffer, into: &frame)
                        sink &+= frame.bids.count
                    }
                }
                done += workload.frames.count
            }
        }
        precondition(sink > 0)
        return ["mode": "parse_only", "frames": done, "seconds": elapsed.seconds, "frames_per_s": Int(Double(done) / elapsed.seconds)]
    }

    func measure(_ workload: IngestWorkload, mode: String, emit: Bool, sink: (([MarketDataRecord]) -> Void)?) throws -> [String: Any] {
        let publisher = MarketDataPublisher(producerName: "bench", partitions: [Topics.mdDepth.name: 8, Topics.mdTrades.name: 8, Topics.mdTickers.name: 8])
        var engine = workload.syncedEngine(emit: emit)
        var output = IngestionOutput()
        var encoded: [OutgoingRecord] = []
        var pending: [MarketDataRecord] = []
        var records = 0
        var bytesOut = 0
        var done = 0
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        while done < frames {
            let start = clock.now
            for bytes in workload.frames {
                bytes.withUnsafeBufferPointer { buffer in
                    output.records.removeAll(keepingCapacity: true)
                    engine.handle(buffer, nowMs: 1_633_998_512_000, into: &output)
                }
                if emit {
                    pending.append(contentsOf: output.records)
                    if pending.count >= batch {
                        encoded.removeAll(keepingCapacity: true)
                        publisher.encode(pending, nowMs: 1_633_998_512_000, into: &encoded)
                        records += encoded.count
                        for record in encoded { bytesOut += record.value.count }
                        pending.removeAll(keepingCapacity: true)
                    }
                }
            }
            elapsed += clock.now - start
            done += workload.frames.count
            try workload.check(engine)
            engine = workload.syncedEngine(emit: emit)  // next round starts from the snapshots again (untimed)
        }
        var result: [String: Any] = [
            "mode": mode, "frames": done, "seconds": elapsed.seconds, "frames_per_s": Int(Double(done) / elapsed.seconds),
        ]
        if emit {
            result["records_encoded"] = records
            result["bytes_encoded"] = bytesOut
            result["batch"] = batch
        }
        return result
    }

    func measureAppend(_ workload: IngestWorkload, publisher: MarketDataPublisher, producer: any EventProducer) async throws -> [String: Any] {
        var engine = workload.syncedEngine(emit: true)
        var output = IngestionOutput()
        var pending: [MarketDataRecord] = []
        var appended = 0
        var done = 0
        // Fewer frames: the log, not the engine, is the limit here.
        let target = min(frames, 300_000)
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Int.self) { group in
            var inFlight = 0
            while done < target {
                for bytes in workload.frames {
                    bytes.withUnsafeBufferPointer { buffer in
                        output.records.removeAll(keepingCapacity: true)
                        engine.handle(buffer, nowMs: 1_633_998_512_000, into: &output)
                    }
                    pending.append(contentsOf: output.records)
                    if pending.count >= batch {
                        var encoded: [OutgoingRecord] = []
                        publisher.encode(pending, nowMs: 1_633_998_512_000, into: &encoded)
                        pending.removeAll(keepingCapacity: true)
                        // Two appends in flight: the engine fills the next batch while one is written.
                        if inFlight >= 2 {
                            appended += try await group.next() ?? 0
                            inFlight -= 1
                        }
                        group.addTask { try await producer.send(encoded).count }
                        inFlight += 1
                    }
                }
                done += workload.frames.count
                if done < target {
                    try workload.check(engine)
                    engine = workload.syncedEngine(emit: true)
                }
            }
            for try await count in group { appended += count }
        }
        let elapsed = clock.now - start
        return [
            "mode": "parse_apply_publish_append", "backend": backend, "frames": done, "records_appended": appended,
            "seconds": elapsed.seconds, "frames_per_s": Int(Double(done) / elapsed.seconds), "batch": batch,
        ]
    }
}

/// The capture's depth diffs repeated `passes` times with ids shifted per pass, and the
/// snapshots that start them.
struct IngestWorkload {
    var frames: [[UInt8]] = []
    var snapshots: [(symbol: String, body: [UInt8])] = []
    var symbols: [String] = []
    var depthFramesPerPass = 0
    /// Expected final update id per symbol after all passes.
    var expectedFinal: [String: Int64] = [:]

    init(capture: BinanceCapture, passes: Int) throws {
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        var snapshotIDs: [String: Int64] = [:]
        var perSymbol: [String: [(text: String, first: Int64, final: Int64)]] = [:]
        var order: [(String, Int)] = []
        for recorded in capture.frames where recorded.stream.contains("@depth") {
            guard parser.parse(recorded.combined, into: &frame) == nil, frame.kind == .depthUpdate else { continue }
            let symbol = frame.symbol.description
            if snapshotIDs[symbol] == nil {
                guard let body = capture.depthSnapshotBody(symbol: symbol), case .success(let snapshot) = DepthSnapshot.parse(body) else { continue }
                snapshotIDs[symbol] = snapshot.lastUpdateID
                snapshots.append((symbol, Array(body.utf8)))
                symbols.append(symbol)
            }
            guard frame.finalUpdateID > snapshotIDs[symbol]! else { continue }
            perSymbol[symbol, default: []].append((recorded.combined, frame.firstUpdateID, frame.finalUpdateID))
            order.append((symbol, perSymbol[symbol]!.count - 1))
        }
        depthFramesPerPass = order.count
        var spans: [String: Int64] = [:]
        for (symbol, diffs) in perSymbol {
            // The first kept diff may straddle the snapshot id: the span runs from snapshot id + 1.
            spans[symbol] = diffs.last!.final - snapshotIDs[symbol]!
        }
        for pass in 0..<passes {
            for (symbol, index) in order {
                let diff = perSymbol[symbol]![index]
                let shift = Int64(pass) * spans[symbol]!
                var first = diff.first + shift
                if pass > 0 && index == 0 { first = snapshotIDs[symbol]! + 1 + shift }
                let text = diff.text
                    .replacingOccurrences(of: "\"U\":\(diff.first),", with: "\"U\":\(first),")
                    .replacingOccurrences(of: "\"u\":\(diff.final),", with: "\"u\":\(diff.final + shift),")
                frames.append(Array(text.utf8))
                expectedFinal[symbol] = diff.final + shift
            }
        }
    }

    func syncedEngine(emit: Bool) -> IngestionEngine {
        var engine = IngestionEngine(symbols: symbols, configuration: .init(worker: "bench", emitRecords: emit, snapshotIntervalMs: .max))
        var output = IngestionOutput()
        // Buffer one diff per symbol (step 1), then the snapshot (step 2): the engine is live.
        let parser = BinanceFrameParser()
        var frame = BinanceFrame()
        var primed: Set<String> = []
        for bytes in frames {
            guard primed.count < symbols.count else { break }
            bytes.withUnsafeBufferPointer { buffer in
                _ = parser.parse(buffer, into: &frame)
                if primed.insert(frame.symbol.description).inserted { engine.handle(buffer, nowMs: 0, into: &output) }
            }
        }
        for (symbol, body) in snapshots { engine.applySnapshot(symbol: symbol, body: body, nowMs: 0, into: &output) }
        return engine
    }

    /// Every symbol stayed in sync and reached the last id.
    func check(_ engine: IngestionEngine) throws {
        guard engine.counters.resyncs == 0, engine.counters.parseErrorTotal == 0 else {
            throw ValidationError("benchmark stream lost sync: \(engine.counters)")
        }
        for symbol in symbols {
            guard let state = engine.book(symbol: symbol), state.phase == .synced, state.lastUpdateID == expectedFinal[symbol] else {
                throw ValidationError("\(symbol) did not reach \(expectedFinal[symbol] ?? 0): \(String(describing: engine.book(symbol: symbol)?.lastUpdateID))")
            }
        }
    }
}

/// Creates the exchange's topics on a fresh benchmark log.
enum ServiceRuntimeTopics {
    static func ensure(_ log: any EventLog) async throws {
        try await log.createTopics(Topics.all.map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) })
    }
}
