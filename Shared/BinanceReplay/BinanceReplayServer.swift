import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import MarketDataCore

/// Serves a recorded Binance session over Binance-compatible endpoints on loopback, so ingestion
/// runs offline and in tests against real frames:
///
/// - WebSocket `/stream?streams=a/b/c` (combined frames) and `/ws/a/b` (raw frames): every
///   connection replays the capture's frames of the requested streams from the start, paced by
///   the recorded times divided by `speed` (0: as fast as possible), then stays open.
/// - REST `/api/v3/ping`, `/api/v3/time`, `/api/v3/exchangeInfo` (recorded body),
///   `/api/v3/depth?symbol=&limit=`: the recorded snapshot advanced by every diff sent so far,
///   with `X-MBX-USED-WEIGHT-1M` and Binance's 429 body when a fault says so.
public struct BinanceReplayServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Replay speed: 1 is real time, 10 ten times faster, 0 as fast as the socket takes them.
        public var speed: Double
        public var faults: ReplayFaults

        public init(host: String = "127.0.0.1", port: Int = 0, speed: Double = 0, faults: ReplayFaults = .none) {
            self.host = host
            self.port = port
            self.speed = speed
            self.faults = faults
        }
    }

    let capture: BinanceCapture
    let configuration: Configuration
    let state: ReplayState
    let logger: Logger
    /// Per capture frame: its symbol and index among that symbol's depth diffs (nil for other streams).
    let depthIndex: [(symbol: String, index: Int)?]

    public init(capture: BinanceCapture, configuration: Configuration, logger: Logger) {
        self.capture = capture
        self.configuration = configuration
        self.logger = logger
        self.state = ReplayState(capture: capture, faults: configuration.faults)
        var counters: [String: Int] = [:]
        self.depthIndex = capture.frames.map { frame in
            guard frame.stream.contains("@depth") else { return nil }
            let symbol = String(frame.stream.prefix { $0 != "@" }).uppercased()
            let index = counters[symbol, default: 0]
            counters[symbol] = index + 1
            return (symbol, index)
        }
    }

    /// What has been served so far.
    public var statistics: ReplayStatistics { state.statistics }

    /// Runs until cancelled; `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router()
        addRoutes(to: router)
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 22))) { request, _, _ in
                guard let streams = Self.requestedStreams(path: request.path ?? "") else { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, _ in
                    try await self.serve(streams: streams.streams, combined: streams.combined, inbound: inbound, outbound: outbound)
                }
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("binance replay listening", metadata: [
                    "exchange.replay.url": "http://\(configuration.host):\(port)", "exchange.replay.frames": "\(capture.frames.count)",
                ])
                await onListening(port)
            },
            logger: logger)
        try await app.runService(gracefulShutdownSignals: [])
    }

    /// `/stream?streams=a/b` -> (["a","b"], combined) ; `/ws/a/b` -> (["a","b"], raw).
    static func requestedStreams(path: String) -> (streams: Set<String>, combined: Bool)? {
        if path.hasPrefix("/stream") {
            guard let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return ([], true) }
            for pair in query.split(separator: "&") where pair.hasPrefix("streams=") {
                let list = pair.dropFirst("streams=".count).removingPercentEncoding ?? String(pair.dropFirst("streams=".count))
                return (Set(list.split(separator: "/").map(normalize)), true)
            }
            return ([], true)
        }
        if path.hasPrefix("/ws") {
            let rest = path.dropFirst(3).split(separator: "?").first ?? ""
            return (Set(rest.split(separator: "/").map(normalize)), false)
        }
        return nil
    }

    /// Symbols in stream names are case-insensitive, the stream type is not ("@bookTicker").
    static func normalize(_ stream: Substring) -> String {
        guard let at = stream.firstIndex(of: "@") else { return stream.lowercased() }
        return stream[..<at].lowercased() + stream[at...]
    }

    static func wants(_ requested: Set<String>, stream: String) -> Bool {
        if requested.contains(stream) { return true }
        // "<s>@depth" (1000 ms) is served from the recorded "<s>@depth@100ms".
        if stream.hasSuffix("@100ms"), requested.contains(String(stream.dropLast(6))) { return true }
        return false
    }

    func serve(
        streams: Set<String>, combined: Bool, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async throws {
        let connection = state.connectionOpened()
        let firstConnection = connection == 1
        let faults = configuration.faults
        let clock = ContinuousClock()
        let start = clock.now
        let firstTime = capture.frames.first?.timeMicros ?? 0
        var sent = 0
        for (index, frame) in capture.frames.enumerated() where Self.wants(streams, stream: frame.stream) {
            if configuration.speed > 0 {
                let offset = Double(frame.timeMicros - firstTime) / configuration.speed
                try await clock.sleep(until: start.advanced(by: .microseconds(Int64(offset))))
            }
            if let depth = depthIndex[index] {
                state.advance(symbol: depth.symbol, through: depth.index)
                if firstConnection, depth.symbol == faults.gapSymbol, depth.index == faults.gapFrame {
                    logger.info("replay fault: leaving out a depth diff", metadata: ["exchange.symbol": "\(depth.symbol)"])
                    continue
                }
            }
            if firstConnection, let limit = faults.dropConnectionAfter, sent >= limit {
                logger.info("replay fault: dropping the connection", metadata: ["exchange.replay.sent": "\(sent)"])
                return
            }
            try await outbound.write(.text(combined ? frame.combined : frame.data))
            state.frameSent()
            sent += 1
        }
        // Live streams do not end: answer requests (SUBSCRIBE, LIST_SUBSCRIPTIONS) until the client leaves.
        for try await message in inbound.messages(maxSize: 1 << 16) {
            guard case .text(let text) = message else { continue }
            if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let id = object["id"] {
                try await outbound.write(.text("{\"result\":null,\"id\":\(id)}"))
            }
        }
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/v3/ping") { _, _ in self.json("{}", weight: 1) }
        router.get("/api/v3/time") { _, _ in
            self.json("{\"serverTime\":\(Int64(Date().timeIntervalSince1970 * 1000))}", weight: 1)
        }
        router.get("/api/v3/exchangeInfo") { _, _ in
            guard let body = self.capture.body(path: "/api/v3/exchangeInfo") else {
                return self.json("{\"timezone\":\"UTC\",\"serverTime\":0,\"rateLimits\":[],\"exchangeFilters\":[],\"symbols\":[]}", weight: 20)
            }
            return self.json(body, weight: 20)
        }
        router.get("/api/v3/depth") { request, _ in
            let symbol = request.uri.queryParameters.get("symbol") ?? ""
            let limit = min(max(Int(request.uri.queryParameters.get("limit") ?? "100") ?? 100, 1), 5000)
            let weight = limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250
            guard !symbol.isEmpty else {
                return self.error(status: .badRequest, code: -1102, message: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
            }
            let admitted = self.state.admitRequest(weight: weight, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
            if admitted.limited { return self.rateLimited(usedWeight: admitted.usedWeight) }
            guard let snapshot = self.state.snapshot(symbol: symbol.uppercased(), limit: limit) else {
                return self.error(status: .badRequest, code: -1121, message: "Invalid symbol.")
            }
            return self.response(snapshot.json(), usedWeight: admitted.usedWeight)
        }
    }

    func json(_ body: String, weight: Int) -> Response {
        let admitted = state.admitRequest(weight: weight, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        if admitted.limited { return rateLimited(usedWeight: admitted.usedWeight) }
        return response(body, usedWeight: admitted.usedWeight)
    }

    func response(_ body: String, status: HTTPResponse.Status = .ok, usedWeight: Int, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json;charset=UTF-8"]
        headers[HTTPField.Name("X-MBX-USED-WEIGHT-1M")!] = "\(usedWeight)"
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func rateLimited(usedWeight: Int) -> Response {
        response(
            "{\"code\":-1003,\"msg\":\"Too many requests; current limit of IP(127.0.0.1) request weight per minute is 6000. Please use WebSocket Streams for live updates to avoid polling the API.\"}",
            status: .tooManyRequests, usedWeight: usedWeight, extra: [.retryAfter: "1"])
    }

    func error(status: HTTPResponse.Status, code: Int, message: String) -> Response {
        response("{\"code\":\(code),\"msg\":\"\(message)\"}", status: status, usedWeight: 0)
    }
}
