import ArgumentParser
import ExchangeProtocol
import Foundation
import Histogram
import Messaging
import ServiceKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `exchange bench api --rate R --duration S`: the whole stack under an open-loop order flow.
/// Starts `exchange up --demo` as a child process (its own data dir and ports; on `kafka-mock` the
/// event log is a librdkafka mock cluster living in this process), waits until the demo users can
/// trade, then sends signed POST /api/v3/order (newOrderRespType=FULL, so each answer waits for
/// matching) at a fixed arrival rate: request i is due at start + i/R, whichever keep-alive
/// connection is free sends it, and its latency runs from that due time to the last byte of the
/// answer, so a stalled server or client adds to the latency instead of thinning the load
/// (no coordinated omission).
struct BenchAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Open-loop signed POST /api/v3/order (FULL) against exchange up --demo: rate, errors, latency (JSON).")

    @Option(help: "Orders per second (arrival rate, fixed in advance).")
    var rate: Int = 1000

    @Option(help: "Seconds of load.")
    var duration: Double = 10

    @Option(help: "Event log of the stack: redis (the stack's redis-server) or kafka-mock (librdkafka mock cluster, 3 brokers).")
    var backend: BenchEventLogCommand.Backend = .redis

    @Option(help: "Keep-alive HTTP connections, each on its own thread, one request in flight each (enough that they do not cap the rate: rate x latency).")
    var connections: Int = 256

    @Option(help: "Symbol catalogue passed to exchange up.")
    var symbols: String = "deploy/symbols.json"

    @Option(help: "Port offset for the stack (default: a free one).")
    var portsOffset: Int?

    @Option(help: "Seconds to wait for the stack and the demo users.")
    var startupTimeout: Double = 180

    @Flag(help: "Keep the stack's data dir (logs) after the run.")
    var keepData = false

    func validate() throws {
        guard rate > 0, duration > 0, connections > 0 else { throw ValidationError("--rate, --duration and --connections must be positive") }
    }

    func run() async throws {
        LoggingSetup.bootstrap(format: .text, level: .warning)
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-api-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let offset = try portsOffset ?? Self.freeOffset()
        let restPort = DefaultPorts.orderRouterAPI + offset

        var cluster: KafkaMockCluster?
        var eventLog = "redis"
        var setup = "exchange up --demo (event log: Redis Streams on redis-server with AOF appendfsync always; projections, Pub/Sub, rate limits: a second redis-server, also appendfsync always)"
        if backend == .kafkaMock {
            let mock = try KafkaMockCluster(brokers: 3)
            // The mock brokers do not answer CreateTopics: the catalogue is made here, as
            // `exchange kafka-mock --create-topics` does, and `up` finds it in place.
            for topic in Topics.all {
                try mock.createTopic(name: topic.name, partitions: topic.defaultPartitions, replicationFactor: 3)
            }
            cluster = mock
            eventLog = "kafka://\(mock.bootstrapServers)"
            setup = "exchange up --demo --event-log kafka://<librdkafka mock cluster, 3 brokers, replication 3, in the bench process> (redis-server for state/reply channels)"
        }

        // Binance's per-account order limits (100 per 10 s) would answer nearly everything with
        // 429; the benchmark measures the path, so the router's limits are raised (every request
        // still runs the rate-limit scripts in Redis).
        var environment = ProcessInfo.processInfo.environment
        for name in ["REQUEST_WEIGHT_PER_MINUTE", "RAW_REQUESTS_PER_5M", "ORDERS_PER_10S", "ORDERS_PER_DAY"] {
            environment["EXCHANGE_LIMIT_\(name)"] = String(Int.max / 4)
        }
        let symbolsPath = URL(fileURLWithPath: symbols).standardizedFileURL.path
        let stackStarted = ContinuousClock.now
        let pid = try Spawn.launch(
            executable: executable,
            arguments: ["up", "--demo", "--data-dir", dataDir, "--ports-offset", String(offset), "--event-log", eventLog, "--symbols", symbolsPath],
            environment: environment, logFile: "\(dataDir)/up.log")

        let result: [String: Any]
        do {
            let users = try await Self.waitForStack(
                dataDir: dataDir, restPort: restPort, offset: offset, timeout: .seconds(startupTimeout))
            let stackSeconds = (ContinuousClock.now - stackStarted).seconds
            let load = LoadRun(port: restPort, rate: rate, duration: duration, connections: connections, users: users)
            let outcome = try await load.run()
            result = outcome.json(load: load, backend: backend.rawValue, setup: setup, stackSeconds: stackSeconds)
        } catch {
            await Self.stop(pid)
            writeLine("bench api failed; the stack's logs are in \(dataDir)")
            withExtendedLifetime(cluster) {}
            throw error
        }
        await Self.stop(pid)
        withExtendedLifetime(cluster) {}
        if keepData {
            var kept = result
            kept["data_dir"] = dataDir
            try printJSON(kept)
        } else {
            try? FileManager.default.removeItem(atPath: dataDir)
            try printJSON(result)
        }
    }

    /// Demo credentials as `exchange up --demo` writes them.
    struct DemoUser: Sendable {
        var userID: UInt64
        var apiKey: String
        var secret: [UInt8]
    }

    /// Waits for demo-credentials.json, GET /api/v3/ping, every service's readiness, and each
    /// demo user's signed GET /api/v3/account showing USDT and BTC (the deposits applied).
    static func waitForStack(dataDir: String, restPort: Int, offset: Int, timeout: Duration) async throws -> [DemoUser] {
        let deadline = ContinuousClock.now + timeout
        func check(_ what: String) throws {
            if ContinuousClock.now > deadline {
                throw ValidationError("the stack was not ready within \(timeout) (\(what)); see \(dataDir)/logs and \(dataDir)/up.log")
            }
        }
        var users: [DemoUser] = []
        while users.count < 2 {
            try check("demo-credentials.json")
            if let data = FileManager.default.contents(atPath: "\(dataDir)/demo-credentials.json"),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let list = object["users"] as? [[String: Any]]
            {
                users = list.compactMap { entry in
                    guard let id = (entry["userId"] as? NSNumber)?.uint64Value, let key = entry["apiKey"] as? String,
                        let secret = entry["secretKey"] as? String
                    else { return nil }
                    return DemoUser(userID: id, apiKey: key, secret: Array(secret.utf8))
                }
            }
            if users.count < 2 { try await Task.sleep(for: .milliseconds(200)) }
        }
        while await HTTPProbe.status(host: "127.0.0.1", port: restPort, path: "/api/v3/ping") != 200 {
            try check("GET /api/v3/ping")
            try await Task.sleep(for: .milliseconds(200))
        }
        for service in UpCommand.services(offset: offset) {
            while !(await ReadinessReporter.isReady(port: service.adminPort)) {
                try check("\(service.name) /health/ready")
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        for user in users {
            while !(try await onThread { Self.funded(user, port: restPort) }) {
                try check("user \(user.userID) funded")
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        return users
    }

    /// Whether the user's account answers with free USDT and BTC.
    static func funded(_ user: DemoUser, port: Int) -> Bool {
        guard let connection = try? LoopbackHTTPConnection(port: port) else { return false }
        let params = "timestamp=\(Int64(Date().timeIntervalSince1970 * 1000))"
        let request = LoopbackHTTPConnection.signedRequest(
            method: "GET", path: "/api/v3/account", params: params, apiKey: user.apiKey, secret: user.secret)
        guard let response = try? connection.exchange(request), response.status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let balances = object["balances"] as? [[String: Any]]
        else { return false }
        func free(_ asset: String) -> Double {
            balances.first { $0["asset"] as? String == asset }.flatMap { ($0["free"] as? String).flatMap(Double.init) } ?? 0
        }
        return free("USDT") > 0 && free("BTC") > 0
    }

    /// SIGINT to `exchange up` (it stops its services in order), SIGKILL after 60 s.
    static func stop(_ pid: pid_t) async {
        kill(pid, SIGINT)
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = await Spawn.waitForExit(pid)
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return false
            }
            if let first = await group.next(), !first {
                writeLine("exchange up (pid \(pid)) did not stop within 60 s; killing it")
                kill(pid, SIGKILL)
            }
            group.cancelAll()
            await group.waitForAll()
        }
    }

    /// An offset (a multiple of 100 from 10,000 to 40,000) at which every port of the stack is free.
    static func freeOffset() throws -> Int {
        let base = [DefaultPorts.eventLogRedis, DefaultPorts.projectionsRedis, DefaultPorts.orderRouterAPI, DefaultPorts.notifierWebSocket] + UpCommand.services(offset: 0).map(\.adminPort)
        for _ in 0..<200 {
            let offset = Int.random(in: 100...400) * 100
            if base.allSatisfy({ isFree($0 + offset) }) { return offset }
        }
        throw ValidationError("no free port offset found; pass --ports-offset")
    }

    static func isFree(_ port: Int) -> Bool {
        LoopbackSocket.with(port: port) { fd, address, length in bind(fd, address, length) == 0 } ?? false
    }
}

/// Runs blocking work on a thread of its own (off the cooperative pool).
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// The open-loop order flow and what it measured.
struct LoadRun: Sendable {
    let port: Int
    let rate: Int
    let duration: Double
    let connections: Int
    let users: [BenchAPICommand.DemoUser]

    var total: Int { Int(Double(rate) * duration) }
    /// Requests still unsent this long after the end of the schedule are abandoned (and reported).
    static let drainSeconds: Double = 30

    static let method = """
        open loop: request i is due at start + i/rate (schedule fixed in advance); the first free of N keep-alive \
        HTTP/1.1 connections (one thread each, one request in flight) sends it, at its due time or as soon as it is free; \
        latency = last response byte - due time (HdrHistogram, us resolution), so queueing behind a slow answer counts. \
        Orders: signed (HMAC-SHA256) POST /api/v3/order, BTCUSDT, newOrderRespType=FULL (the answer waits for matching), \
        in pairs alternating the two demo users and sides: a GTC LIMIT maker at 19975.00-19999.99 (buy) or 20000.01-20025.00 \
        (sell), qty 0.001-0.010, then an IOC LIMIT taker of the other user at 19950/20050 for twice the qty, which crosses \
        whatever rests and expires the rest, so the book and the users' balances stay bounded. Router rate limits raised for \
        the run (still evaluated in Redis on every request). achieved_rate = responses / (last response - start). Requests \
        still unsent 30 s after the schedule ends are abandoned: counted in abandoned_unsent, not in the latency histogram \
        (whose percentiles then understate the overload).
        """

    /// Order i: pair k = i / 2, maker first; over four pairs each user buys and sells as maker and taker once.
    func params(_ i: Int, timestampMs: Int64) -> (user: BenchAPICommand.DemoUser, params: String) {
        let k = i / 2
        let maker = i % 2 == 0
        let cycle = k % 4
        let makerUser = cycle < 2 ? 0 : 1
        let makerBuys = cycle % 2 == 0
        let user = users[maker ? makerUser : 1 - makerUser]
        let buy = maker ? makerBuys : !makerBuys
        let lots = 100 + (k % 10) * 100  // 0.001-0.010 BTC in steps of 0.00001
        let quantity = maker ? lots : 2 * lots
        let price: Int  // cents
        if maker {
            let step = (k * 7) % 2500
            price = buy ? 1_999_999 - step : 2_000_001 + step
        } else {
            price = buy ? 2_005_000 : 1_995_000
        }
        let qtyText = "\(quantity / 100_000).\(String(format: "%05d", quantity % 100_000))"
        let priceText = "\(price / 100).\(String(format: "%02d", price % 100))"
        let params = "symbol=BTCUSDT&side=\(buy ? "BUY" : "SELL")&type=LIMIT&timeInForce=\(maker ? "GTC" : "IOC")"
            + "&quantity=\(qtyText)&price=\(priceText)&newOrderRespType=FULL&timestamp=\(timestampMs)"
        return (user, params)
    }

    /// What one connection measured.
    struct Tally: @unchecked Sendable {
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var sendLag = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var sent = 0
        var ok = 0
        var errors: [String: Int] = [:]
        var orderStatus: [String: Int] = [:]
        var withFills = 0
        var abandoned = 0
        var lastResponseNs: UInt64 = 0

        mutating func merge(_ other: Tally) {
            latency.add(other.latency)
            sendLag.add(other.sendLag)
            sent += other.sent
            ok += other.ok
            errors.merge(other.errors, uniquingKeysWith: +)
            orderStatus.merge(other.orderStatus, uniquingKeysWith: +)
            withFills += other.withFills
            abandoned += other.abandoned
            lastResponseNs = max(lastResponseNs, other.lastResponseNs)
        }
    }

    final class Dispenser: Sendable {
        let next = Atomic<Int>(0)
    }

    struct Outcome {
        var tally: Tally
        var startNs: UInt64

        func json(load: LoadRun, backend: String, setup: String, stackSeconds: Double) -> [String: Any] {
            let responses = tally.ok + tally.errors.values.reduce(0, +)
            let seconds = Double(tally.lastResponseNs &- startNs) / 1e9
            func ms(_ us: UInt64) -> Double { (Double(us) / 1000 * 1000).rounded() / 1000 }
            return [
                "benchmark": "api", "backend": backend, "endpoint": "POST /api/v3/order (HMAC-SHA256, newOrderRespType=FULL)",
                "target_rate_per_s": load.rate, "duration_s": load.duration, "connections": load.connections,
                "achieved_rate_per_s": seconds > 0 ? Int(Double(responses) / seconds) : 0,
                "requests_scheduled": load.total, "requests_sent": tally.sent, "abandoned_unsent": tally.abandoned,
                "ok_responses": tally.ok, "error_responses": responses - tally.ok, "errors_by_code": tally.errors,
                "ok_order_status": tally.orderStatus, "ok_with_fills": tally.withFills,
                "latency_ms": [
                    "p50": ms(tally.latency.valueAtPercentile(50)), "p90": ms(tally.latency.valueAtPercentile(90)),
                    "p99": ms(tally.latency.valueAtPercentile(99)), "p999": ms(tally.latency.valueAtPercentile(99.9)),
                    "max": ms(tally.latency.max),
                ],
                "send_lag_ms": [
                    "p50": ms(tally.sendLag.valueAtPercentile(50)), "p99": ms(tally.sendLag.valueAtPercentile(99)),
                    "max": ms(tally.sendLag.max),
                ],
                "stack_start_s": (stackSeconds * 10).rounded() / 10,
                "method": LoadRun.method, "setup": setup,
            ]
        }
    }

    static func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func run() async throws -> Outcome {
        let dispenser = Dispenser()
        // Connections are opened before the clock starts.
        var opened: [UncheckedConnection] = []
        for _ in 0..<connections { opened.append(UncheckedConnection(try LoopbackHTTPConnection(port: port))) }
        let startNs = Self.nowNs() + 50_000_000
        let tally = try await withThrowingTaskGroup(of: Tally.self) { group in
            for connection in opened {
                group.addTask {
                    try await onThread { self.worker(connection, dispenser: dispenser, startNs: startNs) }
                }
            }
            var all = Tally()
            for try await part in group { all.merge(part) }
            return all
        }
        return Outcome(tally: tally, startNs: startNs)
    }

    /// One connection: takes the next due request, waits for its due time, sends it, reads the answer.
    func worker(_ holder: UncheckedConnection, dispenser: Dispenser, startNs: UInt64) -> Tally {
        var tally = Tally()
        var connection: LoopbackHTTPConnection? = holder.connection
        let intervalNs = 1e9 / Double(rate)
        let abandonAt = startNs + UInt64((duration + Self.drainSeconds) * 1e9)
        while true {
            let i = dispenser.next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= total { break }
            let due = startNs + UInt64(Double(i) * intervalNs)
            var now = Self.nowNs()
            if due > now {
                let wait = due - now
                var pause = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
                var remaining = timespec()
                while nanosleep(&pause, &remaining) != 0 && errno == EINTR { pause = remaining }
                now = Self.nowNs()
            }
            if now > abandonAt {
                tally.abandoned += 1
                continue
            }
            _ = tally.sendLag.record((now &- due) / 1000)
            let order = params(i, timestampMs: Int64(Date().timeIntervalSince1970 * 1000))
            let request = LoopbackHTTPConnection.signedRequest(
                method: "POST", path: "/api/v3/order", params: order.params, apiKey: order.user.apiKey, secret: order.user.secret)
            tally.sent += 1
            do {
                if connection == nil { connection = try LoopbackHTTPConnection(port: port) }
                let response = try connection!.exchange(request)
                if response.status == 200 {
                    tally.ok += 1
                    tally.orderStatus[Self.stringField("status", in: response.body) ?? "?", default: 0] += 1
                    if LoopbackHTTPConnection.find(response.body, Self.fillsNonEmpty) != nil { tally.withFills += 1 }
                } else {
                    tally.errors["HTTP \(response.status) code \(Self.intField("code", in: response.body).map(String.init) ?? "?")", default: 0] += 1
                }
            } catch {
                connection = nil
                tally.errors["transport: \(error)", default: 0] += 1
            }
            let done = Self.nowNs()
            _ = tally.latency.record((done &- due) / 1000)
            tally.lastResponseNs = max(tally.lastResponseNs, done)
        }
        return tally
    }

    static let fillsNonEmpty = Array("\"fills\":[{".utf8)

    /// The first `"name":"value"` in a JSON body (the top-level order status comes before `fills`).
    static func stringField(_ name: String, in body: [UInt8]) -> String? {
        let key = Array("\"\(name)\":\"".utf8)
        guard let at = LoopbackHTTPConnection.find(body, key) else { return nil }
        let rest = body[(at + key.count)...]
        guard let end = rest.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: rest[..<end], as: UTF8.self)
    }

    /// The first `"name":<integer>` in a JSON body (Binance's error `code`).
    static func intField(_ name: String, in body: [UInt8]) -> Int? {
        let key = Array("\"\(name)\":".utf8)
        guard let at = LoopbackHTTPConnection.find(body, key) else { return nil }
        let digits = body[(at + key.count)...].prefix { $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}

/// A connection handed to exactly one worker thread.
struct UncheckedConnection: @unchecked Sendable {
    let connection: LoopbackHTTPConnection
    init(_ connection: LoopbackHTTPConnection) { self.connection = connection }
}
