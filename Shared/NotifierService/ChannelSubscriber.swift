import Foundation
import Logging
import Messaging
import Metrics
import Synchronization

/// Redis Pub/Sub on one connection whose channel set changes while it runs: the notifier
/// subscribes to a channel when its first client needs it and unsubscribes when the last leaves.
/// (`RedisSubscriber` in Messaging takes a fixed set at start.)
///
/// A dedicated thread owns the connection: it writes pending SUBSCRIBE/UNSUBSCRIBE commands,
/// reads messages and hands each to `deliver` on that thread, so fan-out needs no hop to another
/// executor; `deliver` must not block. After a broken connection it reconnects with backoff and
/// subscribes again to every channel still wanted; what was published meanwhile is lost (clients
/// resync through REST, as on Binance).
public final class ChannelSubscriber: Sendable {
    struct State {
        var wanted: Set<String> = []
        /// Channels Redis confirmed (SUBSCRIBE reply read) on the current connection.
        var confirmed: Set<String> = []
        /// Commands not yet written, in order.
        var pending: [(subscribe: Bool, channel: String)] = []
        var stopped = false
        var reconnects = 0
    }

    private let configuration: RedisConfiguration
    private let state = Mutex(State())
    private let logger: Logger
    private let pollInterval: Duration
    private let done = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let finished = Mutex(false)

    public init(configuration: RedisConfiguration, pollInterval: Duration = .milliseconds(20), logger: Logger) {
        self.configuration = configuration
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Starts the read thread; `deliver(channel, payload)` runs on it for every message.
    public func start(deliver: @escaping @Sendable (String, [UInt8]) -> Void) {
        let thread = Thread { [self] in
            loop(deliver)
            finished.withLock { $0 = true }
            done.withLock { $0?.resume(); $0 = nil }
        }
        thread.name = "notifier-pubsub"
        thread.start()
    }

    /// Stops the thread and waits for it to close the connection.
    public func stop() async {
        state.withLock { $0.stopped = true }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let already = finished.withLock { $0 }
            if already { c.resume() } else {
                done.withLock { $0 = c }
                // The thread may have finished between the check and the store.
                if finished.withLock({ $0 }) { done.withLock { $0?.resume(); $0 = nil } }
            }
        }
    }

    /// Adds channels to the subscription (SUBSCRIBE is written by the thread within `pollInterval`).
    public func subscribe(_ channels: [String]) {
        guard !channels.isEmpty else { return }
        state.withLock { s in
            for c in channels where s.wanted.insert(c).inserted { s.pending.append((true, c)) }
        }
    }

    /// Removes channels from the subscription.
    public func unsubscribe(_ channels: [String]) {
        guard !channels.isEmpty else { return }
        state.withLock { s in
            for c in channels where s.wanted.remove(c) != nil {
                s.pending.append((false, c))
                s.confirmed.remove(c)
            }
        }
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

    private func loop(_ deliver: (String, [UInt8]) -> Void) {
        var connection: RedisConnection?
        var delay = configuration.reconnectInitialDelay
        var connectedBefore = false
        while !state.withLock({ $0.stopped }) {
            guard let current = connection else {
                do {
                    let fresh = try RedisConnection(configuration: configuration)
                    // Everything wanted now is (re)subscribed; pending commands are covered by it.
                    let wanted = state.withLock { s -> [String] in
                        s.pending.removeAll()
                        s.confirmed.removeAll()
                        if connectedBefore { s.reconnects += 1 }
                        return Array(s.wanted)
                    }
                    if !wanted.isEmpty {
                        try fresh.write([RedisArgument("SUBSCRIBE")] + wanted.map { RedisArgument.string($0) })
                    }
                    connection = fresh
                    if connectedBefore { logger.info("notifier Pub/Sub reconnected", metadata: ["exchange.channels": "\(wanted.count)"]) }
                    connectedBefore = true
                    delay = configuration.reconnectInitialDelay
                } catch {
                    logger.warning("notifier Pub/Sub cannot connect: \(error); retrying in \(delay)")
                    Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                    delay = min(delay * 2, configuration.reconnectMaxDelay)
                }
                continue
            }
            do {
                let commands = state.withLock { s -> [(subscribe: Bool, channel: String)] in
                    defer { s.pending.removeAll() }
                    return s.pending
                }
                for command in commands {
                    try current.write([RedisArgument(command.subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE"), .string(command.channel)])
                }
                // Drain everything already read before polling again, so bursts are delivered at once.
                var reply = try current.readReply(waitingUpTo: pollInterval)
                while let r = reply {
                    handle(r, deliver)
                    reply = try current.readReply(waitingUpTo: .zero)
                }
            } catch {
                logger.warning("notifier Pub/Sub connection broken: \(error)")
                connection = nil
            }
        }
    }

    private func handle(_ reply: RedisReply, _ deliver: (String, [UInt8]) -> Void) {
        guard let parts = reply.array, parts.count == 3 else { return }
        switch parts[0].string {
        case "message":
            deliver(parts[1].string ?? "", parts[2].bytes ?? [])
        case "subscribe":
            if let channel = parts[1].string {
                state.withLock { s in
                    if s.wanted.contains(channel) { s.confirmed.insert(channel) }
                }
            }
        default:
            break  // unsubscribe confirmations
        }
    }
}
