import ArgumentParser
import ExchangeProtocol
import Foundation
import Hummingbird
import Logging
import Messaging
import Metrics
import ServiceKit
import ServiceLifecycle

/// `notifier`: the WebSocket edge. Market and user-data streams land with issue 6; this listens on
/// the WebSocket port, and taps the Redis Pub/Sub channels it will fan out.
@main
struct NotifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier", abstract: "WebSocket edge: Binance market streams and user-data streams.")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("ws-host"), help: "WebSocket host (EXCHANGE_WS_HOST, default 127.0.0.1)")
    var wsHost: String?

    @Option(name: .customLong("ws-port"), help: "WebSocket port (EXCHANGE_WS_PORT, default 8090)")
    var wsPort: Int?

    func run() async throws {
        let configuration = try options.resolve(service: "notifier", defaultAdminPort: DefaultPorts.notifierAdmin)
        let ws = try ListenAddress.resolve(
            host: wsHost, port: wsPort, environmentPrefix: "EXCHANGE_WS", defaultPort: DefaultPorts.notifierWebSocket)
        let host = ws.host
        let port = ws.port
        try await ServiceRuntime.run(configuration) { context in
            let router = Router()
            router.get("/health") { _, _ in Response(status: context.health.isReady ? .ok : .serviceUnavailable) }
            let edge = Application(
                router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                onServerRunning: { channel in
                    context.logger.info("WebSocket edge listening", metadata: ["exchange.ws": "ws://\(host):\(channel.localAddress?.port ?? port)"])
                },
                logger: context.logger)
            return [
                RedisHealthProbe(endpoint: configuration.redis, health: context.health, logger: context.logger),
                PubSubTap(endpoint: configuration.redis, logger: context.logger),
                edge,
            ]
        }
    }
}

/// Subscribes to the fan-out channels (`md.*`, `user.*`) and counts what arrives per channel
/// family, so the Pub/Sub path is live and observable before the stream encoders exist.
struct PubSubTap: Service {
    let endpoint: RedisEndpoint
    let logger: Logger

    func run() async throws {
        let subscriber = RedisSubscriber(
            configuration: RedisConfiguration(host: endpoint.host, port: endpoint.port),
            patterns: ["md.*", "user.*"], logger: logger)
        try await cancelWhenGracefulShutdown {
            for await message in subscriber {
                let family = message.channel.split(separator: ".").first.map(String.init) ?? "other"
                Counter(label: "exchange.notifier.pubsub.messages", dimensions: [("family", family)]).increment()
            }
        }
        subscriber.close()
    }
}
