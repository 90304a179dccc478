import ArgumentParser
import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Hummingbird
import Logging
import Messaging
import NotifierCore
import NotifierService
import ServiceKit
import ServiceLifecycle

/// `notifier`: the WebSocket edge. Binance market streams, legacy user-data streams and the
/// WebSocket API's user data, relayed from Redis Pub/Sub (`md.*`, `user.*`); see `NotifierServer`.
@main
struct NotifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier", abstract: "WebSocket edge: Binance market streams and user-data streams.")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("ws-host"), help: "WebSocket host (EXCHANGE_WS_HOST, default 127.0.0.1)")
    var wsHost: String?

    @Option(name: .customLong("ws-port"), help: "WebSocket port (EXCHANGE_WS_PORT, default 8090)")
    var wsPort: Int?

    @Option(name: .customLong("symbols"), help: "Symbol catalogue JSON (EXCHANGE_SYMBOLS, default deploy/symbols.json)")
    var symbols: String?

    @Option(name: .customLong("outbound-buffer"), help: "Frames queued per connection before it is closed as a slow consumer (default 4096)")
    var outboundBuffer: Int?

    @Option(name: .customLong("event-loops"), help: "Event loop threads for the WebSocket connections (default: one per core)")
    var eventLoops: Int?

    @Option(name: .customLong("max-connections-per-ip"), help: "New connections per IP per 5 minutes (Binance: 300; benchmarks raise it)")
    var maxConnectionsPerIP: Int?

    func run() async throws {
        let configuration = try options.resolve(service: "notifier", defaultAdminPort: DefaultPorts.notifierAdmin)
        let ws = try ListenAddress.resolve(
            host: wsHost, port: wsPort, environmentPrefix: "EXCHANGE_WS", defaultPort: DefaultPorts.notifierWebSocket)
        let path = symbols ?? ProcessInfo.processInfo.environment["EXCHANGE_SYMBOLS"] ?? "deploy/symbols.json"
        // Without a catalogue the market streams still work; only `!miniTicker@arr` needs the symbol list.
        let catalog = (try? SymbolCatalog.load(path: path)) ?? SymbolCatalog([])
        let masterKey = try MasterKey.fromEnvironment()
        var limits = ConnectionLimits()
        if let outboundBuffer { limits.outboundBuffer = outboundBuffer }
        if let maxConnectionsPerIP { limits.connectionsPerWindow = maxConnectionsPerIP }
        let wsLimits = limits
        let redis = RedisConfiguration(host: configuration.redis.host, port: configuration.redis.port)
        let host = ws.host
        let port = ws.port
        try await ServiceRuntime.run(configuration) { context in
            context.logger.info("notifier catalogue", metadata: [
                "exchange.symbols": "\(catalog.symbols.count)", "exchange.hmac": "\(masterKey != nil)",
            ])
            let server = NotifierServer(
                configuration: NotifierConfiguration(
                    host: host, port: port, redis: redis, limits: wsLimits, masterKey: masterKey,
                    symbols: catalog.symbols.keys.sorted(), eventLoops: eventLoops),
                logger: context.logger)
            return [
                RedisHealthProbe(endpoint: configuration.redis, health: context.health, logger: context.logger),
                server,
            ]
        }
    }
}
