import ExchangeProtocol
import ExchangeSecurity
import ExchangeTestSupport
import Foundation
import Logging
import Messaging
import Synchronization

@testable import OrderRouterCore

/// A router on a private redis-server (Redis Streams event log, projections, Pub/Sub) with a
/// controllable clock, and the keys of a seeded user.
///
/// `respond` installs a MOCK of the ledger and matching for the router's own tests: it reads
/// `orders.requests` from the event log and publishes the `RequestOutcome` the closure returns on
/// the request's reply channel, exactly where the real services publish. Projections are seeded
/// directly into Redis as the ledger would write them. Nothing here is the real ledger.
final class RouterHarness: Sendable {
    static let apiKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    static let secret = Array("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".utf8)
    static let userID: UInt64 = 42
    /// 2026-09-21T14:13:20Z in µs.
    static let start: Int64 = 1_790_000_000_000_000

    let server: RedisTestServer
    let log: RedisStreamsEventLog
    let redis: RedisClient
    let pool: RedisPool
    let master: MasterKey
    let api: OrderRouterAPI
    let clock: TestClock
    let subscriber: RedisSubscriber
    private let tasks = Mutex<[Task<Void, Never>]>([])

    private init(server: RedisTestServer, log: RedisStreamsEventLog, redis: RedisClient, pool: RedisPool, master: MasterKey,
                 api: OrderRouterAPI, clock: TestClock, subscriber: RedisSubscriber) {
        self.server = server
        self.log = log
        self.redis = redis
        self.pool = pool
        self.master = master
        self.api = api
        self.clock = clock
        self.subscriber = subscriber
    }

    static func symbolsCatalog() -> SymbolCatalog {
        var lot = SymbolFilter(filterType: "LOT_SIZE")
        lot.minQty = "0.00001000"; lot.maxQty = "9000.00000000"; lot.stepSize = "0.00001000"
        var price = SymbolFilter(filterType: "PRICE_FILTER")
        price.minPrice = "0.01000000"; price.maxPrice = "1000000.00000000"; price.tickSize = "0.01000000"
        var notional = SymbolFilter(filterType: "NOTIONAL")
        notional.minNotional = "5.00000000"; notional.applyMinToMarket = true; notional.maxNotional = "9000000.00000000"
        notional.applyMaxToMarket = false; notional.avgPriceMins = 5
        var percent = SymbolFilter(filterType: "PERCENT_PRICE")
        percent.multiplierUp = "5"; percent.multiplierDown = "0.2"; percent.avgPriceMins = 5
        var maxOrders = SymbolFilter(filterType: "MAX_NUM_ORDERS")
        maxOrders.maxNumOrders = 3
        return SymbolCatalog([
            SymbolConfig(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT",
                         info: SymbolExchangeInfo(filters: [price, percent, lot, notional, maxOrders])),
            SymbolConfig(symbol: "ETHBTC", status: "BREAK", baseAsset: "ETH", quoteAsset: "BTC"),
        ])
    }

    static func start(limits: RateLimits = RateLimits(), outcomeTimeout: Duration = .seconds(10)) async throws -> RouterHarness {
        let server = try await RedisTestServer.start()
        let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
        try await log.createTopics([TopicSpec(name: Topics.ordersRequests.name, partitions: 2)])
        let redis = try await RedisClient.connect(configuration: server.configuration)
        let pool = RedisPool(configuration: server.configuration, size: 2)
        let master = try MasterKey(bytes: Array(repeating: 7, count: 32))
        let clock = TestClock(start)
        let producer = try await log.makeProducer()
        let api = try OrderRouterAPI(
            configuration: RouterConfiguration(instance: "order-router-1", nodeID: 1, limits: limits, outcomeTimeout: outcomeTimeout),
            catalog: symbolsCatalog(), redis: pool, producer: producer, masterKey: master, logger: Logger(label: "test"),
            clockMicros: { clock.now() })
        let subscriber = RedisSubscriber(configuration: server.configuration, channels: [api.replyChannel])
        let harness = RouterHarness(server: server, log: log, redis: redis, pool: pool, master: master, api: api, clock: clock, subscriber: subscriber)
        let waiter = api.waiter
        harness.tasks.withLock { $0.append(Task { await waiter.run(subscriber: subscriber, logger: Logger(label: "test")) }) }
        try await harness.seedUser()
        return harness
    }

    func teardown() async {
        for task in tasks.withLock({ $0 }) { task.cancel() }
        subscriber.close()
        await redis.close()
        await pool.close()
        await log.shutdown()
        await server.teardown()
    }

    /// Runs `body` and tears down, also when it throws.
    static func with(limits: RateLimits = RateLimits(), outcomeTimeout: Duration = .seconds(10),
                     _ body: (RouterHarness) async throws -> Void) async throws {
        let harness = try await start(limits: limits, outcomeTimeout: outcomeTimeout)
        do { try await body(harness) } catch {
            await harness.teardown()
            throw error
        }
        await harness.teardown()
    }

    var nowMs: Int64 { clock.now() / 1000 }

    func advance(ms: Int64) { clock.advance(micros: ms * 1000) }

    // MARK: Seeding (as the ledger's projections would be)

    func set(_ key: String, _ message: some SwiftProtobufMessage) async throws {
        try await redis.send(["SET", RedisArgument(key), RedisArgument(bytes: try message.serializedBytes())]).throwingOnError()
    }

    func seedKey(_ apiKey: String, userID: UInt64, type: Exchange_V1_ApiKeyType = .hmac, secret: [UInt8] = RouterHarness.secret,
                 pem: String = "", trade: Bool = true, allow: [String] = []) async throws {
        var key = Exchange_V1_ApiKeyAdmin()
        key.userID = userID
        key.action = .create
        key.apiKey = apiKey
        key.keyType = type
        if type == .hmac { key.encryptedSecret = Data(try SecretBox.seal(secret, apiKey: apiKey, with: master)) }
        key.publicKeyPem = pem
        key.permitRead = true
        key.permitTrade = trade
        key.ipAllowlist = allow
        try await set(RedisNames.apiKey(apiKey), key)
    }

    func seedUser() async throws {
        try await seedKey(Self.apiKey, userID: Self.userID)
        var account = Exchange_V1_AccountAdmin()
        account.userID = Self.userID
        account.action = .create
        account.canTrade = true
        account.canWithdraw = true
        account.canDeposit = true
        account.makerCommissionRate = 100_000  // 0.001
        account.takerCommissionRate = 100_000
        account.accountType = "SPOT"
        account.time = 1_699_999_999_000
        try await set(RedisNames.account(userID: Self.userID), account)
        for (asset, free, locked) in [("BTC", Int64(150_000_000), Int64(0)), ("USDT", 1_000_000_000_000, 5_000_000_000), ("ETH", 0, 0)] {
            var b = Exchange_V1_AssetBalance()
            b.asset = asset
            b.free = free
            b.locked = locked
            try await redis.send(["HSET", RedisArgument(RedisNames.balances(userID: Self.userID)), RedisArgument(asset),
                                  RedisArgument(bytes: try b.serializedBytes())]).throwingOnError()
        }
    }

    func seedOpenOrder(_ update: Exchange_V1_OrderUpdate) async throws {
        try await redis.send(["HSET", RedisArgument(RedisNames.openOrders(userID: update.userID)), RedisArgument(update.orderID),
                              RedisArgument(bytes: try update.serializedBytes())]).throwingOnError()
        try await set(RedisNames.order(userID: update.userID, orderID: update.orderID), update)
        try await redis.send(["SET", RedisArgument(RedisNames.clientOrder(userID: update.userID, symbol: update.symbol, clientOrderID: update.clientOrderID)),
                              RedisArgument(update.orderID)]).throwingOnError()
    }

    // MARK: Requests

    /// A signed request (HMAC, query string) at the harness clock.
    func signed(_ method: String, _ path: String, _ query: String, body: String = "", apiKey: String = RouterHarness.apiKey,
                secret: [UInt8] = RouterHarness.secret, ip: String = "127.0.0.1") async -> APIResponse {
        let withTime = (query.isEmpty ? "" : query + "&") + "timestamp=\(nowMs)"
        let signature = SignatureVerifier.hmacHex(payload: Array((withTime + body).utf8), secret: secret)
        return await api.handle(APIRequest(method: method, path: path, rawQuery: withTime + "&signature=\(signature)",
                                           rawBody: Array(body.utf8), headers: ["x-mbx-apikey": apiKey], clientIP: ip))
    }

    func get(_ path: String, _ query: String = "", ip: String = "127.0.0.1", headers: [String: String] = [:]) async -> APIResponse {
        await api.handle(APIRequest(method: "GET", path: path, rawQuery: query, headers: headers, clientIP: ip))
    }

    // MARK: Downstream mock (ledger + matching stand-in)

    /// Consumes `orders.requests` and publishes `reply(envelope)` (when non-nil) on its reply channel.
    func respond(_ reply: @escaping @Sendable (Exchange_V1_Envelope) -> Exchange_V1_RequestOutcome?) async throws {
        let consumer = try await log.makeConsumer(ConsumerConfiguration(groupID: "mock-downstream", topics: [Topics.ordersRequests.name]))
        let publisher = try await RedisClient.connect(configuration: server.configuration)
        tasks.withLock {
            $0.append(Task {
                while !Task.isCancelled {
                    guard let records = try? await consumer.poll(maxRecords: 100, timeout: .milliseconds(50)) else { break }
                    for record in records {
                        guard let envelope = try? EnvelopeCodec.decode(record.value), let outcome = reply(envelope) else { continue }
                        _ = try? await publisher.send(["PUBLISH", RedisArgument(envelope.replyTo), RedisArgument(bytes: try outcome.serializedBytes())])
                    }
                }
                await consumer.close()
                await publisher.close()
            })
        }
    }

    /// Every envelope appended to `orders.requests` so far.
    func requests(count: Int) async throws -> [Exchange_V1_Envelope] {
        let consumer = try await log.makeConsumer(ConsumerConfiguration(groupID: "inspect-\(UUID().uuidString)", topics: [Topics.ordersRequests.name]))
        let records = try await drain(consumer, count: count, within: .seconds(10))
        await consumer.close()
        return try records.map { try EnvelopeCodec.decode($0.value) }
    }
}

/// The router's wall clock in tests (Unix µs), moved only by the test.
final class TestClock: Sendable {
    private let value: Atomic<Int64>
    init(_ start: Int64) { value = Atomic(start) }
    func now() -> Int64 { value.load(ordering: .relaxed) }
    func advance(micros: Int64) { value.add(micros, ordering: .relaxed) }
}

import SwiftProtobuf
typealias SwiftProtobufMessage = SwiftProtobuf.Message
