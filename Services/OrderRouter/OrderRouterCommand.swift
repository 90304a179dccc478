import ArgumentParser
import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Hummingbird
import Logging
import Messaging
import OrderRouterCore
import ServiceKit
import ServiceLifecycle

/// `order-router`: the public Binance Spot REST API (`Shared/OrderRouterCore`): signed requests,
/// rate limits in Redis, symbol filters, orders appended to `orders.requests`, outcomes from this
/// instance's reply channel.
@main
struct OrderRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order-router", abstract: "Public Binance Spot REST API (/api/v3/*); appends orders.requests.")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("api-host"), help: "REST API host (EXCHANGE_API_HOST, default 127.0.0.1)")
    var apiHost: String?

    @Option(name: .customLong("api-port"), help: "REST API port (EXCHANGE_API_PORT, default 8080)")
    var apiPort: Int?

    @Option(name: .customLong("symbols"), help: "Symbol catalogue JSON (EXCHANGE_SYMBOLS, default deploy/symbols.json)")
    var symbols: String?

    @Option(name: .customLong("node-id"), help: "Order-id node 0...1023, unique per router (EXCHANGE_ROUTER_NODE_ID; default: the instance name's trailing number)")
    var nodeID: UInt64?

    @Option(name: .customLong("outcome-timeout-ms"), help: "How long RESULT/FULL wait before -1007 (default 10000)")
    var outcomeTimeoutMs: Int = 10_000

    func run() async throws {
        let configuration = try options.resolve(service: "order-router", defaultAdminPort: DefaultPorts.orderRouterAdmin)
        let api = try ListenAddress.resolve(
            host: apiHost, port: apiPort, environmentPrefix: "EXCHANGE_API", defaultPort: DefaultPorts.orderRouterAPI)
        let environment = ProcessInfo.processInfo.environment
        let path = symbols ?? environment["EXCHANGE_SYMBOLS"] ?? "deploy/symbols.json"
        let catalog = try SymbolCatalog.load(path: path)
        let exchangeFilters = try ExchangeFiltersFile.load(path: path)
        let node = nodeID ?? environment["EXCHANGE_ROUTER_NODE_ID"].flatMap { UInt64($0) }
            ?? RouterConfiguration.nodeID(forInstance: configuration.instance)
        guard node < 1024 else { throw ValidationError("--node-id must be 0...1023") }
        let masterKey = try MasterKey.fromEnvironment()
        // Binance's limits by default; a load test raises them (EXCHANGE_LIMIT_REQUEST_WEIGHT_PER_MINUTE,
        // EXCHANGE_LIMIT_RAW_REQUESTS_PER_5M, EXCHANGE_LIMIT_ORDERS_PER_10S, EXCHANGE_LIMIT_ORDERS_PER_DAY).
        var limits = RateLimits()
        func limit(_ name: String, _ value: inout Int) {
            if let text = environment["EXCHANGE_LIMIT_\(name)"], let parsed = Int(text), parsed > 0 { value = parsed }
        }
        limit("REQUEST_WEIGHT_PER_MINUTE", &limits.requestWeightPerMinute)
        limit("RAW_REQUESTS_PER_5M", &limits.rawRequestsPer5Minutes)
        limit("ORDERS_PER_10S", &limits.ordersPer10Seconds)
        limit("ORDERS_PER_DAY", &limits.ordersPerDay)
        let routerConfiguration = RouterConfiguration(
            instance: configuration.instance, nodeID: node, limits: limits, outcomeTimeout: .milliseconds(outcomeTimeoutMs))
        let redisConfiguration = RedisConfiguration(host: configuration.redis.host, port: configuration.redis.port)
        try await StandardService.run(
            configuration, inputs: [Topics.ledgerEvents], processor: RecordTally.self,
            extra: { context in
                if masterKey == nil {
                    context.logger.warning("no EXCHANGE_MASTER_KEY / EXCHANGE_MASTER_KEY_FILE: HMAC keys cannot be verified (Ed25519 and RSA keys work)")
                }
                let producer = try await context.eventLog.makeProducer()
                let pool = RedisPool(configuration: redisConfiguration, size: 8)
                let router = try OrderRouterAPI(
                    configuration: routerConfiguration, catalog: catalog, exchangeFilters: exchangeFilters, redis: pool,
                    producer: producer, masterKey: masterKey, logger: context.logger)
                let replies = ReplyListener(
                    waiter: router.waiter, channel: router.replyChannel, redis: redisConfiguration, logger: context.logger)
                context.logger.info("order router ready", metadata: [
                    "exchange.symbols": "\(catalog.symbols.count)", "exchange.node": "\(node)", "exchange.reply": "\(router.replyChannel)",
                ])
                return [replies, RouterHTTPServer.make(api: router, host: api.host, port: api.port, logger: context.logger)]
            })
    }
}

/// Feeds the reply channel's `RequestOutcome`s to the waiting requests.
struct ReplyListener: Service {
    let waiter: OutcomeWaiter
    let channel: String
    let redis: RedisConfiguration
    let logger: Logger

    func run() async throws {
        let subscriber = RedisSubscriber(configuration: redis, channels: [channel], bufferSize: 65_536, logger: logger)
        await cancelWhenGracefulShutdown {
            await waiter.run(subscriber: subscriber, logger: logger)
        }
        subscriber.close()
    }
}
