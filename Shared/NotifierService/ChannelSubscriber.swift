import Logging
import Messaging
import NIOCore
import NIOPosix
import Synchronization

/// Redis Pub/Sub on one connection whose channel set changes while it runs: the notifier
/// subscribes to a channel when its first client needs it and unsubscribes when the last leaves.
/// (`RedisSubscriber` in Messaging takes a fixed set at start.)
///
/// The connection is a NIO channel on one of the WebSocket server's event loops, and `deliver`
/// runs on that loop for every message: the fan-out's frames for that loop's connections are
/// written in the same loop iteration, with no hand-off to another thread (a blocking reader
/// thread cost a thread wake-up per message before any frame went out, the largest single
/// delay between Redis and the clients). `deliver` must not block. After a broken connection
/// it reconnects with backoff and subscribes again to every channel still wanted; what was
/// published meanwhile is lost (clients resync through REST, as on Binance).
public final class ChannelSubscriber: Sendable {
    struct State {
        var wanted: Set<String> = []
        /// Channels Redis confirmed (SUBSCRIBE reply read) on the current connection.
        var confirmed: Set<String> = []
        /// Commands not yet written, in order.
        var pending: [(subscribe: Bool, channel: String)] = []
        var stopped = false
        var reconnects = 0
        var connectedBefore = false
        var delay: Duration
        /// The live connection.
        var channel: (any Channel)?
        var eventLoop: (any EventLoop)?
        var deliver: (@Sendable (String, [UInt8]) -> Void)?
    }

    private let configuration: RedisConfiguration
    private let state: Mutex<State>
    private let logger: Logger

    public init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(delay: configuration.reconnectInitialDelay))
    }

    /// Connects on `eventLoop`; `deliver(channel, payload)` runs on that loop for every message.
    public func start(on eventLoop: any EventLoop, deliver: @escaping @Sendable (String, [UInt8]) -> Void) {
        state.withLock { s in
            s.eventLoop = eventLoop
            s.deliver = deliver
        }
        connect()
    }

    /// Stops reconnecting and closes the connection.
    public func stop() async {
        let channel = state.withLock { s -> (any Channel)? in
            s.stopped = true
            defer { s.channel = nil }
            return s.channel
        }
        try? await channel?.close()
    }

    /// Adds channels to the subscription.
    public func subscribe(_ channels: [String]) {
        guard !channels.isEmpty else { return }
        let channel = state.withLock { s -> (any Channel)? in
            for c in channels where s.wanted.insert(c).inserted { s.pending.append((true, c)) }
            return s.channel
        }
        if let channel { writePending(channel) }
    }

    /// Removes channels from the subscription.
    public func unsubscribe(_ channels: [String]) {
        guard !channels.isEmpty else { return }
        let channel = state.withLock { s -> (any Channel)? in
            for c in channels where s.wanted.remove(c) != nil {
                s.pending.append((false, c))
                s.confirmed.remove(c)
            }
            return s.channel
        }
        if let channel { writePending(channel) }
    }

    /// Waits (up to `timeout`) until Redis confirmed the subscription to every one of `channels`,
    /// so that what is published from then on reaches this instance: a client told "subscribed"
    /// misses nothing after the reply. Polls; the wait is a few milliseconds.
    public func waitSubscribed(_ channels: [String], timeout: Duration = .seconds(2)) async {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let done = state.withLock { s in channels.allSatisfy { s.confirmed.contains($0) || !s.wanted.contains($0) } }
            if done { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The channels currently subscribed to (or about to be).
    public var channels: Set<String> { state.withLock { $0.wanted } }

    /// How many times the connection was re-established.
    public var reconnects: Int { state.withLock { $0.reconnects } }

    // MARK: Connection

    private func connect() {
        let loop = state.withLock { s -> (any EventLoop)? in s.stopped ? nil : s.eventLoop }
        guard let loop else { return }
        let timeout = configuration.connectTimeout
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PubSubHandler(subscriber: self))
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .whenComplete { result in
                switch result {
                case .success(let channel): self.connected(channel)
                case .failure(let error): self.failed("cannot connect: \(error)")
                }
            }
    }

    /// A fresh connection: AUTH if configured, then everything wanted now is (re)subscribed;
    /// pending commands are covered by it.
    private func connected(_ channel: any Channel) {
        guard channel.isActive else { return }  // already broken: channelInactive took care of it
        let setup = state.withLock { s -> (wanted: [String], again: Bool)? in
            guard !s.stopped else { return nil }
            s.pending.removeAll()
            s.confirmed.removeAll()
            let again = s.connectedBefore
            if again { s.reconnects += 1 }
            s.connectedBefore = true
            s.delay = configuration.reconnectInitialDelay
            s.channel = channel
            return (Array(s.wanted), again)
        }
        guard let setup else {
            channel.close(promise: nil)
            return
        }
        var out = channel.allocator.buffer(capacity: 256)
        if let password = configuration.password {
            RESPValue.command(["AUTH"] + (configuration.username.map { [$0] } ?? []) + [password], into: &out)
        }
        if !setup.wanted.isEmpty { RESPValue.command(["SUBSCRIBE"] + setup.wanted, into: &out) }
        if out.readableBytes > 0 { channel.writeAndFlush(out, promise: nil) }
        if setup.again { logger.info("notifier Pub/Sub reconnected", metadata: ["exchange.channels": "\(setup.wanted.count)"]) }
    }

    /// The connection failed or broke: connect again after the backoff delay (unless stopped).
    fileprivate func failed(_ why: String) {
        let next = state.withLock { s -> (loop: any EventLoop, delay: Duration)? in
            s.channel = nil
            s.confirmed.removeAll()
            guard !s.stopped, let loop = s.eventLoop else { return nil }
            let delay = s.delay
            s.delay = min(s.delay * 2, configuration.reconnectMaxDelay)
            return (loop, delay)
        }
        guard let next else { return }
        logger.warning("notifier Pub/Sub \(why); retrying in \(next.delay)")
        next.loop.scheduleTask(in: TimeAmount(next.delay)) { self.connect() }
    }

    /// Writes the SUBSCRIBE/UNSUBSCRIBE commands queued so far, in order.
    private func writePending(_ channel: any Channel) {
        channel.eventLoop.execute {
            let commands = self.state.withLock { s -> [(subscribe: Bool, channel: String)] in
                // A newer connection resubscribes from `wanted` itself.
                guard s.channel === channel else { return [] }
                defer { s.pending.removeAll() }
                return s.pending
            }
            guard !commands.isEmpty else { return }
            var out = channel.allocator.buffer(capacity: 64 * commands.count)
            for command in commands {
                RESPValue.command([command.subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", command.channel], into: &out)
            }
            channel.writeAndFlush(out, promise: nil)
        }
    }

    /// One value read from the connection (on its event loop).
    fileprivate func received(_ value: RESPValue, on channel: any Channel) {
        switch value {
        case .array(let parts?) where parts.count == 3:
            switch parts[0].bytes.map({ String(decoding: $0, as: UTF8.self) }) {
            case "message":
                let deliver = state.withLock { $0.deliver }
                deliver?(parts[1].bytes.map { String(decoding: $0, as: UTF8.self) } ?? "", parts[2].bytes ?? [])
            case "subscribe":
                if let name = parts[1].bytes.map({ String(decoding: $0, as: UTF8.self) }) {
                    state.withLock { s in
                        if s.channel === channel, s.wanted.contains(name) { s.confirmed.insert(name) }
                    }
                }
            default:
                break  // unsubscribe confirmations
            }
        case .error(let message):
            // AUTH refused, or a command rejected: start over (with backoff).
            logger.warning("notifier Pub/Sub error reply: \(message)")
            channel.close(promise: nil)
        default:
            break  // AUTH's +OK
        }
    }
}

/// Reads the Pub/Sub connection's replies and hands each to the subscriber.
private final class PubSubHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let subscriber: ChannelSubscriber
    private var buffer: ByteBuffer?

    init(subscriber: ChannelSubscriber) {
        self.subscriber = subscriber
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var pending = buffer {
            buffer = nil  // keep `pending` uniquely referenced, so appending does not copy
            pending.writeBuffer(&incoming)
            incoming = pending
        }
        do {
            while let value = try RESPValue.read(from: &incoming) {
                subscriber.received(value, on: context.channel)
            }
        } catch {
            subscriber.failedToParse(error, context: context)
            return
        }
        if incoming.readableBytes > 0 {
            incoming.discardReadBytes()
            buffer = incoming
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        subscriber.failed("connection broken")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension ChannelSubscriber {
    fileprivate func failedToParse(_ error: RESPValue.ProtocolError, context: ChannelHandlerContext) {
        logger.warning("notifier Pub/Sub unreadable reply: \(error.reason)")
        context.close(promise: nil)
    }
}
