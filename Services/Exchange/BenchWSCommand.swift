import ArgumentParser
import ExchangeProtocol
import Foundation
import Histogram
import HummingbirdWSClient
import Logging
import Messaging
import NIOCore
import NIOPosix
import ServiceKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `exchange bench ws`: the `notifier` binary (a child process, so clients and server do not
/// share one process's file descriptors) on a private redis-server, `--clients` WebSocket
/// clients on `<symbol>@trade`, and this process publishing `MdTrade` envelopes to
/// `md.trades.<SYMBOL>` as market-data does.
///
/// Two phases: latency (`--rate` events/s for `--seconds`; each trade's id is its publish time
/// in wall-clock µs, taken just before the PUBLISH is written, so every client measures
/// publish → receive; every one of them is waited for, however late, before the next phase),
/// then throughput (publishing as fast as pipelined PUBLISHes go for `--seconds`; messages
/// delivered per second across all clients). The publisher runs on a
/// thread of its own with a blocking Redis connection, so its pacing and stamps do not wait
/// for the clients' threads.
///
/// Clients (`--client`): `nio` (default) is a minimal WebSocket client on NIO channels of its own
/// event loops (`--client-threads`): the handshake, then a frame reader that answers pings and,
/// for every text frame, checks it is a trade, parses its id, and counts it; `hummingbird` is
/// HummingbirdWSClient with a task per connection decoding every message into a String. The
/// load generator shares the cores with the server, so its cost shows in the result; either
/// way every delivered message is parsed and counted, and each client checks that the ids it
/// receives only increase (nothing reordered or duplicated) and the totals are compared with
/// what was published (nothing lost).
struct BenchWSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws", abstract: "WebSocket fan-out: messages delivered/s and event-to-client latency (JSON).")

    enum ClientKind: String, ExpressibleByArgument, Sendable {
        case nio
        case hummingbird
    }

    @Option(help: "Concurrent WebSocket clients.") var clients: Int = 1000
    @Option(help: "Events per second in the latency phase.") var rate: Int = 1000
    @Option(help: "Seconds per phase.") var seconds: Double = 10
    @Option(help: "Symbols the clients spread over (client i takes symbol i mod N).") var symbols: Int = 1
    @Option(help: "Directory of the notifier executable (default: next to this one).") var binDir: String?
    @Option(help: "Client implementation: nio (minimal frame reader) or hummingbird (HummingbirdWSClient).")
    var client: ClientKind = .nio
    @Option(help: "Event loop threads of the nio clients.") var clientThreads: Int = 1
    @Option(help: "The notifier's --event-loops (default: its own default, one per core).") var serverLoops: Int?

    static func wallMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// Trade ids above this are publish times in µs (latency phase); below, a sequence number.
    static let latencyIDFloor: Int64 = 1_000_000_000_000

    /// What one client saw since it last reported (a read's worth of frames).
    struct ClientBatch {
        var latencies: [UInt64] = []
        var throughputMessages = 0
        var outOfOrder = 0
        var malformed = 0
        var isEmpty: Bool { latencies.isEmpty && throughputMessages == 0 && outOfOrder == 0 && malformed == 0 }
    }

    /// One client's checks: ids only increase within a phase.
    struct ClientCheck {
        var lastLatencyID: Int64 = 0
        var lastThroughputID: Int64 = 0

        /// Parses the trade id of a `@trade` payload and checks its order; records into `batch`.
        mutating func record(_ payload: UnsafeRawBufferPointer, now: () -> Int64, into batch: inout ClientBatch) {
            guard let id = Self.tradeID(payload) else {
                batch.malformed += 1
                return
            }
            if id > BenchWSCommand.latencyIDFloor {
                if id <= lastLatencyID { batch.outOfOrder += 1 }
                lastLatencyID = id
                batch.latencies.append(UInt64(max(0, now() - id)))
            } else {
                if id <= lastThroughputID { batch.outOfOrder += 1 }
                lastThroughputID = id
                batch.throughputMessages += 1
            }
        }

        private static let prefix: [UInt8] = Array(#"{"e":"trade","#.utf8)

        /// The `t` member of a trade payload; nil when the payload is not a trade.
        static func tradeID(_ payload: UnsafeRawBufferPointer) -> Int64? {
            guard payload.count > prefix.count else { return nil }
            for k in 0..<prefix.count where payload[k] != prefix[k] { return nil }
            // Find `"t":` by bytes (Foundation's range(of:) cost more than the rest of the client).
            var i = prefix.count
            var matched = 0
            let pattern: (UInt8, UInt8, UInt8, UInt8) = (34, 116, 34, 58)
            while matched < 4, i < payload.count {
                let b = payload[i]
                let want = matched == 0 ? pattern.0 : matched == 1 ? pattern.1 : matched == 2 ? pattern.2 : pattern.3
                matched = b == want ? matched + 1 : (b == pattern.0 ? 1 : 0)
                i += 1
            }
            guard matched == 4 else { return nil }
            var id: Int64 = 0
            var digits = 0
            while i < payload.count, payload[i] >= 48, payload[i] <= 57 {
                id = id * 10 + Int64(payload[i] - 48)
                i += 1
                digits += 1
            }
            return digits > 0 ? id : nil
        }
    }

    /// Latency and counts, sharded so 10,000 clients do not contend on one lock.
    final class Recorder: Sendable {
        struct Shard {
            var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var latencyMessages = 0
            var throughputMessages = 0
            var outOfOrder = 0
            var malformed = 0
        }

        /// A shared counter (connections made).
        final class Tally: Sendable {
            let value = Atomic<Int>(0)
        }

        final class Box: Sendable {
            let shard = Mutex(Shard())
        }

        let shards: [Box] = (0..<64).map { _ in Box() }
        /// Trade frames received in both phases (the throughput publisher's flow control).
        let received = Atomic<Int>(0)
        /// Connections that ended after their handshake while the benchmark still ran.
        let lost = Atomic<Int>(0)
        /// Set when the benchmark starts closing its clients (their ends are not losses).
        let closing = Atomic<Bool>(false)

        func add(client: Int, _ batch: ClientBatch) {
            shards[client % shards.count].shard.withLock { s in
                for l in batch.latencies { _ = s.latency.record(l) }
                s.latencyMessages += batch.latencies.count
                s.throughputMessages += batch.throughputMessages
                s.outOfOrder += batch.outOfOrder
                s.malformed += batch.malformed
            }
            received.add(batch.latencies.count + batch.throughputMessages, ordering: .relaxed)
        }

        /// Waits until `target` trade frames were received in all, or 5 s passed without one more.
        func settle(until target: Int) async throws {
            var settled = received.load(ordering: .relaxed)
            var stalled = ContinuousClock.now
            while settled < target, ContinuousClock.now - stalled < .seconds(5) {
                try await Task.sleep(for: .milliseconds(50))
                let now = received.load(ordering: .relaxed)
                if now > settled { stalled = ContinuousClock.now }
                settled = now
            }
        }

        func totals() -> Shard {
            var total = Shard()
            for box in shards {
                box.shard.withLock { s in
                    total.latency.add(s.latency)
                    total.latencyMessages += s.latencyMessages
                    total.throughputMessages += s.throughputMessages
                    total.outOfOrder += s.outOfOrder
                    total.malformed += s.malformed
                }
            }
            return total
        }
    }

    static func trade(symbol: String, id: Int64) -> [UInt8] {
        var t = Exchange_V1_MdTrade()
        t.symbol = symbol
        t.venue = "internal"
        t.tradeID = id
        t.price = 4_200_000_000_000
        t.quantity = 100_000
        t.tradeTime = 1_700_000_000_000
        t.eventTime = 1_700_000_000_000
        var envelope = Exchange_V1_Envelope()
        envelope.schemaVersion = 1
        envelope.mdTrade = t
        return EnvelopeCodec.encode(envelope)
    }

    /// Runs blocking work (the publisher and its Redis connection) on a thread of its own.
    static func onThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = name
            thread.start()
        }
    }

    /// PUBLISH replies that count no receiver.
    static func unheard(_ replies: [RedisReply]) -> Int {
        replies.reduce(0) { n, reply in
            if case .integer(let receivers) = reply, receivers == 0 { return n + 1 }
            return n
        }
    }

    static func sleep(until deadline: ContinuousClock.Instant) {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { return }
        Thread.sleep(forTimeInterval: left.seconds)
    }

    func run() async throws {
        // Every client is one descriptor here; raise the soft limit to the hard one.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        let redis = try await PrivateRedis.start()
        let wsPort = try LoopbackPort.free()
        let adminPort = try LoopbackPort.free()
        let binDir = self.binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("bench-ws-notifier-\(wsPort).log").path
        let pid = try Spawn.launch(
            executable: "\(binDir)/notifier",
            arguments: ["--redis", redis.url, "--event-log", redis.url, "--admin-port", String(adminPort), "--ws-port", String(wsPort),
                        "--log-level", "warning", "--max-connections-per-ip", String(clients * 2 + 100),
                        "--outbound-buffer", "100000", "--data-dir", FileManager.default.temporaryDirectory.path]
                + (serverLoops.map { ["--event-loops", String($0)] } ?? []),
            environment: [:], logFile: logFile)
        defer { kill(pid, SIGKILL) }
        let symbolNames = (0..<max(1, symbols)).map { $0 == 0 ? "BTCUSDT" : "BENCH\($0)USDT" }
        let recorder = Recorder()
        let connected = Recorder.Tally()
        let publisher = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: redis.port))
        let redisConfiguration = RedisConfiguration(host: "127.0.0.1", port: redis.port)

        // Wait for the notifier to listen.
        for _ in 0..<200 {
            if (try? Socket.probe(port: wsPort)) == true { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        let clients = self.clients
        let clientsOn = (0..<symbolNames.count).map { s in (0..<clients).filter { $0 % symbolNames.count == s }.count }
        let rate = self.rate
        let seconds = self.seconds
        let paths = (0..<clients).map { "/ws/\(symbolNames[$0 % symbolNames.count].lowercased())@trade" }
        let fleet: any ClientFleet = switch client {
        case .nio: NIOClientFleet(port: wsPort, paths: paths, threads: max(1, clientThreads), recorder: recorder, connected: connected)
        case .hummingbird: HummingbirdClientFleet(port: wsPort, paths: paths, recorder: recorder, connected: connected)
        }
        let connectStart = ContinuousClock.now
        let measured = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await fleet.run() }
            while connected.value.load(ordering: .relaxed) < clients, ContinuousClock.now - connectStart < .seconds(300) {
                try await Task.sleep(for: .milliseconds(100))
            }
            let connectSeconds = (ContinuousClock.now - connectStart).seconds
            // Wait until the notifier subscribed to every channel.
            for symbol in symbolNames {
                let channel = RedisNames.marketDataChannel(topic: Topics.mdTrades.name, symbol: symbol)
                for _ in 0..<200 {
                    let reply = try await publisher.send("PUBSUB", "NUMSUB", RedisArgument(channel))
                    if (reply.array?.last?.integer ?? 0) >= 1 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            await publisher.close()
            let channels = symbolNames.map { RedisNames.marketDataChannel(topic: Topics.mdTrades.name, symbol: $0) }

            // Latency phase: each event at its due time; stamped just before its PUBLISH is written
            // (strictly increasing, so a client can check the order).
            let total = Int(Double(rate) * seconds)
            let expectedLatency = (0..<total).reduce(0) { $0 + clientsOn[$1 % symbolNames.count] }
            let latencyUnheard = try await Self.onThread("bench-publisher") { () -> Int in
                let connection = try RedisConnection(configuration: redisConfiguration)
                let start = ContinuousClock.now
                var sent = 0
                var unheard = 0
                var last: Int64 = 0
                while sent < total {
                    let elapsed = (ContinuousClock.now - start).seconds
                    let due = min(total, Int(elapsed * Double(rate)) + 1)
                    if due > sent {
                        var commands: [[RedisArgument]] = []
                        for n in sent..<due {
                            let s = n % symbolNames.count
                            last = max(Self.wallMicros(), last + 1)
                            commands.append(["PUBLISH", RedisArgument(channels[s]), RedisArgument(bytes: Self.trade(symbol: symbolNames[s], id: last))])
                        }
                        unheard += Self.unheard(try connection.pipeline(commands))
                        sent = due
                    }
                    Self.sleep(until: start.advanced(by: .seconds(Double(sent) / Double(rate))))
                }
                return unheard
            }
            // Every latency message still arrives before the throughput phase starts (until 5 s pass
            // without progress): late ones count in the latency histogram, and none is counted as
            // a throughput delivery.
            try await recorder.settle(until: expectedLatency)
            let latencyTotals = recorder.totals()

            // Throughput phase: pipelined batches as fast as they go, at most a bounded amount ahead
            // of delivery.
            let before = recorder.received.load(ordering: .relaxed)
            let lag = 50_000 * max(1, clients / 1000)
            let throughput = try await Self.onThread("bench-publisher") { () -> (published: Int, expected: Int, delivered: Int, seconds: Double, unheard: Int) in
                let connection = try RedisConnection(configuration: redisConfiguration)
                let start = ContinuousClock.now
                var published = 0
                var unheard = 0
                var expected = 0
                var seq: Int64 = 1
                while (ContinuousClock.now - start).seconds < seconds {
                    var commands: [[RedisArgument]] = []
                    for _ in 0..<200 {
                        let s = Int(seq) % symbolNames.count
                        commands.append(["PUBLISH", RedisArgument(channels[s]), RedisArgument(bytes: Self.trade(symbol: symbolNames[s], id: seq))])
                        expected += clientsOn[s]
                        seq += 1
                    }
                    unheard += Self.unheard(try connection.pipeline(commands))
                    published += commands.count
                    while recorder.received.load(ordering: .relaxed) - before < expected - lag, (ContinuousClock.now - start).seconds < seconds {
                        usleep(500)
                    }
                }
                let elapsed = (ContinuousClock.now - start).seconds
                return (published, expected, recorder.received.load(ordering: .relaxed) - before, elapsed, unheard)
            }
            // What was in flight at the end still arrives: wait for it (until 5 s pass without progress).
            try await recorder.settle(until: before + throughput.expected)
            let final = recorder.totals()
            // Connections the notifier closed during the run, by reason (before the clients close theirs).
            let lost = recorder.lost.load(ordering: .relaxed)
            var disconnects: [String: Int]?
            if let samples = await AdminMetrics.samples(port: adminPort, timeout: 10) {
                var byReason: [String: Int] = [:]
                for sample in samples where sample.series.hasPrefix("exchange_notifier_disconnects") {
                    byReason[AdminMetrics.label("reason", of: sample.series) ?? "?", default: 0] += Int(sample.value)
                }
                disconnects = byReason
            }
            group.cancelAll()
            return (connectSeconds, expectedLatency, total, latencyTotals, throughput, final, disconnects, lost, latencyUnheard + throughput.unheard)
        }
        recorder.closing.store(true, ordering: .relaxed)
        await fleet.close()
        let (connectSeconds, expectedLatency, total, latencyTotals, throughput, final, disconnects, lost, unheard) = measured
        let h = latencyTotals.latency
        let result: [String: Any] = [
            "clients": clients, "connected": connected.value.load(ordering: .relaxed), "connect_seconds": connectSeconds,
            "symbols": symbolNames.count, "client": client.rawValue,
            "latency_phase": [
                "events_per_s": rate, "seconds": seconds, "events": total,
                "expected_deliveries": expectedLatency, "deliveries": latencyTotals.latencyMessages,
                "p50_us": h.valueAtPercentile(50), "p90_us": h.valueAtPercentile(90), "p99_us": h.valueAtPercentile(99),
                "p999_us": h.valueAtPercentile(99.9), "max_us": h.max,
            ] as [String: Any],
            "throughput_phase": [
                "seconds": throughput.seconds, "events_published": throughput.published, "messages_delivered": throughput.delivered,
                "messages_per_s": Int(Double(throughput.delivered) / throughput.seconds),
                "expected_deliveries": throughput.expected, "deliveries_after_drain": final.throughputMessages,
            ] as [String: Any],
            "checks": [
                "out_of_order": final.outOfOrder, "malformed": final.malformed,
                // Published but not received by the end (after waiting until 5 s passed without progress).
                "undelivered": (expectedLatency - final.latencyMessages) + (throughput.expected - final.throughputMessages),
                // From the notifier's /metrics (exchange_notifier_disconnects) at the end, before the
                // clients close; a string when /metrics did not answer within 10 s.
                "server_disconnects_by_reason": disconnects.map { $0 as Any } ?? "unavailable: no /metrics answer",
                // Client connections that ended (after their handshake) before the benchmark closed them.
                "client_connections_lost": lost,
                // PUBLISHes that Redis delivered to no subscriber (the notifier was not subscribed then).
                "events_no_subscriber": unheard,
            ] as [String: Any],
            "setup": "notifier binary (child process) + private redis-server on loopback; \(client.rawValue) clients in this process; one machine",
        ]
        kill(pid, SIGKILL)
        _ = await Spawn.waitForExit(pid)
        await redis.stop()
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// The benchmark's clients: connects them all (retrying, a burst of connects can overflow the
/// listen backlog), counts each once its handshake is done, records every trade frame.
protocol ClientFleet: Sendable {
    /// Connects every client; returns once all are connected (or gave up) or, for clients that
    /// need a task each, when cancelled.
    func run() async
    /// Closes whatever is still open.
    func close() async
}

/// HummingbirdWSClient: one task per connection iterating its messages as Strings.
final class HummingbirdClientFleet: ClientFleet {
    let port: Int
    let paths: [String]
    let recorder: BenchWSCommand.Recorder
    let connected: BenchWSCommand.Recorder.Tally

    init(port: Int, paths: [String], recorder: BenchWSCommand.Recorder, connected: BenchWSCommand.Recorder.Tally) {
        self.port = port
        self.paths = paths
        self.recorder = recorder
        self.connected = connected
    }

    func run() async {
        var quiet = Logger(label: "bench.ws")
        quiet.logLevel = .critical
        let logger = quiet
        let (port, recorder, connected) = (port, recorder, connected)
        await withTaskGroup(of: Void.self) { group in
            for (i, path) in paths.enumerated() {
                group.addTask {
                    for attempt in 0..<20 {
                        do {
                            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", configuration: .init(maxFrameSize: 1 << 16), logger: logger) { inbound, _, _ in
                                connected.value.add(1, ordering: .relaxed)
                                var check = BenchWSCommand.ClientCheck()
                                defer { if !Task.isCancelled { recorder.lost.add(1, ordering: .relaxed) } }
                                for try await message in inbound.messages(maxSize: 1 << 16) {
                                    guard case .text(let text) = message else { continue }
                                    var batch = BenchWSCommand.ClientBatch()
                                    let done: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
                                        check.record(UnsafeRawBufferPointer(utf8), now: BenchWSCommand.wallMicros, into: &batch)
                                    }
                                    if done == nil {
                                        Array(text.utf8).withUnsafeBytes { check.record($0, now: BenchWSCommand.wallMicros, into: &batch) }
                                    }
                                    recorder.add(client: i, batch)
                                }
                            }
                            return
                        } catch {
                            if attempt == 19 || Task.isCancelled { return }
                            try? await Task.sleep(for: .milliseconds(100 + 50 * attempt))
                        }
                    }
                }
            }
        }
    }

    /// The connections end with their tasks (cancelled with the benchmark's task group).
    func close() async {}
}

/// Minimal WebSocket clients on NIO channels: the upgrade request, then frames parsed straight
/// from the socket's bytes on the client's event loop (no task, no String per message).
final class NIOClientFleet: ClientFleet {
    let port: Int
    let paths: [String]
    let recorder: BenchWSCommand.Recorder
    let connected: BenchWSCommand.Recorder.Tally
    let group: MultiThreadedEventLoopGroup
    private let channels = Mutex<[any Channel]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(port: Int, paths: [String], threads: Int, recorder: BenchWSCommand.Recorder, connected: BenchWSCommand.Recorder.Tally) {
        self.port = port
        self.paths = paths
        self.recorder = recorder
        self.connected = connected
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    func run() async {
        let (port, paths, recorder, connected, group) = (port, paths, recorder, connected, group)
        await withTaskGroup(of: Void.self) { tasks in
            // At most 256 handshakes at a time.
            var next = 0
            func add() {
                guard next < paths.count else { return }
                let i = next
                next += 1
                tasks.addTask {
                    for attempt in 0..<20 {
                        if Task.isCancelled { return }
                        do {
                            let upgraded = group.next().makePromise(of: Void.self)
                            let channel = try await ClientBootstrap(group: group)
                                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                                .channelInitializer { channel in
                                    channel.eventLoop.makeCompletedFuture {
                                        try channel.pipeline.syncOperations.addHandler(BenchWSClientHandler(
                                            client: i, path: paths[i], port: port, recorder: recorder, upgraded: upgraded))
                                    }
                                }
                                .connect(host: "127.0.0.1", port: port).get()
                            do {
                                try await upgraded.futureResult.get()
                            } catch {
                                try? await channel.close()
                                throw error
                            }
                            self.channels.withLock { $0.append(channel) }
                            connected.value.add(1, ordering: .relaxed)
                            return
                        } catch {
                            try? await Task.sleep(for: .milliseconds(100 + 50 * attempt))
                        }
                    }
                }
            }
            for _ in 0..<256 { add() }
            while await tasks.next() != nil { add() }
        }
    }

    func close() async {
        let all = channels.withLock { $0 }
        for channel in all { channel.close(promise: nil) }
        try? await group.shutdownGracefully()
    }
}

/// One benchmark connection: sends the upgrade request, checks the 101, then reads frames.
/// Text frames are trades (checked and counted, see `ClientCheck`); pings are answered (the
/// server's auto-ping closes connections that do not); a close ends it.
final class BenchWSClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let client: Int
    let path: String
    let port: Int
    let recorder: BenchWSCommand.Recorder
    let upgraded: EventLoopPromise<Void>
    private var isUpgraded = false
    private var buffer: ByteBuffer?
    private var check = BenchWSCommand.ClientCheck()
    private var batch = BenchWSCommand.ClientBatch()

    init(client: Int, path: String, port: Int, recorder: BenchWSCommand.Recorder, upgraded: EventLoopPromise<Void>) {
        self.client = client
        self.path = path
        self.port = port
        self.recorder = recorder
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isUpgraded, !recorder.closing.load(ordering: .relaxed) { recorder.lost.add(1, ordering: .relaxed) }
        upgraded.fail(ChannelError.inputClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        upgraded.fail(error)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var pending = buffer {
            buffer = nil  // keep `pending` uniquely referenced, so appending does not copy
            pending.writeBuffer(&incoming)
            incoming = pending
        }
        if !isUpgraded {
            guard let end = Self.headerEnd(incoming) else {
                buffer = incoming
                return
            }
            let head = incoming.readString(length: end) ?? ""
            guard head.hasPrefix("HTTP/1.1 101") else {
                upgraded.fail(ChannelError.inputClosed)
                context.close(promise: nil)
                return
            }
            isUpgraded = true
            upgraded.succeed()
        }
        readFrames(&incoming, context: context)
        if incoming.readableBytes > 0 {
            incoming.discardReadBytes()
            buffer = incoming
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !batch.isEmpty {
            recorder.add(client: client, batch)
            batch = BenchWSCommand.ClientBatch()
        }
        context.fireChannelReadComplete()
    }

    /// The length of the HTTP response head including its blank line; nil until it is all here.
    static func headerEnd(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { raw in
            guard raw.count >= 4 else { return nil }
            for i in 0...(raw.count - 4) where raw[i] == 13 && raw[i + 1] == 10 && raw[i + 2] == 13 && raw[i + 3] == 10 {
                return i + 4
            }
            return nil
        }
    }

    /// Reads every whole frame in `buffer` (RFC 6455 §5.2; from a server: unmasked).
    private func readFrames(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        var pings: [ByteBuffer] = []
        var closed = false
        // One receive time for every frame of this read: they arrived together.
        var receivedAt: Int64?
        let consumed = buffer.withUnsafeReadableBytes { raw -> Int in
            var i = 0
            while raw.count - i >= 2 {
                let first = raw[i]
                let second = raw[i + 1]
                var length = Int(second & 0x7F)
                var header = 2
                if length == 126 {
                    guard raw.count - i >= 4 else { break }
                    length = Int(raw[i + 2]) << 8 | Int(raw[i + 3])
                    header = 4
                } else if length == 127 {
                    guard raw.count - i >= 10 else { break }
                    length = (0..<8).reduce(0) { $0 << 8 | Int(raw[i + 2 + $1]) }
                    header = 10
                }
                if second & 0x80 != 0 { header += 4 }  // masked: not from a server; counted below
                guard raw.count - i >= header + length else { break }
                let payload = UnsafeRawBufferPointer(rebasing: raw[(i + header)..<(i + header + length)])
                switch first & 0x0F {
                case 1 where first & 0x80 != 0 && second & 0x80 == 0:
                    check.record(payload, now: {
                        if let receivedAt { return receivedAt }
                        let now = BenchWSCommand.wallMicros()
                        receivedAt = now
                        return now
                    }, into: &batch)
                case 9:
                    pings.append(ByteBuffer(bytes: payload))
                case 10:
                    break
                case 8:
                    closed = true
                default:
                    batch.malformed += 1  // fragments, binary or masked frames: the notifier sends none
                }
                i += header + length
            }
            return i
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        for ping in pings {
            // A pong echoes the ping's payload, masked as a client must (a zero key leaves it as is).
            var pong = ByteBuffer()
            pong.writeInteger(UInt8(0x8A))
            pong.writeInteger(UInt8(0x80 | ping.readableBytes))
            pong.writeInteger(UInt32(0))
            pong.writeImmutableBuffer(ping)
            context.write(wrapOutboundOut(pong), promise: nil)
        }
        if !pings.isEmpty { context.flush() }
        if closed { context.close(promise: nil) }
    }
}

/// Whether something listens on a loopback port.
enum Socket {
    static func probe(port: Int) throws -> Bool {
        LoopbackSocket.with(port: port) { fd, address, length in connect(fd, address, length) == 0 } ?? false
    }
}

/// A fresh TCP socket and the address 127.0.0.1:`port`, for a bind or connect check; the socket
/// is closed afterwards. nil when no socket could be made.
enum LoopbackSocket {
    static func with(port: Int, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool) -> Bool? {
        guard port < 65_536 else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
