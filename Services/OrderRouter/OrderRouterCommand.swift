import ArgumentParser
import ExchangeProtocol
import Foundation
import Hummingbird
import ServiceKit
import ServiceLifecycle

/// `order-router`: the public Binance REST API. The full API, signing and rate limits land with
/// issue 5; this serves the connectivity endpoints and consumes `ledger.events`.
@main
struct OrderRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order-router", abstract: "Public Binance Spot REST API (/api/v3/*); appends orders.requests.")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("api-host"), help: "REST API host (EXCHANGE_API_HOST, default 127.0.0.1)")
    var apiHost: String?

    @Option(name: .customLong("api-port"), help: "REST API port (EXCHANGE_API_PORT, default 8080)")
    var apiPort: Int?

    func run() async throws {
        let configuration = try options.resolve(service: "order-router", defaultAdminPort: DefaultPorts.orderRouterAdmin)
        let api = try ListenAddress.resolve(
            host: apiHost, port: apiPort, environmentPrefix: "EXCHANGE_API", defaultPort: DefaultPorts.orderRouterAPI)
        try await StandardService.run(
            configuration, inputs: [Topics.ledgerEvents], processor: RecordTally.self,
            extra: { context in [RestAPI.make(host: api.host, port: api.port, context: context)] })
    }
}

/// The REST API application.
enum RestAPI {
    static func make(host: String, port: Int, context: ServiceContext) -> some Service {
        let router = Router()
        // GET /api/v3/ping: weight 1, `{}`.
        router.get("/api/v3/ping") { _, _ in jsonResponse("{}") }
        // GET /api/v3/time: weight 1, `{"serverTime":1499827319559}`.
        router.get("/api/v3/time") { _, _ in jsonResponse("{\"serverTime\":\(ServiceContext.nowMs())}") }
        let logger = context.logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.info("REST API listening", metadata: ["exchange.api": "http://\(host):\(channel.localAddress?.port ?? port)"])
            },
            logger: logger)
    }

    static func jsonResponse(_ body: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json;charset=UTF-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
