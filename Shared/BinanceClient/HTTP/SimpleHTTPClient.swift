import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A response as received: status, headers (names lower-cased) and body bytes.
public struct HTTPResult: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A small HTTP/1.1 client on SwiftNIO: one connection per request (`Connection: close`), TLS
/// for https. Binance's REST calls the ingestion needs are rare (snapshots, time, exchangeInfo),
/// so pooling would buy nothing; keeping it this small keeps async-http-client out of the build.
public final class SimpleHTTPClient: Sendable {
    let group: any EventLoopGroup
    let sslContext: NIOSSLContext?

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
        self.sslContext = try? NIOSSLContext(configuration: .makeClientConfiguration())
    }

    /// Sends one request to `url` (http or https) and collects the whole response.
    public func execute(
        method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: Duration = .seconds(10)
    ) async throws -> HTTPResult {
        let target = try HTTPTarget(url)
        let sslContext = target.tls ? self.sslContext : nil
        if target.tls && sslContext == nil { throw BinanceError(.transport, "TLS is not available") }
        let timeoutAmount = TimeAmount(timeout)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeoutAmount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: target.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        } catch {
            throw BinanceError(.transport, "connect \(target.host):\(target.port): \(error)")
        }
        let promise = channel.eventLoop.makePromise(of: HTTPResult.self)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.pathAndQuery)
        head.headers.add(name: "Host", value: target.port == (target.tls ? 443 : 80) ? target.host : "\(target.host):\(target.port)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "User-Agent", value: "exchange-market-data/1")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body { head.headers.add(name: "Content-Length", value: "\(body.count)") }
        let requestHead = head
        let timer = channel.eventLoop.scheduleTask(in: timeoutAmount) {
            promise.fail(BinanceError(.timeout, "\(method) \(target.pathAndQuery) timed out"))
            channel.close(promise: nil)
        }
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
            channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
            if let body {
                channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }.get()
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }
}

struct HTTPTarget {
    var tls: Bool
    var host: String
    var port: Int
    var pathAndQuery: String

    init(_ url: String) throws {
        var rest = Substring(url)
        if rest.hasPrefix("https://") {
            tls = true
            rest = rest.dropFirst(8)
        } else if rest.hasPrefix("http://") {
            tls = false
            rest = rest.dropFirst(7)
        } else {
            throw BinanceError(.invalidRequest, "not an http(s) URL: \(url)")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        pathAndQuery = slash == rest.endIndex ? "/" : String(rest[slash...])
        if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = tls ? 443 : 80
        }
    }
}

/// Collects one response and completes the promise; the connection closes afterwards.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    let promise: EventLoopPromise<HTTPResult>
    var status = 0
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var done = false

    init(promise: EventLoopPromise<HTTPResult>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            headers = head.headers.map { ($0.name.lowercased(), $0.value) }
        case .body(var buffer):
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            done = true
            promise.succeed(HTTPResult(status: status, headers: headers, body: body))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(BinanceError(.transport, "\(error)"))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(BinanceError(.transport, "connection closed before the response ended"))
        }
        context.fireChannelInactive()
    }
}
