import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Messaging
import NIOCore
import NIOPosix
import NIOWebSocket
import NotifierCore
import OrderRouterCore
import ServiceLifecycle
import Synchronization

/// What one notifier instance needs; `port` 0 picks a free one (tests, the benchmark).
public struct NotifierConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var redis: RedisConfiguration
    public var limits: ConnectionLimits
    /// Opens sealed HMAC secrets for `session.logon` / `userDataStream.subscribe.signature`;
    /// without it only Ed25519 and RSA keys log on.
    public var masterKey: MasterKey?
    /// Every symbol of the catalogue (`!miniTicker@arr` subscribes to all their ticker channels).
    public var symbols: [String]
    /// How often a legacy user stream checks that its listenKey still exists.
    public var listenKeyCheckInterval: Duration
    /// Event loop threads serving the connections; nil: NIO's shared group (one per core).
    public var eventLoops: Int?
    /// Called with the bound port once the edge listens.
    public var onListening: (@Sendable (Int) async -> Void)?

    public init(
        host: String = "127.0.0.1", port: Int = 8090, redis: RedisConfiguration, limits: ConnectionLimits = ConnectionLimits(),
        masterKey: MasterKey? = nil, symbols: [String] = [], listenKeyCheckInterval: Duration = .seconds(30),
        eventLoops: Int? = nil, onListening: (@Sendable (Int) async -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.redis = redis
        self.limits = limits
        self.masterKey = masterKey
        self.symbols = symbols
        self.listenKeyCheckInterval = listenKeyCheckInterval
        self.eventLoops = eventLoops
        self.onListening = onListening
    }
}

/// The WebSocket edge: market streams (`/ws`, `/ws/<streams>`, `/stream?streams=`), legacy user
/// data (`/ws/<listenKey>`) and the WebSocket API (`/ws-api/v3`), relaying Redis Pub/Sub through
/// one `NotifierHub`. Runs until graceful shutdown, which first sends every client `serverShutdown`.
public struct NotifierServer: Service {
    let configuration: NotifierConfiguration
    let logger: Logger
    public let hub: NotifierHub
    let subscriber: ChannelSubscriber
    let redis: RedisPool
    let store: ProjectionStore
    let authenticator: Authenticator
    let connectionLimiter: Locked<ConnectionRateLimiter>

    public init(configuration: NotifierConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        subscriber = ChannelSubscriber(configuration: configuration.redis, logger: logger)
        hub = NotifierHub(subscriber: subscriber, allSymbols: configuration.symbols, logger: logger)
        redis = RedisPool(configuration: configuration.redis, size: 4, label: "notifier")
        store = ProjectionStore(redis: redis)
        authenticator = Authenticator(store: store, masterKey: configuration.masterKey)
        connectionLimiter = Locked(ConnectionRateLimiter(
            limit: configuration.limits.connectionsPerWindow, windowMs: configuration.limits.connectionWindowMs))
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    public func run() async throws {
        let hub = hub
        let ownGroup = configuration.eventLoops.map { MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)) }
        defer { ownGroup?.shutdownGracefully { _ in } }
        let group: any EventLoopGroup = ownGroup ?? MultiThreadedEventLoopGroup.singleton
        // Pub/Sub on one of the connections' loops: its fan-out writes that loop's frames at once.
        subscriber.start(on: group.next()) { channel, payload in hub.deliver(channel: channel, payload: payload) }
        let router = Router()
        router.get("/health") { _, _ in Response(status: .ok) }
        let limits = configuration.limits
        let onListening = configuration.onListening
        let host = configuration.host
        let logger = logger
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(configuration: .init(ws: .init(
                maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: limits.pingInterval)))) { request, channel, _ in
                    try await self.upgrade(request, channel: channel)
                },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("WebSocket edge listening", metadata: ["exchange.ws": "ws://\(host):\(port)"])
                await onListening?(port)
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
        let services = ServiceGroup(
            services: [app, HubTicker(hub: hub), SnapshotFetcher(hub: hub, store: store, redis: redis, logger: logger), ShutdownNotice(hub: hub)],
            gracefulShutdownSignals: [], logger: logger)
        do {
            try await services.run()
        } catch {
            await subscriber.stop()
            await redis.close()
            throw error
        }
        await subscriber.stop()
        await redis.close()
    }

    // MARK: Upgrade

    typealias Handler = WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>

    func upgrade(_ request: HTTPRequest, channel: any Channel) async throws -> ShouldUpgradeResult<Handler> {
        let remote = channel.remoteAddress
        let full = request.path ?? "/"
        let pathPart = String(full.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let query = full.contains("?") ? String(full[full.index(after: full.firstIndex(of: "?")!)...]) : ""
        let ip = remote?.ipAddress ?? "unknown"
        guard connectionLimiter.withLock({ $0.admit(ip: ip, nowMs: Self.nowMs()) }) else {
            logger.info("connection refused: too many from this IP", metadata: ["exchange.ip": "\(ip)"])
            return .dontUpgrade
        }
        if pathPart == "/ws-api/v3" {
            return .upgrade([:]) { inbound, outbound, _ in
                try await self.serveAPI(inbound: inbound, outbound: outbound, channel: channel, ip: ip)
            }
        }
        if pathPart == "/stream" || pathPart == "/stream/" {
            var names: [String] = []
            for pair in query.split(separator: "&") where pair.hasPrefix("streams=") {
                let list = String(pair.dropFirst("streams=".count))
                names = (list.removingPercentEncoding ?? list).split(separator: "/").map(String.init)
            }
            guard let streams = Self.streams(names) else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in
                try await self.serveStreams(initial: streams, combined: true, user: nil, inbound: inbound, outbound: outbound, channel: channel)
            }
        }
        guard pathPart == "/ws" || pathPart.hasPrefix("/ws/") else { return .dontUpgrade }
        let names = pathPart.dropFirst(3).split(separator: "/").map(String.init)
        if names.count == 1, MarketStream(name: names[0]) == nil {
            // Not a stream name: a legacy user-data stream's listenKey.
            let key = names[0]
            guard let user = try await store.listenKeyUser(key) else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in
                try await self.serveStreams(initial: [], combined: false, user: (key, user), inbound: inbound, outbound: outbound, channel: channel)
            }
        }
        guard let streams = Self.streams(names) else { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, _ in
            try await self.serveStreams(initial: streams, combined: false, user: nil, inbound: inbound, outbound: outbound, channel: channel)
        }
    }

    /// The distinct streams named, in order; nil when one is not a stream or there are too many.
    static func streams(_ names: [String]) -> [MarketStream]? {
        var out: [MarketStream] = []
        for name in names {
            guard let s = MarketStream(name: name) else { return nil }
            if !out.contains(s) { out.append(s) }
        }
        return out
    }

    // MARK: Connection plumbing

    static func closeCode(_ reason: ClientConnection.CloseReason) -> WebSocketErrorCode {
        switch reason {
        case .slowConsumer, .tooManyMessages: return .policyViolation
        case .lifetime, .serverShutdown, .pingTimeout: return .goingAway
        case .listenKeyExpired, .peerClosed, .sessionEnded: return .normalClosure
        }
    }

    /// Serves the connection until it closes, alongside `reader` and the lifetime timer; its
    /// frames are written by the channel's event loop (`ClientConnection.attach`), this only
    /// sends the close frame at the end.
    func run(_ connection: ClientConnection, outbound: WebSocketOutboundWriter, channel: any Channel,
             reader: @escaping @Sendable () async throws -> Void,
             extra: (@Sendable () async throws -> Void)? = nil) async throws {
        let lifetime = configuration.limits.lifetime
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await reader()
                connection.close(.peerClosed)
            }
            group.addTask {
                try await Task.sleep(for: lifetime)
                connection.close(.lifetime)
            }
            if let extra { group.addTask { try await extra() } }
            defer { group.cancelAll() }
            await connection.waitClosed()
            if let reason = connection.closing, reason != .peerClosed {
                try? await outbound.close(Self.closeCode(reason), reason: reason.reason)
            }
        }
    }

    // MARK: Market streams and legacy user data

    final class StreamList: Sendable {
        let streams: Locked<[MarketStream]>
        init(_ initial: [MarketStream]) { streams = Locked(initial) }
    }

    func serveStreams(
        initial: [MarketStream], combined: Bool, user: (key: String, id: UInt64)?,
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel
    ) async throws {
        let limits = configuration.limits
        let connection = ClientConnection(combined: combined, capacity: limits.outboundBuffer)
        // Frames go from the fan-out straight onto the event loop (`run` then only waits for the close).
        connection.attach(channel)
        let list = StreamList(Array(initial.prefix(limits.streamsPerConnection)))
        hub.open(connection)
        hub.subscribe(connection, to: list.streams.withLock { $0 })
        if let user {
            hub.subscribe(connection, user: user.id, subscriptionID: nil)
            await hub.waitSubscribed(user: user.id)
        }
        defer {
            hub.closed(connection, streams: list.streams.withLock { $0 }, users: user.map { [($0.id, nil)] } ?? [])
        }
        let hub = hub
        let store = store
        let checkInterval = configuration.listenKeyCheckInterval
        var listenKeyWatch: (@Sendable () async throws -> Void)?
        if let user {
            listenKeyWatch = {
                while true {
                    try await Task.sleep(for: checkInterval)
                    if (try? await store.listenKeyUser(user.key)) == nil {
                        connection.send(UserPayloads.listenKeyExpired(listenKey: user.key, eventTime: Self.nowMs()))
                        connection.close(.listenKeyExpired)
                        return
                    }
                }
            }
        }
        try await run(connection, outbound: outbound, channel: channel, reader: {
            var limiter = MessageRateLimiter(limit: limits.messagesPerSecond)
            for try await message in inbound.messages(maxSize: 1 << 16) {
                guard limiter.admit(nowMs: Self.nowMs()) else {
                    connection.close(.tooManyMessages)
                    return
                }
                guard case .text(let text) = message else { continue }
                await Self.handleControl(text, connection: connection, list: list, hub: hub, limit: limits.streamsPerConnection)
            }
        }, extra: listenKeyWatch)
    }

    static func handleControl(_ text: String, connection: ClientConnection, list: StreamList, hub: NotifierHub, limit: Int) async {
        switch StreamControl.parse(text) {
        case .subscribe(let id, let streams):
            let added = list.streams.withLock { current -> [MarketStream]? in
                let fresh = streams.reduce(into: [MarketStream]()) { acc, s in
                    if !current.contains(s) && !acc.contains(s) { acc.append(s) }
                }
                guard current.count + fresh.count <= limit else { return nil }
                current += fresh
                return fresh
            }
            guard let added else {
                connection.send(StreamControl.errorReply(code: 2, msg: "Invalid request: too many streams (max \(limit))", id: id))
                return
            }
            hub.subscribe(connection, to: added)
            // The reply means "subscribed": Redis has the channels, nothing published after it is missed.
            await hub.waitSubscribed(streams)
            connection.send(StreamControl.result("null", id: id))
        case .unsubscribe(let id, let streams):
            let removed = list.streams.withLock { current -> [MarketStream] in
                let gone = current.filter { streams.contains($0) }
                current.removeAll { streams.contains($0) }
                return gone
            }
            hub.unsubscribe(connection, from: removed)
            connection.send(StreamControl.result("null", id: id))
        case .list(let id):
            connection.send(StreamControl.result(StreamControl.list(list.streams.withLock { $0 }), id: id))
        case .setCombined(let id, let flag):
            connection.combined = flag
            connection.send(StreamControl.result("null", id: id))
        case .getCombined(let id):
            connection.send(StreamControl.result(connection.combined ? "true" : "false", id: id))
        case .error(let id, let code, let msg):
            connection.send(StreamControl.errorReply(code: code, msg: msg, id: id))
        }
    }
}

/// Flushes depth windows, partial depth and `!miniTicker@arr` every 100 ms.
struct HubTicker: Service {
    let hub: NotifierHub

    func run() async throws {
        // Graceful shutdown cancels the loop; that is its normal end, not an error.
        try? await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var next = clock.now
            while !Task.isCancelled {
                next = next.advanced(by: .milliseconds(100))
                try await clock.sleep(until: next)
                hub.tick()
            }
        }
    }
}

/// Reads the latest depth snapshot from Redis for local books that need one: `mdDepth:<SYMBOL>`
/// (venue-binance symbols, an `MdDepthSnapshot`), else `depth:<SYMBOL>` (internal books, a
/// `BookDelta` snapshot). Without either the book waits for an `MdDepthSnapshot` on the channel;
/// it retries every second meanwhile.
struct SnapshotFetcher: Service {
    let hub: NotifierHub
    let store: ProjectionStore
    let redis: RedisPool
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            for await symbol in hub.snapshotRequests {
                await fetch(symbol)
            }
        }
    }

    func fetch(_ symbol: String) async {
        for attempt in 0..<3600 {
            guard hub.bookIsWaiting(symbol) else { return }
            if attempt > 0 { try? await Task.sleep(for: .seconds(1)) }
            guard !Task.isCancelled else { return }
            do {
                let reply = try await redis.next().send(["GET", RedisArgument(RedisNames.marketDepth(symbol: symbol))]).throwingOnError()
                if let bytes = reply.bytes, let snap = try? Exchange_V1_MdDepthSnapshot(fastSerializedBytes: bytes) {
                    hub.loadSnapshot(symbol: symbol, lastUpdateID: snap.lastUpdateID, bids: snap.bids, asks: snap.asks)
                } else if let book = try await store.depth(symbol: symbol) {
                    hub.loadSnapshot(symbol: symbol, lastUpdateID: book.lastUpdateID, bids: book.bids, asks: book.asks)
                }
            } catch {
                logger.warning("depth snapshot read failed: \(error)", metadata: ["exchange.symbol": "\(symbol)"])
            }
        }
    }
}

/// On graceful shutdown, before the server stops: `serverShutdown` to every client, then their
/// close frames, waiting up to 2 s for the queues to drain.
struct ShutdownNotice: Service {
    let hub: NotifierHub

    func run() async throws {
        try? await gracefulShutdown()
        hub.shutdownAll(nowMs: NotifierServer.nowMs())
        for _ in 0..<40 where hub.connectionCount > 0 {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
