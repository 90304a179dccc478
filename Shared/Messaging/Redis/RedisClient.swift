import Dispatch
import Foundation
import Logging

/// A thread-safe async Redis client over one `RedisConnection`.
///
/// Every call runs on the client's own serial `DispatchQueue`, so blocking socket I/O never
/// occupies the Swift cooperative pool, in the order calls reach the client (so two `send`s from
/// one task keep their order).
///
/// Automatic pipelining: `send`, `pipeline` and `eval` calls that arrive while the connection is
/// busy wait together and go out as one pipeline (one write, one read of every reply), so many
/// concurrent callers share a round trip instead of queueing for one each. Redis executes a
/// connection's commands in order, so this changes no result; a broken connection fails every
/// call of the batch it was in (each "may or may not have been executed", as for a single call).
///
/// Error replies: `send` and `pipeline` return Redis error replies as `RedisReply.error` (a
/// pipeline can mix successes and errors); use `RedisReply.throwingOnError()` where an error reply
/// means failure. Thrown errors are always `MessagingError`:
/// - a broken connection or socket timeout throws a retriable `.connectionFailed`/`.timeout`;
///   the command may or may not have been executed, so it is never resent automatically;
/// - the next call reconnects, after an exponential backoff (`reconnectInitialDelay`, doubling
///   up to `reconnectMaxDelay` while connecting keeps failing);
/// - after `close()` calls throw `.closed`.
public final class RedisClient: @unchecked Sendable {
    // @unchecked Sendable: the mutable state below (`connection`, `reconnectDelay`,
    // `nextAttempt`, `isClosed`) is only read and written from blocks running on `queue`, a serial
    // queue; everything else is immutable.
    /// Where this client connects.
    public let configuration: RedisConfiguration
    private let queue: DispatchQueue
    private let logger: Logger
    private var connection: RedisConnection?
    private var reconnectDelay: Duration
    private var nextAttempt: ContinuousClock.Instant?
    private var isClosed = false

    /// Creates a client; it connects on first use.
    public init(configuration: RedisConfiguration, label: String = "redis-client", logger: Logger? = nil) {
        self.configuration = configuration
        self.queue = DispatchQueue(label: "exchange.redis.\(label)")
        self.logger = logger ?? Logger(label: "exchange.redis.\(label)")
        self.reconnectDelay = configuration.reconnectInitialDelay
    }

    /// Creates a client and connects it now (so a wrong address fails here, not on first use).
    public static func connect(configuration: RedisConfiguration, label: String = "redis-client",
                               logger: Logger? = nil) async throws -> RedisClient {
        let client = RedisClient(configuration: configuration, label: label, logger: logger)
        try await client.send(["PING"]).throwingOnError()
        return client
    }

    /// Sends one command and returns its reply (error replies as `.error`).
    public func send(_ args: [RedisArgument]) async throws -> RedisReply {
        try await batched([args.map(\.bytes)])[0]
    }

    /// Sends one command; see `send(_:)`.
    public func send(_ args: RedisArgument...) async throws -> RedisReply {
        try await send(args)
    }

    /// Sends a blocking command (`XREAD BLOCK`, `BLPOP`, ...) that may legitimately take up to
    /// `blockingFor` before replying; the socket timeout is extended by that much for this call.
    public func send(_ args: [RedisArgument], blockingFor: Duration) async throws -> RedisReply {
        let extended = configuration.commandTimeout + blockingFor
        let normal = configuration.commandTimeout
        return try await run { connection in
            try connection.setTimeout(extended)
            let reply = try connection.command(args)
            try connection.setTimeout(normal)
            return reply
        }
    }

    /// Sends all commands in one round trip and returns their replies in order.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await batched(commands.map { $0.map(\.bytes) })
    }

    /// Sends a pre-formatted pipeline in one round trip; throws `.protocolError` naming the first
    /// error reply (also one inside an `EXEC` result), after every reply was read.
    public func pipelineCheckingErrors(_ writer: RESPWriter) async throws {
        if writer.commands == 0 { return }
        let errors = try await run { try $0.pipelineErrors(writer) }
        if let first = errors.first {
            throw MessagingError(.protocolError, "\(errors.count) error replies; command \(first.index): \(first.message)")
        }
    }

    /// Runs a Lua script with `EVALSHA`, falling back to `EVAL` (which caches it) on `NOSCRIPT`.
    /// Error replies raised by the script come back as `.error`.
    public func eval(_ script: RedisScript, keys: [RedisArgument] = [], args: [RedisArgument] = []) async throws
        -> RedisReply
    {
        let tail = [RedisArgument.int(keys.count)] + keys + args
        let evalsha = (["EVALSHA", .string(script.sha1)] + tail).map(\.bytes)
        let eval = (["EVAL", .string(script.source)] + tail).map(\.bytes)
        return try await batched([evalsha], fallback: eval)[0]
    }

    /// Closes the connection; later calls throw `MessagingError(.closed)`.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.isClosed = true
                self.connection = nil
                continuation.resume()
            }
        }
    }

    // MARK: - Private

    /// Commands of one call waiting for the next batch.
    private struct Request {
        var commands: [[[UInt8]]]
        /// `eval`'s `EVAL`, sent (after the batch) when its `EVALSHA` answered `NOSCRIPT`.
        var fallback: [[UInt8]]?
        var continuation: CheckedContinuation<[RedisReply], any Error>
    }

    /// Calls waiting for the connection, and whether a drain is queued for them.
    private let waiting = RedisLocked<(requests: [Request], drainQueued: Bool)>(([], false))
    /// Pipelines sent for `send`/`pipeline`/`eval` calls (each one round trip), for tests.
    let batchesSent = RedisLocked<Int>(0)
    /// Calls queued for the next pipeline, for tests.
    var requestsWaiting: Int { waiting.withLock { $0.requests.count } }

    /// Queues a call's commands for the next batch and waits for their replies.
    private func batched(_ commands: [[[UInt8]]], fallback: [[UInt8]]? = nil) async throws -> [RedisReply] {
        try await withCheckedThrowingContinuation { continuation in
            let schedule = waiting.withLock { state -> Bool in
                state.requests.append(Request(commands: commands, fallback: fallback, continuation: continuation))
                if state.drainQueued { return false }
                state.drainQueued = true
                return true
            }
            if schedule { queue.async { self.drain() } }
        }
    }

    /// Sends every waiting call's commands as one pipeline and answers each call. Called on `queue` only.
    private func drain() {
        let requests = waiting.withLock { state -> [Request] in
            state.drainQueued = false
            defer { state.requests.removeAll(keepingCapacity: true) }
            return state.requests
        }
        if requests.isEmpty { return }
        batchesSent.withLock { $0 += 1 }
        let outcome = Result { () throws -> [[RedisReply]] in
            try onQueue { connection in
                let all = requests.count == 1 ? requests[0].commands : requests.flatMap(\.commands)
                let replies = try connection.pipeline(all)
                var answers: [[RedisReply]] = []
                answers.reserveCapacity(requests.count)
                var next = 0
                for request in requests {
                    var answer = Array(replies[next..<next + request.commands.count])
                    next += request.commands.count
                    if let fallback = request.fallback, let message = answer[0].errorMessage, message.hasPrefix("NOSCRIPT") {
                        answer[0] = try connection.command(fallback)
                    }
                    answers.append(answer)
                }
                return answers
            }
        }
        switch outcome {
        case .success(let answers):
            for (request, answer) in zip(requests, answers) { request.continuation.resume(returning: answer) }
        case .failure(let error):
            for request in requests { request.continuation.resume(throwing: error) }
        }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.onQueue(body) })
            }
        }
    }

    /// Runs `body` on a live connection. Called on `queue` only.
    private func onQueue<T>(_ body: (RedisConnection) throws -> T) throws -> T {
        let connection = try connectedConnection()
        do {
            return try body(connection)
        } catch {
            if connection.isBroken {
                // Drop it; the next call reconnects after the first backoff step.
                logger.warning("Redis connection broken: \(error)")
                self.connection = nil
                reconnectDelay = configuration.reconnectInitialDelay
                nextAttempt = ContinuousClock.now.advanced(by: reconnectDelay)
            }
            throw error
        }
    }

    /// The open connection, or a new one once the backoff delay has passed. Called on `queue` only.
    private func connectedConnection() throws -> RedisConnection {
        if isClosed { throw MessagingError(.closed, "Redis client is closed") }
        if let connection { return connection }
        if let nextAttempt {
            // Waiting here (on the client's own queue, not the cooperative pool) rate-limits
            // callers that retry in a loop while Redis is away.
            let remaining = nextAttempt - ContinuousClock.now
            if remaining > .zero {
                Thread.sleep(forTimeInterval: Double(remaining.redisMilliseconds) / 1000)
            }
        }
        do {
            let connection = try RedisConnection(configuration: configuration)
            self.connection = connection
            nextAttempt = nil
            reconnectDelay = configuration.reconnectInitialDelay
            return connection
        } catch {
            reconnectDelay = min(reconnectDelay * 2, configuration.reconnectMaxDelay)
            nextAttempt = ContinuousClock.now.advanced(by: reconnectDelay)
            throw error
        }
    }
}
