import Hummingbird
import Logging
import NIOCore

/// The request context: Hummingbird's core storage plus the client's address (rate limits per
/// IP, key IP allowlists).
public struct RouterRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteIP: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Binance's order bodies are small; 64 KiB is plenty and bounds what a client can make us buffer.
    public var maxUploadSize: Int { 64 * 1024 }
}

/// Serves `OrderRouterAPI` over HTTP with Hummingbird: every path goes to `api.handle`.
public enum RouterHTTPServer {
    public static func make(
        api: OrderRouterAPI, host: String, port: Int, logger: Logger, onListening: (@Sendable (Int) async -> Void)? = nil
    ) -> some ApplicationProtocol {
        let router = Router(context: RouterRequestContext.self)
        let responder: @Sendable (Request, RouterRequestContext) async throws -> Response = { request, context in
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let apiRequest = APIRequest(
                method: request.method.rawValue, path: request.uri.path, rawQuery: request.uri.query ?? "",
                rawBody: Array(buffer: body), headers: headers, clientIP: context.remoteIP)
            let answer = await api.handle(apiRequest)
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let name = HTTPFields.Element.Name(name) { fields.append(HTTPFields.Element(name: name, value: value)) }
            }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            router.on("/api/v3/**", method: method, use: responder)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.info("REST API listening", metadata: ["exchange.api": "http://\(host):\(bound)"])
                await onListening?(bound)
            },
            logger: logger)
    }
}
