import ArgumentParser
import ExchangeProtocol
import Foundation
import Histogram
import HummingbirdWSClient
import Logging
import Messaging
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
/// in wall-clock µs, so every client measures publish → receive), then throughput (publishing
/// as fast as pipelined PUBLISHes go for `--seconds`; messages delivered per second across all
/// clients).
struct BenchWSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws", abstract: "WebSocket fan-out: messages delivered/s and event-to-client latency (JSON).")

    @Option(help: "Concurrent WebSocket clients.") var clients: Int = 1000
    @Option(help: "Events per second in the latency phase.") var rate: Int = 1000
    @Option(help: "Seconds per phase.") var seconds: Double = 10
    @Option(help: "Symbols the clients spread over (client i takes symbol i mod N).") var symbols: Int = 1
    @Option(help: "Directory of the notifier executable (default: next to this one).") var binDir: String?

    static func wallMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// Latency and counts, sharded so 10,000 clients do not contend on one lock.
    final class Recorder: Sendable {
        struct Shard {
            var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var latencyMessages = 0
            var throughputMessages = 0
        }

        /// A shared counter (connections made).
        final class Tally: Sendable {
            let value = Atomic<Int>(0)
        }

        final class Box: Sendable {
            let shard = Mutex(Shard())
        }

        let shards: [Box] = (0..<64).map { _ in Box() }

        func record(client: Int, text: String) {
            // The trade id: publish time in µs (latency phase) or a small sequence number (throughput).
            var id: Int64 = 0
            var utf8 = text.utf8.makeIterator()
            // Find `"t":` by bytes (Foundation's range(of:) cost more than the rest of the client).
            var matched = 0
            let pattern: [UInt8] = [34, 116, 34, 58]
            while matched < 4, let b = utf8.next() {
                matched = b == pattern[matched] ? matched + 1 : (b == pattern[0] ? 1 : 0)
            }
            guard matched == 4 else { return }
            while let c = utf8.next(), c >= 48 && c <= 57 { id = id * 10 + Int64(c - 48) }
            let now = id > 1_000_000_000_000 ? BenchWSCommand.wallMicros() : 0
            shards[client % shards.count].shard.withLock { s in
                if id > 1_000_000_000_000 {
                    _ = s.latency.record(UInt64(max(0, now - id)))
                    s.latencyMessages += 1
                } else {
                    s.throughputMessages += 1
                }
            }
        }

        func totals() -> (latency: Histogram<UInt64>, latencyMessages: Int, throughputMessages: Int) {
            var h = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var l = 0, t = 0
            for box in shards {
                box.shard.withLock { s in
                    h.add(s.latency)
                    l += s.latencyMessages
                    t += s.throughputMessages
                }
            }
            return (h, l, t)
        }

        var received: Int { shards.reduce(0) { acc, b in acc + b.shard.withLock { $0.latencyMessages + $0.throughputMessages } } }
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

    func run() async throws {
        // Every client is one descriptor here; raise the soft limit to the hard one.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        let redis = try await PrivateRedis.start()
        let wsPort = try LoopbackPort.free()
        let binDir = self.binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("bench-ws-notifier-\(wsPort).log").path
        let pid = try Spawn.launch(
            executable: "\(binDir)/notifier",
            arguments: ["--redis", redis.url, "--event-log", redis.url, "--admin-port", "0", "--ws-port", String(wsPort),
                        "--log-level", "warning", "--max-connections-per-ip", String(clients * 2 + 100),
                        "--outbound-buffer", "100000", "--data-dir", FileManager.default.temporaryDirectory.path],
            environment: [:], logFile: logFile)
        defer { kill(pid, SIGKILL) }
        let symbolNames = (0..<max(1, symbols)).map { $0 == 0 ? "BTCUSDT" : "BENCH\($0)USDT" }
        let recorder = Recorder()
        let connected = Recorder.Tally()
        let publisher = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: redis.port))
        var quiet = Logger(label: "bench.ws")
        quiet.logLevel = .critical
        let logger = quiet

        // Wait for the notifier to listen.
        for _ in 0..<200 {
            if (try? Socket.probe(port: wsPort)) == true { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        let clients = self.clients
        let rate = self.rate
        let seconds = self.seconds
        let result: [String: Any] = try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<clients {
                let url = "ws://127.0.0.1:\(wsPort)/ws/\(symbolNames[i % symbolNames.count].lowercased())@trade"
                group.addTask {
                    // Retried: a burst of connects can overflow the listen backlog.
                    for attempt in 0..<20 {
                        do {
                            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 16), logger: logger) { inbound, _, _ in
                                connected.value.add(1, ordering: .relaxed)
                                for try await message in inbound.messages(maxSize: 1 << 16) {
                                    if case .text(let text) = message { recorder.record(client: i, text: text) }
                                }
                            }
                            return
                        } catch {
                            if attempt == 19 { return }
                            try await Task.sleep(for: .milliseconds(100 + 50 * attempt))
                        }
                    }
                }
            }
            let connectStart = ContinuousClock.now
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

            // Latency phase: paced in 1 ms ticks.
            let start = ContinuousClock.now
            var sent = 0
            let total = Int(Double(rate) * seconds)
            while sent < total {
                let elapsed = (ContinuousClock.now - start).seconds
                let due = min(total, Int(elapsed * Double(rate)) + 1)
                if due > sent {
                    var commands: [[RedisArgument]] = []
                    for n in sent..<due {
                        let symbol = symbolNames[n % symbolNames.count]
                        commands.append(["PUBLISH", RedisArgument(RedisNames.marketDataChannel(topic: Topics.mdTrades.name, symbol: symbol)),
                                         RedisArgument(bytes: Self.trade(symbol: symbol, id: Self.wallMicros()))])
                    }
                    _ = try await publisher.pipeline(commands)
                    sent = due
                }
                try await Task.sleep(for: .milliseconds(1))
            }
            try await Task.sleep(for: .seconds(1))
            let latencyTotals = recorder.totals()

            // Throughput phase: pipelined batches as fast as they go.
            let before = recorder.received
            let tStart = ContinuousClock.now
            var published = 0
            var seq: Int64 = 1
            while (ContinuousClock.now - tStart).seconds < seconds {
                var commands: [[RedisArgument]] = []
                for _ in 0..<200 {
                    let symbol = symbolNames[Int(seq) % symbolNames.count]
                    commands.append(["PUBLISH", RedisArgument(RedisNames.marketDataChannel(topic: Topics.mdTrades.name, symbol: symbol)),
                                     RedisArgument(bytes: Self.trade(symbol: symbol, id: seq))])
                    seq += 1
                }
                _ = try await publisher.pipeline(commands)
                published += commands.count
                // Keep the publisher from running unboundedly ahead of delivery.
                let expected = published * clients / symbolNames.count
                while recorder.received - before < expected - 50_000 * max(1, clients / 1000), (ContinuousClock.now - tStart).seconds < seconds {
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            let tSeconds = (ContinuousClock.now - tStart).seconds
            let delivered = recorder.received - before
            group.cancelAll()
            let h = latencyTotals.latency
            return [
                "clients": clients, "connected": connected.value.load(ordering: .relaxed), "connect_seconds": connectSeconds,
                "symbols": symbolNames.count,
                "latency_phase": [
                    "events_per_s": rate, "seconds": seconds, "events": total,
                    "expected_deliveries": total * clients / symbolNames.count, "deliveries": latencyTotals.latencyMessages,
                    "p50_us": h.valueAtPercentile(50), "p90_us": h.valueAtPercentile(90), "p99_us": h.valueAtPercentile(99),
                    "p999_us": h.valueAtPercentile(99.9), "max_us": h.max,
                ] as [String: Any],
                "throughput_phase": [
                    "seconds": tSeconds, "events_published": published, "messages_delivered": delivered,
                    "messages_per_s": Int(Double(delivered) / tSeconds),
                ] as [String: Any],
                "setup": "notifier binary (child process) + private redis-server on loopback; clients in this process; one machine",
            ]
        }
        await publisher.close()
        kill(pid, SIGKILL)
        _ = await Spawn.waitForExit(pid)
        await redis.stop()
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
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
