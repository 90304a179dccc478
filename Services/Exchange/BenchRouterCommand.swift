import ArgumentParser
import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Hummingbird
import Logging
import Messaging
import OrderRouterCore
import ServiceKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `exchange bench router`: signed POST /api/v3/order/test over loopback HTTP against the real
/// router (Hummingbird, HMAC verification, Redis rate limits, key/account lookups, filters) on a
/// private redis-server. Closed loop: `--connections` keep-alive clients, each sending its next
/// request when the previous answer arrived; latency is request write to last response byte.
struct BenchRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router", abstract: "Signed POST /api/v3/order/test requests/s and latency over loopback (JSON).")

    @Option(help: "Requests in total.") var requests: Int = 20_000
    @Option(help: "Concurrent keep-alive connections.") var connections: Int = 8

    func run() async throws {
        let redis = try await PrivateRedis.start()
        let redisConfiguration = RedisConfiguration(host: "127.0.0.1", port: redis.port)
        let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: redisConfiguration))
        let master = try MasterKey(bytes: Array(repeating: 9, count: 32))
        let apiKey = "benchKey"
        let secret = Array("bench-secret".utf8)
        let seed = RedisClient(configuration: redisConfiguration)
        var key = Exchange_V1_ApiKeyAdmin()
        key.userID = 1
        key.apiKey = apiKey
        key.keyType = .hmac
        key.encryptedSecret = Data(try SecretBox.seal(secret, apiKey: apiKey, with: master))
        key.permitTrade = true
        var account = Exchange_V1_AccountAdmin()
        account.userID = 1
        account.canTrade = true
        account.makerCommissionRate = 100_000
        account.takerCommissionRate = 100_000
        try await seed.send(["SET", RedisArgument(RedisNames.apiKey(apiKey)), RedisArgument(bytes: try key.serializedBytes())]).throwingOnError()
        try await seed.send(["SET", RedisArgument(RedisNames.account(userID: 1)), RedisArgument(bytes: try account.serializedBytes())]).throwingOnError()
        await seed.close()

        var limits = RateLimits()
        // The benchmark measures the path, not the limit: every request still runs both scripts.
        limits.requestWeightPerMinute = Int.max / 4
        limits.rawRequestsPer5Minutes = Int.max / 4
        let catalog = try SymbolCatalog.load(path: "deploy/symbols.json")
        let pool = RedisPool(configuration: redisConfiguration, size: 8)
        var logger = Logger(label: "bench-router")
        logger.logLevel = .warning
        let api = try OrderRouterAPI(
            configuration: RouterConfiguration(instance: "bench-router", nodeID: 1, limits: limits), catalog: catalog,
            redis: pool, producer: try await log.makeProducer(), masterKey: master, logger: logger)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = RouterHTTPServer.make(api: api, host: "127.0.0.1", port: 0, logger: logger, onListening: { portContinuation.yield($0) })

        let measured: Measurement = try await withThrowingTaskGroup(of: Measurement?.self) { group in
            group.addTask {
                try await app.run()
                return nil
            }
            var ports = portStream.makeAsyncIterator()
            guard let port = await ports.next() else { throw ValidationError("server did not start") }
            let total = requests
            let perConnection = max(1, total / connections)
            let clock = ContinuousClock()
            let started = clock.now
            let samples = try await withThrowingTaskGroup(of: ([Duration], Int).self) { clients in
                for c in 0..<connections {
                    clients.addTask {
                        try await Self.runConnection(port: port, count: perConnection, apiKey: apiKey, secret: secret, seed: c)
                    }
                }
                var all: [Duration] = []
                var errors = 0
                for try await (latencies, failed) in clients {
                    all += latencies
                    errors += failed
                }
                return (all, errors)
            }
            let elapsed = clock.now - started
            group.cancelAll()
            return Measurement(latencies: samples.0.sorted(), errors: samples.1, elapsed: elapsed)
        }
        let sorted = measured.latencies
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
            return (sorted[max(0, index)].seconds * 1_000_000).rounded() / 1000
        }
        let samples = (0, measured.errors)
        let elapsed = measured.elapsed
        let result: [String: Any] = [
                "benchmark": "router", "endpoint": "POST /api/v3/order/test (HMAC-SHA256 signed)",
                "requests": sorted.count, "connections": connections, "errors": samples.1,
                "requests_per_s": Int(Double(sorted.count) / elapsed.seconds),
                "latency_ms": ["p50": percentile(0.50), "p99": percentile(0.99), "p999": percentile(0.999), "max": percentile(1.0)],
                "setup": "closed loop, keep-alive HTTP/1.1 over loopback, router in-process with its own redis-server (AOF fsync always); clients sign on the same machine",
            ]
        await pool.close()
        await log.shutdown()
        await redis.stop()
        try printJSON(result)
    }

    struct Measurement: Sendable {
        var latencies: [Duration]
        var errors: Int
        var elapsed: Duration
    }

    /// One blocking keep-alive connection on its own thread (off the cooperative pool).
    static func runConnection(port: Int, count: Int, apiKey: String, secret: [UInt8], seed: Int) async throws -> ([Duration], Int) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try blockingConnection(port: port, count: count, apiKey: apiKey, secret: secret, seed: seed) })
            }
            thread.start()
        }
    }

    static func blockingConnection(port: Int, count: Int, apiKey: String, secret: [UInt8], seed: Int) throws -> ([Duration], Int) {
        let connection = try LoopbackHTTPConnection(port: port)
        var latencies: [Duration] = []
        latencies.reserveCapacity(count)
        var errors = 0
        let clock = ContinuousClock()
        for i in 0..<count {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let params = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00100&price=\(50_000 + (i + seed) % 100).00&timestamp=\(now)"
            let request = LoopbackHTTPConnection.signedRequest(
                method: "POST", path: "/api/v3/order/test", params: params, apiKey: apiKey, secret: secret)
            let start = clock.now
            let response = try connection.exchange(request)
            if response.status != 200 { errors += 1 }
            latencies.append(clock.now - start)
        }
        return (latencies, errors)
    }
}
