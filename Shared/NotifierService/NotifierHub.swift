import ExchangeProtocol
import Foundation
import Logging
import Metrics
import NIOCore
import NotifierCore
import Synchronization

/// The fan-out of one notifier instance: which connection wants which stream or user, the Redis
/// channels that takes (reference-counted: one SUBSCRIBE per channel however many clients need
/// it, UNSUBSCRIBE when the last leaves), and the per-symbol state some streams need (depth
/// windows, local books for partial depth, changed mini tickers).
///
/// Messages are rendered once per stream and the same text goes to every subscriber, so two
/// instances fed by the same channel send identical payloads. All state sits behind one lock;
/// Redis commands run after it is released.
public final class NotifierHub: Sendable {
    /// A user-data subscriber: a legacy `/ws/<listenKey>` connection, or a WebSocket API subscription.
    struct UserSink {
        let connection: ClientConnection
        /// nil: legacy (events sent bare); else wrapped as `{"subscriptionId":N,"event":..}`.
        let subscriptionID: Int?
    }

    struct State {
        var market: [MarketStream: StreamSubscribers] = [:]
        var users: [UInt64: [String: UserSink]] = [:]
        var channelRefs: [String: Int] = [:]
        var slowWindows: [String: DepthDiffWindow] = [:]
        var fastWindows: [String: DepthDiffWindow] = [:]
        var books: [String: PartialDepthBook] = [:]
        var changedMiniTickers: [String: Exchange_V1_MdTicker] = [:]
        var ticks = 0
        var connections: [Int: ClientConnection] = [:]
        var closeReasons: [ClientConnection.CloseReason: Int] = [:]
    }

    private let state = Mutex(State())
    let subscriber: ChannelSubscriber
    /// Every symbol of the catalogue (for `!miniTicker@arr`).
    let allSymbols: [String]
    /// Symbols whose local book needs the latest snapshot from Redis.
    let snapshotRequests: AsyncStream<String>
    private let snapshotContinuation: AsyncStream<String>.Continuation
    let logger: Logger

    public init(subscriber: ChannelSubscriber, allSymbols: [String], logger: Logger) {
        self.subscriber = subscriber
        self.allSymbols = allSymbols
        self.logger = logger
        (snapshotRequests, snapshotContinuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    // MARK: Connections

    /// Registers a connection (for serverShutdown).
    public func open(_ connection: ClientConnection) {
        state.withLock { $0.connections[connection.id] = connection }
    }

    /// Drops every subscription of a closed connection.
    public func closed(_ connection: ClientConnection, streams: [MarketStream], users: [(UInt64, Int?)]) {
        unsubscribe(connection, from: streams)
        for (user, sub) in users { unsubscribe(connection, user: user, subscriptionID: sub) }
        let reason = connection.closing ?? .peerClosed
        state.withLock { s in
            _ = s.connections.removeValue(forKey: connection.id)
            s.closeReasons[reason, default: 0] += 1
        }
        Counter(label: "exchange.notifier.disconnects", dimensions: [("reason", "\(reason)")]).increment()
    }

    /// Closed connections by why they closed (metrics, tests).
    public var closeReasons: [ClientConnection.CloseReason: Int] { state.withLock { $0.closeReasons } }

    /// Sends `serverShutdown` to every connection and closes them.
    public func shutdownAll(nowMs: Int64) {
        let all = state.withLock { Array($0.connections.values) }
        let payload = MarketPayloads.serverShutdown(eventTime: nowMs)
        for c in all {
            if c.isAPI {
                // The WebSocket API wraps it like its other events (binance-sdk-spot reconnects on it).
                c.send("{\"event\":\(payload)}")
            } else {
                c.send(raw: ByteBuffer(webSocketText: payload)) {
                    ByteBuffer(webSocketText: MarketPayloads.combined(stream: "serverShutdown", data: payload))
                }
            }
            c.close(.serverShutdown)
        }
    }

    /// Open connections.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    // MARK: Market subscriptions

    /// Adds `streams` for `connection` (the caller skips ones it already has).
    public func subscribe(_ connection: ClientConnection, to streams: [MarketStream]) {
        var channels: [String] = []
        var snapshots: [String] = []
        state.withLock { s in
            for stream in streams {
                let isNew = s.market[stream] == nil
                s.market[stream, default: StreamSubscribers()].insert(connection)
                guard isNew else { continue }
                for channel in stream.channels(allSymbols: allSymbols) {
                    s.channelRefs[channel, default: 0] += 1
                    if s.channelRefs[channel] == 1 { channels.append(channel) }
                }
                switch stream {
                case .depthDiff(let symbol, let fast):
                    if fast { s.fastWindows[symbol] = s.fastWindows[symbol] ?? DepthDiffWindow(symbol: symbol) }
                    else { s.slowWindows[symbol] = s.slowWindows[symbol] ?? DepthDiffWindow(symbol: symbol) }
                case .partialDepth(let symbol, _, _):
                    if s.books[symbol] == nil {
                        s.books[symbol] = PartialDepthBook(symbol: symbol)
                        snapshots.append(symbol)
                    }
                default:
                    break
                }
            }
        }
        // Subscribe before fetching the snapshot, so the diffs after it are buffered, not missed.
        subscriber.subscribe(channels)
        for symbol in snapshots { snapshotContinuation.yield(symbol) }
    }

    /// Removes `streams` of `connection`.
    public func unsubscribe(_ connection: ClientConnection, from streams: [MarketStream]) {
        var channels: [String] = []
        state.withLock { s in
            for stream in streams {
                guard var subscribers = s.market[stream], subscribers.remove(connection) else { continue }
                if !subscribers.isEmpty {
                    s.market[stream] = subscribers
                    continue
                }
                s.market[stream] = nil
                for channel in stream.channels(allSymbols: allSymbols) {
                    s.channelRefs[channel, default: 1] -= 1
                    if s.channelRefs[channel] == 0 {
                        s.channelRefs[channel] = nil
                        channels.append(channel)
                    }
                }
                switch stream {
                case .depthDiff(let symbol, let fast):
                    if s.market[.depthDiff(symbol: symbol, fast: fast)] == nil {
                        if fast { s.fastWindows[symbol] = nil } else { s.slowWindows[symbol] = nil }
                    }
                case .partialDepth(let symbol, _, _):
                    let stillNeeded = s.market.keys.contains {
                        if case .partialDepth(symbol, _, _) = $0 { return true }
                        return false
                    }
                    if !stillNeeded { s.books[symbol] = nil }
                default:
                    break
                }
            }
        }
        subscriber.unsubscribe(channels)
    }

    /// Waits until Redis confirmed every channel `streams` need (see `ChannelSubscriber.waitSubscribed`).
    public func waitSubscribed(_ streams: [MarketStream]) async {
        await subscriber.waitSubscribed(streams.flatMap { $0.channels(allSymbols: allSymbols) })
    }

    /// Waits until Redis confirmed `user`'s channel.
    public func waitSubscribed(user: UInt64) async {
        await subscriber.waitSubscribed([RedisNames.userChannel(userID: user)])
    }

    // MARK: User subscriptions

    static func sinkKey(_ connection: ClientConnection, _ subscriptionID: Int?) -> String {
        "\(connection.id):\(subscriptionID ?? -1)"
    }

    /// Relays `user`'s events to `connection` (bare when `subscriptionID` is nil, else wrapped).
    public func subscribe(_ connection: ClientConnection, user: UInt64, subscriptionID: Int?) {
        let channel = RedisNames.userChannel(userID: user)
        let first = state.withLock { s -> Bool in
            s.users[user, default: [:]][Self.sinkKey(connection, subscriptionID)] = UserSink(connection: connection, subscriptionID: subscriptionID)
            s.channelRefs[channel, default: 0] += 1
            return s.channelRefs[channel] == 1
        }
        if first { subscriber.subscribe([channel]) }
    }

    /// Stops relaying `user`'s events to that sink.
    public func unsubscribe(_ connection: ClientConnection, user: UInt64, subscriptionID: Int?) {
        let channel = RedisNames.userChannel(userID: user)
        let last = state.withLock { s -> Bool in
            guard s.users[user]?.removeValue(forKey: Self.sinkKey(connection, subscriptionID)) != nil else { return false }
            if s.users[user]?.isEmpty == true { s.users[user] = nil }
            s.channelRefs[channel, default: 1] -= 1
            guard s.channelRefs[channel] == 0 else { return false }
            s.channelRefs[channel] = nil
            return true
        }
        if last { subscriber.unsubscribe([channel]) }
    }

    /// Connections subscribed to a stream.
    public func subscribers(of stream: MarketStream) -> Int { state.withLock { $0.market[stream]?.count ?? 0 } }

    /// Reference counts per Redis channel (tests).
    public var channelReferences: [String: Int] { state.withLock { $0.channelRefs } }

    // MARK: Incoming records

    /// One Pub/Sub message (runs on the subscriber's thread).
    public func deliver(channel: String, payload: [UInt8]) {
        guard let envelope = try? Exchange_V1_Envelope(fastSerializedBytes: payload) else {
            logger.debug("undecodable Pub/Sub message", metadata: ["exchange.channel": "\(channel)"])
            return
        }
        if channel.hasPrefix("user.") {
            guard let user = UInt64(channel.dropFirst(5)) else { return }
            deliverUser(user, envelope)
        } else {
            deliverMarket(envelope)
        }
    }

    private func deliverUser(_ user: UInt64, _ envelope: Exchange_V1_Envelope) {
        let events = UserPayloads.events(envelope)
        guard !events.isEmpty else { return }
        state.withLock { s in
            guard let sinks = s.users[user] else { return }
            for sink in sinks.values {
                for event in events {
                    if let sub = sink.subscriptionID {
                        sink.connection.send(UserPayloads.wrapped(subscriptionID: sub, event: event))
                    } else {
                        sink.connection.send(event)
                    }
                }
            }
        }
    }

    /// Sends `data` to every subscriber of `stream`: rendered once, framed once per event loop
    /// (one frame for all of a loop's raw subscribers and, built at most once, one for its
    /// combined ones), handed to each loop as one broadcast that the loop queues on its own
    /// connections.
    private static func fanOut(_ s: inout State, _ stream: MarketStream, _ data: @autoclosure () -> String) {
        guard let subscribers = s.market[stream], !subscribers.isEmpty else { return }
        let text = data()
        for group in subscribers.groups {
            let raw = ByteBuffer(webSocketText: text)
            guard let outbound = group.outbound else {
                var combined = CombinedFrame(stream: stream, text: text)
                for c in group.connections { c.send(raw: raw) { combined.frame() } }
                continue
            }
            outbound.broadcast(LoopOutbound.Broadcast(frame: raw, text: text, stream: stream, connections: group.connections))
        }
    }

    private func deliverMarket(_ envelope: Exchange_V1_Envelope) {
        var snapshots: [String] = []
        state.withLock { s in
            switch envelope.payload {
            case .mdTrade(let t) where !t.duplicate:
                Self.fanOut(&s, .trade(symbol: t.symbol), MarketPayloads.trade(t))
            case .mdAggTrade(let t) where !t.duplicate:
                Self.fanOut(&s, .aggTrade(symbol: t.symbol), MarketPayloads.aggTrade(t))
            case .mdBookTicker(let t) where !t.duplicate:
                Self.fanOut(&s, .bookTicker(symbol: t.symbol), MarketPayloads.bookTicker(t))
            case .mdKline(let k) where !k.duplicate:
                Self.fanOut(&s, .kline(symbol: k.symbol, interval: k.interval), MarketPayloads.kline(k))
            case .mdTicker(let t) where t.window == "1d":
                if t.mini {
                    Self.fanOut(&s, .miniTicker(symbol: t.symbol), MarketPayloads.miniTicker(t))
                    if s.market[.allMiniTickers] != nil { s.changedMiniTickers[t.symbol] = t }
                } else {
                    Self.fanOut(&s, .ticker(symbol: t.symbol), MarketPayloads.ticker(t))
                }
            case .mdAvgPrice(let a):
                Self.fanOut(&s, .avgPrice(symbol: a.symbol), MarketPayloads.avgPrice(a))
            case .mdDepthDiff(let d) where !d.duplicate:
                if var w = s.fastWindows[d.symbol] {
                    if let closed = w.add(d) { Self.fanOut(&s, .depthDiff(symbol: d.symbol, fast: true), closed.payload) }
                    s.fastWindows[d.symbol] = w
                }
                if var w = s.slowWindows[d.symbol] {
                    if let closed = w.add(d) { Self.fanOut(&s, .depthDiff(symbol: d.symbol, fast: false), closed.payload) }
                    s.slowWindows[d.symbol] = w
                }
                if var book = s.books[d.symbol] {
                    if book.apply(d) == .needSnapshot { snapshots.append(d.symbol) }
                    s.books[d.symbol] = book
                }
            case .mdDepthSnapshot(let snap) where !snap.duplicate:
                if var book = s.books[snap.symbol] {
                    if book.load(lastUpdateID: snap.lastUpdateID, bids: snap.bids, asks: snap.asks) == .needSnapshot {
                        snapshots.append(snap.symbol)
                    }
                    s.books[snap.symbol] = book
                }
            case .mdDepthResync(let r):
                // The windows so far are consistent; send them, the next ones start after the gap.
                Self.flushWindow(&s, symbol: r.symbol, fast: true)
                Self.flushWindow(&s, symbol: r.symbol, fast: false)
                if var book = s.books[r.symbol] {
                    book.reset()
                    s.books[r.symbol] = book
                }
            default:
                break
            }
        }
        for symbol in snapshots { snapshotContinuation.yield(symbol) }
    }

    private static func flushWindow(_ s: inout State, symbol: String, fast: Bool) {
        if fast {
            guard var w = s.fastWindows[symbol], let update = w.flush() else { return }
            s.fastWindows[symbol] = w
            fanOut(&s, .depthDiff(symbol: symbol, fast: true), update.payload)
        } else {
            guard var w = s.slowWindows[symbol], let update = w.flush() else { return }
            s.slowWindows[symbol] = w
            fanOut(&s, .depthDiff(symbol: symbol, fast: false), update.payload)
        }
    }

    /// A snapshot fetched from Redis for a local book.
    public func loadSnapshot(symbol: String, lastUpdateID: Int64, bids: [Exchange_V1_PriceLevel], asks: [Exchange_V1_PriceLevel]) {
        let again = state.withLock { s -> Bool in
            guard var book = s.books[symbol] else { return false }
            let action = book.load(lastUpdateID: lastUpdateID, bids: bids, asks: asks)
            s.books[symbol] = book
            return action == .needSnapshot
        }
        if again { snapshotContinuation.yield(symbol) }
    }

    /// Whether a symbol's local book still waits for a snapshot.
    public func bookIsWaiting(_ symbol: String) -> Bool {
        state.withLock { $0.books[symbol]?.isWaiting ?? false }
    }

    // MARK: Timer

    /// Every 100 ms: the 100 ms depth windows and partial depths; every 10th tick also the
    /// 1000 ms ones and `!miniTicker@arr`.
    public func tick() {
        state.withLock { s in
            s.ticks += 1
            let second = s.ticks % 10 == 0
            for symbol in Array(s.fastWindows.keys) { Self.flushWindow(&s, symbol: symbol, fast: true) }
            if second {
                for symbol in Array(s.slowWindows.keys) { Self.flushWindow(&s, symbol: symbol, fast: false) }
            }
            // Partial depth goes out every interval while the book is live, as Binance pushes it.
            for symbol in Array(s.books.keys) {
                guard let book = s.books[symbol], !book.isWaiting else { continue }
                for levels in [5, 10, 20] {
                    for fast in second ? [true, false] : [true] {
                        let stream = MarketStream.partialDepth(symbol: symbol, levels: levels, fast: fast)
                        guard s.market[stream] != nil, let top = book.top(levels) else { continue }
                        Self.fanOut(&s, stream, MarketPayloads.partialDepth(lastUpdateID: top.lastUpdateID, bids: top.bids, asks: top.asks))
                    }
                }
            }
            if second, !s.changedMiniTickers.isEmpty {
                let tickers = s.changedMiniTickers.values.sorted { $0.symbol < $1.symbol }
                s.changedMiniTickers.removeAll()
                Self.fanOut(&s, .allMiniTickers, MarketPayloads.miniTickerArray(tickers))
            }
        }
    }
}

/// One market stream's subscribers: by id, and grouped by the event loop that writes them, so a
/// message costs one hand-off per loop (`LoopOutbound.broadcast`), not one per connection.
struct StreamSubscribers {
    struct Group {
        /// nil: connections not attached to a channel (frames wait in their queue until they are).
        let outbound: LoopOutbound?
        /// In no particular order (removal swaps the last one in).
        var connections: [ClientConnection]
    }

    private var ids: Set<Int> = []
    private(set) var groups: [Group] = []

    var count: Int { ids.count }
    var isEmpty: Bool { ids.isEmpty }

    mutating func insert(_ connection: ClientConnection) {
        guard ids.insert(connection.id).inserted else { return }
        let outbound = connection.outbound
        if let i = groups.firstIndex(where: { $0.outbound === outbound }) {
            groups[i].connections.append(connection)
        } else {
            groups.append(Group(outbound: outbound, connections: [connection]))
        }
    }

    /// Removes `connection`; false when it was not subscribed.
    mutating func remove(_ connection: ClientConnection) -> Bool {
        guard ids.remove(connection.id) != nil else { return false }
        for g in groups.indices {
            guard let j = groups[g].connections.firstIndex(where: { $0 === connection }) else { continue }
            groups[g].connections.swapAt(j, groups[g].connections.count - 1)
            groups[g].connections.removeLast()
            if groups[g].connections.isEmpty { groups.remove(at: g) }
            break
        }
        return true
    }
}
