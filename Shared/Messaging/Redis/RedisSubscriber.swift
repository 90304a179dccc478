import Foundation
import Logging
import Metrics

/// Redis Pub/Sub on a connection of its own, as an `AsyncSequence` of messages.
///
/// A dedicated thread reads the connection, waking at least every `pollInterval` to notice
/// `close()`. When the connection breaks it reconnects with exponential backoff and subscribes
/// again to the same channels and patterns; messages published meanwhile are lost (Pub/Sub has no
/// history; use the event log for anything that must not be missed).
///
/// The buffer between the thread and the consumer keeps the newest `bufferSize` messages; older
/// ones are dropped when the consumer falls behind and counted in `droppedMessages`.
///
/// Iterate it once. Iteration ends when the iterating task is cancelled, `close()` is called, or
/// the subscriber and its iterator are released.
public final class RedisSubscriber: AsyncSequence, Sendable {
    public typealias Element = RedisPubSubMessage

    /// Iterates the messages; keeps the subscriber alive while iterating.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var base: AsyncStream<RedisPubSubMessage>.Iterator
        fileprivate let owner: RedisSubscriber

        public mutating func next() async -> RedisPubSubMessage? {
            await base.next()
        }
    }

    private let stream: AsyncStream<RedisPubSubMessage>
    private let loop: SubscriberLoop

    /// Starts the read thread and subscribes to `channels` (SUBSCRIBE) and `patterns` (PSUBSCRIBE).
    public init(
        configuration: RedisConfiguration,
        channels: [String] = [],
        patterns: [String] = [],
        bufferSize: Int = 1024,
        pollInterval: Duration = .milliseconds(100),
        logger: Logger? = nil
    ) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: RedisPubSubMessage.self, bufferingPolicy: .bufferingNewest(Swift.max(1, bufferSize)))
        let loop = SubscriberLoop(
            configuration: configuration, channels: channels, patterns: patterns, pollInterval: pollInterval,
            continuation: continuation, logger: logger ?? Logger(label: "exchange.redis.subscriber"))
        continuation.onTermination = { _ in loop.stop() }
        self.stream = stream
        self.loop = loop
        let thread = Thread { loop.run() }
        thread.name = "redis-subscriber"
        thread.start()
    }

    deinit {
        loop.stop()
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), owner: self)
    }

    /// Stops reading, closes the connection and ends the sequence.
    public func close() {
        loop.stop()
    }

    /// Messages dropped because the consumer fell more than `bufferSize` behind.
    public var droppedMessages: Int { loop.counters.withLock { $0.dropped } }

    /// How many times the connection was re-established after breaking.
    public var reconnects: Int { loop.counters.withLock { $0.reconnects } }
}

/// The read loop of a `RedisSubscriber`, run on its own thread.
private final class SubscriberLoop: Sendable {
    struct Counters {
        var stopped = false
        var dropped = 0
        var reconnects = 0
    }

    let configuration: RedisConfiguration
    let channels: [String]
    let patterns: [String]
    let pollInterval: Duration
    let continuation: AsyncStream<RedisPubSubMessage>.Continuation
    let logger: Logger
    let counters = RedisLocked(Counters())
    let droppedCounter = Counter(label: "redis_pubsub_dropped_messages_total")

    init(configuration: RedisConfiguration, channels: [String], patterns: [String], pollInterval: Duration,
         continuation: AsyncStream<RedisPubSubMessage>.Continuation, logger: Logger)
    {
        self.configuration = configuration
        self.channels = channels
        self.patterns = patterns
        self.pollInterval = pollInterval
        self.continuation = continuation
        self.logger = logger
    }

    var isStopped: Bool { counters.withLock { $0.stopped } }

    func stop() {
        counters.withLock { $0.stopped = true }
    }

    /// Runs until stopped; the connection lives and dies on this thread.
    func run() {
        var connection: RedisConnection?
        var delay = configuration.reconnectInitialDelay
        var connectedBefore = false
        while !isStopped {
            guard let current = connection else {
                do {
                    connection = try subscribe()
                    if connectedBefore {
                        counters.withLock { $0.reconnects += 1 }
                        logger.info("Redis subscriber reconnected")
                    }
                    connectedBefore = true
                    delay = configuration.reconnectInitialDelay
                } catch {
                    logger.warning("Redis subscriber cannot connect: \(error); retrying in \(delay)")
                    sleep(delay)
                    delay = min(delay * 2, configuration.reconnectMaxDelay)
                }
                continue
            }
            do {
                if let reply = try current.readReply(waitingUpTo: pollInterval) {
                    deliver(reply)
                }
            } catch {
                logger.warning("Redis subscriber connection broken: \(error)")
                connection = nil
                sleep(delay)
            }
        }
        connection = nil
        continuation.finish()
    }

    private func subscribe() throws -> RedisConnection {
        let connection = try RedisConnection(configuration: configuration)
        // The confirmations arrive later as ordinary replies and are skipped by `deliver`.
        if !channels.isEmpty { try connection.write([RedisArgument("SUBSCRIBE")] + channels.map { RedisArgument.string($0) }) }
        if !patterns.isEmpty { try connection.write([RedisArgument("PSUBSCRIBE")] + patterns.map { RedisArgument.string($0) }) }
        return connection
    }

    private func deliver(_ reply: RedisReply) {
        guard let parts = reply.array, let kind = parts.first?.string else { return }
        let message: RedisPubSubMessage
        switch kind {
        case "message" where parts.count == 3:
            message = RedisPubSubMessage(channel: parts[1].string ?? "", payload: parts[2].bytes ?? [])
        case "pmessage" where parts.count == 4:
            message = RedisPubSubMessage(channel: parts[2].string ?? "", payload: parts[3].bytes ?? [],
                                         pattern: parts[1].string)
        default:
            return  // subscribe/psubscribe confirmations
        }
        switch continuation.yield(message) {
        case .dropped:
            counters.withLock { $0.dropped += 1 }
            droppedCounter.increment()
        case .terminated:
            stop()
        case .enqueued:
            break
        @unknown default:
            break
        }
    }

    /// Sleeps in short steps so that `stop()` is noticed promptly.
    private func sleep(_ duration: Duration) {
        let end = ContinuousClock.now.advanced(by: duration)
        while !isStopped, ContinuousClock.now < end {
            let step = min(end - ContinuousClock.now, pollInterval)
            Thread.sleep(forTimeInterval: Double(max(1, step.redisMilliseconds)) / 1000)
        }
    }
}
