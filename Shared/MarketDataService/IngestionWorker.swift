import BinanceClient
import ExchangeProtocol
import Foundation
import Logging
import MarketDataCore
import Messaging
import Metrics
import ServiceLifecycle
import Synchronization

/// Configuration of one ingestion worker.
public struct IngestionConfiguration: Sendable {
    /// REST base ("https://api.binance.com", or a replay's "http://127.0.0.1:PORT").
    public var restBaseURL: String
    /// Stream base ("wss://stream.binance.com:9443", or "ws://127.0.0.1:PORT").
    public var streamBaseURL: String
    /// Upper-case symbols this worker ingests.
    public var symbols: [String]
    /// Streams per symbol, Binance's suffixes.
    public var streamKinds: [String]
    /// `GET /api/v3/depth` limit of sync snapshots.
    public var snapshotLimit: Int
    /// Instance name (`producer` and `worker` in records).
    public var instance: String
    /// Levels per side kept in `mdDepth:<SYMBOL>`, and at most one write per symbol per interval.
    public var redisDepthLevels: Int
    public var redisDepthIntervalMs: Int64
    /// How often pending records are appended (one batch per flush).
    public var flushInterval: Duration
    /// Periodic full snapshots on md.depth.
    public var snapshotIntervalMs: Int64
    /// Publish on Redis Pub/Sub channels too.
    public var pubSub: Bool

    public init(
        restBaseURL: String = "https://api.binance.com", streamBaseURL: String = "wss://stream.binance.com:9443", symbols: [String],
        streamKinds: [String] = ["depth@100ms", "bookTicker", "aggTrade", "trade"], snapshotLimit: Int = 5000,
        instance: String = "market-data-0", redisDepthLevels: Int = 5000, redisDepthIntervalMs: Int64 = 100,
        flushInterval: Duration = .milliseconds(5), snapshotIntervalMs: Int64 = 10_000, pubSub: Bool = true
    ) {
        self.restBaseURL = restBaseURL
        self.streamBaseURL = streamBaseURL
        self.symbols = symbols.map { $0.uppercased() }
        self.streamKinds = streamKinds
        self.snapshotLimit = snapshotLimit
        self.instance = instance
        self.redisDepthLevels = redisDepthLevels
        self.redisDepthIntervalMs = redisDepthIntervalMs
        self.flushInterval = flushInterval
        self.snapshotIntervalMs = snapshotIntervalMs
        self.pubSub = pubSub
    }

    /// The combined-stream names (`nknusdt@depth@100ms`, ...).
    public var streams: [String] {
        symbols.flatMap { symbol in streamKinds.map { "\(symbol.lowercased())@\($0)" } }
    }
}

/// One ingestion worker: a combined-stream connection for its symbols, REST snapshots, the
/// `IngestionEngine`, and a flusher that appends the records in batches to `md.*`, then updates
/// Redis (latest depth, book tickers, handover watermarks) and Pub/Sub.
///
/// The engine sits behind a lock shared by the stream task, the snapshot task and the flusher;
/// every I/O runs outside it.
public final class IngestionWorker: Service, BinanceStreamHandler, @unchecked Sendable {
    // @unchecked: every mutable field is inside `state` (a Mutex) or a continuation, which are Sendable.
    struct State {
        var engine: IngestionEngine
        var output = IngestionOutput()
        var pending: [MarketDataRecord] = []
        var lastRedisDepthMs: [String: Int64] = [:]
        /// Symbols whose book changed since `mdDepth:` was last written (writes are throttled,
        /// so the last change of a burst is written on a later tick).
        var dirtyDepth: Set<String> = []
        var connections = 0
    }

    public let configuration: IngestionConfiguration
    let eventLog: any EventLog
    let redis: RedisClient?
    let logger: Logger
    let state: Mutex<State>
    let snapshotRequests: AsyncStream<String>
    let snapshotContinuation: AsyncStream<String>.Continuation
    let metrics = IngestionMetrics()
    let stopSignal: AsyncStream<Void>
    let stopContinuation: AsyncStream<Void>.Continuation

    struct Stopped: Error {}

    public init(configuration: IngestionConfiguration, eventLog: any EventLog, redis: RedisClient?, logger: Logger) {
        self.configuration = configuration
        self.eventLog = eventLog
        self.redis = redis
        var logger = logger
        logger[metadataKey: "exchange.md.worker"] = "\(configuration.instance)"
        self.logger = logger
        let engine = IngestionEngine(symbols: configuration.symbols, configuration: .init(
            worker: configuration.instance, snapshotIntervalMs: configuration.snapshotIntervalMs))
        self.state = Mutex(State(engine: engine))
        (snapshotRequests, snapshotContinuation) = AsyncStream.makeStream(of: String.self)
        (stopSignal, stopContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// Ends `run()` (a shard moved to another worker).
    public func stop() {
        stopContinuation.finish()
    }

    /// The engine's counters so far.
    public var counters: IngestionCounters { state.withLock { $0.engine.counters } }

    /// A symbol's synced book, its last update id and sync phase.
    public func book(symbol: String) -> (book: LocalBook, lastUpdateID: Int64, phase: DepthSync.Phase)? {
        state.withLock { $0.engine.book(symbol: symbol) }
    }

    public var connections: Int { state.withLock { $0.connections } }

    public func run() async throws {
        guard !configuration.symbols.isEmpty else {
            logger.info("no symbols assigned")
            return
        }
        let publisher = try await MarketDataPublisher.make(producerName: configuration.instance, eventLog: eventLog)
        let producer = try await eventLog.makeProducer()
        await inheritWatermarks()
        let rest = BinanceRESTClient(configuration: .init(baseURL: configuration.restBaseURL), logger: logger)
        let stream = BinanceStreamClient(
            configuration: .init(baseURL: configuration.streamBaseURL, streams: configuration.streams), logger: logger)
        logger.info("ingesting", metadata: ["exchange.md.symbols": "\(configuration.symbols.count)", "exchange.md.upstream": "\(configuration.streamBaseURL)"])
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await stream.run(handler: self) }
                    group.addTask { await self.fetchSnapshots(rest: rest) }
                    group.addTask { try await self.flushLoop(producer: producer, publisher: publisher) }
                    group.addTask {
                        for await _ in self.stopSignal {}
                        throw Stopped()
                    }
                }
            }
        } catch is Stopped {
            logger.info("ingestion stopped", metadata: ["exchange.md.symbols": "\(configuration.symbols)"])
        } catch is CancellationError {
        }
        snapshotContinuation.finish()
        await producer.close()
    }

    // MARK: Stream callbacks

    public func connected(number: Int) {
        let requests: [String] = state.withLock { state in
            state.connections = number
            guard number > 1 else { return [] }
            // A new connection may have missed diffs: every book starts over.
            state.output.removeAll()
            state.engine.resetAll(reason: .reconnect, nowMs: Self.nowMs(), into: &state.output)
            state.pending.append(contentsOf: state.output.records)
            return state.output.snapshotRequests
        }
        for symbol in requests { snapshotContinuation.yield(symbol) }
        logger.info("upstream connected", metadata: ["exchange.connection": "\(number)"])
    }

    public func received(_ text: String) {
        let now = Self.nowMs()
        var text = text
        let requests: [String] = text.withUTF8 { bytes in
            state.withLock { state in
                state.output.removeAll()
                state.engine.handle(bytes, nowMs: now, into: &state.output)
                if !state.output.records.isEmpty { state.pending.append(contentsOf: state.output.records) }
                return state.output.snapshotRequests
            }
        }
        for symbol in requests { snapshotContinuation.yield(symbol) }
    }

    public func disconnected(number: Int, reason: String) {
        logger.warning("upstream disconnected", metadata: ["exchange.connection": "\(number)", "reason": "\(reason)"])
    }

    // MARK: Snapshots

    func fetchSnapshots(rest: BinanceRESTClient) async {
        for await symbol in snapshotRequests {
            var body: [UInt8]?
            while body == nil && !Task.isCancelled {
                do {
                    body = try await rest.depth(symbol: symbol, limit: configuration.snapshotLimit)
                } catch {
                    logger.warning("depth snapshot failed", metadata: ["exchange.symbol": "\(symbol)", "error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            guard let body else { return }
            let now = Self.nowMs()
            let again: [String] = state.withLock { state in
                state.output.removeAll()
                state.engine.applySnapshot(symbol: symbol, body: body, nowMs: now, into: &state.output)
                state.pending.append(contentsOf: state.output.records)
                return state.output.snapshotRequests
            }
            for next in again {
                logger.info("depth snapshot refetch", metadata: ["exchange.symbol": "\(next)"])
                snapshotContinuation.yield(next)
            }
        }
    }

    // MARK: Publishing

    func flushLoop(producer: any EventProducer, publisher: MarketDataPublisher) async throws {
        var outgoing: [OutgoingRecord] = []
        var lastCounters = IngestionCounters()
        while !Task.isCancelled {
            try await Task.sleep(for: configuration.flushInterval)
            let (records, counters) = state.withLock { state -> ([MarketDataRecord], IngestionCounters) in
                let taken = state.pending
                state.pending.removeAll(keepingCapacity: true)
                return (taken, state.engine.counters)
            }
            metrics.update(from: lastCounters, to: counters)
            lastCounters = counters
            guard !records.isEmpty else {
                await updateRedis(records: [], encoded: [], nowMs: Self.nowMs())
                continue
            }
            let now = Self.nowMs()
            outgoing.removeAll(keepingCapacity: true)
            publisher.encode(records, nowMs: now, into: &outgoing)
            do {
                _ = try await producer.send(outgoing)
            } catch {
                // The records are lost for the log; the next snapshot repairs consumers' books.
                logger.error("md append failed", metadata: ["error": "\(error)", "exchange.md.records": "\(outgoing.count)"])
                metrics.appendFailures.increment()
                continue
            }
            metrics.published.increment(by: outgoing.count)
            await updateRedis(records: records, encoded: outgoing, nowMs: now)
        }
    }

    func updateRedis(records: [MarketDataRecord], encoded: [OutgoingRecord], nowMs: Int64) async {
        guard let redis else { return }
        var commands: [[RedisArgument]] = []
        var touched: Set<String> = []
        for (record, out) in zip(records, encoded) {
            touched.insert(record.symbol)
            if configuration.pubSub {
                commands.append(["PUBLISH", RedisArgument(RedisNames.marketDataChannel(topic: record.topic, symbol: record.symbol)), RedisArgument(bytes: out.value)])
            }
            if case .mdBookTicker(let ticker) = record.payload {
                commands.append(["SET", RedisArgument(RedisNames.bookTicker(symbol: record.symbol)), RedisArgument(bytes: EnvelopeCodec.encode(message: ticker))])
            }
        }
        let (depths, watermarks) = state.withLock { state -> ([(String, Exchange_V1_MdDepthSnapshot)], [(String, IngestionEngine.Watermarks)]) in
            var depths: [(String, Exchange_V1_MdDepthSnapshot)] = []
            var marks: [(String, IngestionEngine.Watermarks)] = []
            for symbol in touched {
                if let published = state.engine.published(symbol: symbol) { marks.append((symbol, published)) }
            }
            state.dirtyDepth.formUnion(touched)
            for symbol in state.dirtyDepth {
                guard nowMs - state.lastRedisDepthMs[symbol, default: .min / 2] >= configuration.redisDepthIntervalMs,
                      var snapshot = state.engine.depthSnapshot(symbol: symbol, nowMs: nowMs)
                else { continue }
                state.lastRedisDepthMs[symbol] = nowMs
                state.dirtyDepth.remove(symbol)
                if snapshot.bids.count > configuration.redisDepthLevels { snapshot.bids.removeLast(snapshot.bids.count - configuration.redisDepthLevels) }
                if snapshot.asks.count > configuration.redisDepthLevels { snapshot.asks.removeLast(snapshot.asks.count - configuration.redisDepthLevels) }
                depths.append((symbol, snapshot))
            }
            return (depths, marks)
        }
        for (symbol, snapshot) in depths {
            commands.append(["SET", RedisArgument(RedisNames.marketDepth(symbol: symbol)), RedisArgument(bytes: EnvelopeCodec.encode(message: snapshot))])
        }
        for (symbol, mark) in watermarks {
            commands.append([
                "HSET", RedisArgument(RedisNames.marketDataPublished(symbol: symbol)),
                "depth", RedisArgument(mark.depthUpdateID), "trade", RedisArgument(mark.tradeID),
                "aggTrade", RedisArgument(mark.aggTradeID), "bookTicker", RedisArgument(mark.bookTickerUpdateID),
            ])
        }
        guard !commands.isEmpty else { return }
        do {
            _ = try await redis.pipeline(commands)
        } catch {
            metrics.redisFailures.increment()
            logger.warning("md redis update failed", metadata: ["error": "\(error)"])
        }
    }

    /// Reads what earlier owners published for our symbols (handover duplicates get marked).
    func inheritWatermarks() async {
        guard let redis else { return }
        for symbol in configuration.symbols {
            guard case .array(let items)? = try? await redis.send(["HGETALL", RedisArgument(RedisNames.marketDataPublished(symbol: symbol))]),
                  !items.isEmpty
            else { continue }
            var fields: [String: Int64] = [:]
            var index = 0
            while index + 1 < items.count {
                if let name = items[index].string, let value = items[index + 1].integer { fields[name] = value }
                index += 2
            }
            let marks = IngestionEngine.Watermarks(
                depthUpdateID: fields["depth"] ?? 0, tradeID: fields["trade"] ?? 0,
                aggTradeID: fields["aggTrade"] ?? 0, bookTickerUpdateID: fields["bookTicker"] ?? 0)
            state.withLock { $0.engine.markPublished(symbol: symbol, marks) }
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// Prometheus counters of a worker (dotted names become `exchange_md_*`).
struct IngestionMetrics: Sendable {
    let frames = Counter(label: "exchange_md_frames")
    let depthApplied = Counter(label: "exchange_md_depth_applied")
    let resyncs = Counter(label: "exchange_md_resyncs")
    let parseErrors = Counter(label: "exchange_md_parse_errors")
    let unknownSymbol = Counter(label: "exchange_md_unknown_symbol")
    let duplicates = Counter(label: "exchange_md_duplicates_marked")
    let published = Counter(label: "exchange_md_records_published")
    let appendFailures = Counter(label: "exchange_md_append_failures")
    let redisFailures = Counter(label: "exchange_md_redis_failures")

    func update(from old: IngestionCounters, to new: IngestionCounters) {
        frames.increment(by: new.frames - old.frames)
        depthApplied.increment(by: new.depthApplied - old.depthApplied)
        resyncs.increment(by: new.resyncs - old.resyncs)
        parseErrors.increment(by: new.parseErrorTotal - old.parseErrorTotal)
        unknownSymbol.increment(by: new.unknownSymbol - old.unknownSymbol)
        duplicates.increment(by: new.duplicatesMarked - old.duplicatesMarked)
    }
}
