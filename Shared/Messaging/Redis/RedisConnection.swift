import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking connection to Redis, owning a hiredis `redisContext`.
///
/// Not thread-safe: one owner uses it from one thread at a time (`RedisClient` and
/// `RedisSubscriber` keep theirs on a dedicated queue or thread). Every command goes through
/// `redisCommandArgv`/`redisAppendCommandArgv` with explicit lengths, so arguments are binary-safe.
/// After an I/O error the context is unusable (`isBroken`); make a new connection.
public final class RedisConnection {
    /// What this connection was opened with.
    public let configuration: RedisConfiguration
    /// Set after an I/O, protocol or timeout error: hiredis refuses further use of the context.
    public private(set) var isBroken = false
    private let context: UnsafeMutablePointer<redisContext>
    private var currentTimeout: Duration

    /// Connects within `configuration.connectTimeout`, then authenticates and selects the database.
    /// Throws a retriable `MessagingError(.connectionFailed)` when Redis cannot be reached.
    public init(configuration: RedisConfiguration) throws {
        self.configuration = configuration
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port),
                                                    Self.makeTimeval(configuration.connectTimeout))
        else {
            throw MessagingError(.connectionFailed, "cannot allocate a hiredis context", isRetriable: true)
        }
        if context.pointee.err != 0 {
            let reason = Self.errorString(context)
            redisFree(context)
            throw MessagingError(.connectionFailed,
                                 "connect to \(configuration.host):\(configuration.port): \(reason)",
                                 isRetriable: true)
        }
        self.context = context
        self.currentTimeout = configuration.commandTimeout
        guard redisSetTimeout(context, Self.makeTimeval(configuration.commandTimeout)) == REDIS_OK else {
            throw MessagingError(.connectionFailed, "cannot set socket timeout: \(Self.errorString(context))",
                                 isRetriable: true)
        }
        if let password = configuration.password {
            var auth: [RedisArgument] = ["AUTH"]
            if let username = configuration.username { auth.append(.string(username)) }
            auth.append(.string(password))
            if case .error(let message) = try command(auth) {
                // A wrong password does not fix itself: not retriable.
                throw MessagingError(.connectionFailed, "AUTH failed: \(message)")
            }
        }
        if configuration.database != 0 {
            if case .error(let message) = try command(["SELECT", .int(configuration.database)]) {
                throw MessagingError(.connectionFailed, "SELECT \(configuration.database) failed: \(message)")
            }
        }
    }

    deinit {
        redisFree(context)
    }

    /// Sends one command and waits for its reply. Error replies come back as `.error`;
    /// a broken connection or timeout throws a retriable `MessagingError`.
    public func command(_ args: [[UInt8]]) throws -> RedisReply {
        try ensureUsable()
        let raw = Self.withArgv(args) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw failure("command \(Self.name(of: args))") }
        return RedisReply.consume(raw)
    }

    /// Sends one command; see `command(_:)`.
    public func command(_ args: [RedisArgument]) throws -> RedisReply {
        try command(args.map(\.bytes))
    }

    /// Sends all commands in one write, then reads their replies in order (one round trip).
    public func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        try ensureUsable()
        for args in commands {
            let rc = Self.withArgv(args) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard rc == REDIS_OK else { throw failure("pipeline append") }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            replies.append(try readReply())
        }
        return replies
    }

    /// Sends a pre-formatted pipeline in one write and reads its `writer.commands` replies, keeping
    /// only the error replies (index and message), also those inside array replies one level deep
    /// (an `EXEC`'s results); nothing else is copied out of hiredis.
    public func pipelineErrors(_ writer: RESPWriter) throws -> [(index: Int, message: String)] {
        try ensureUsable()
        guard writer.commands > 0 else { return [] }
        let rc = writer.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        guard rc == REDIS_OK else { throw failure("pipeline append") }
        var errors: [(index: Int, message: String)] = []
        for index in 0..<writer.commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure("read reply") }
            defer { freeReplyObject(raw) }
            let reply = raw.assumingMemoryBound(to: redisReply.self).pointee
            if reply.type == REDIS_REPLY_ERROR {
                errors.append((index, Self.text(reply)))
            } else if reply.type == REDIS_REPLY_ARRAY {
                for i in 0..<Int(reply.elements) {
                    if let child = reply.element[i], child.pointee.type == REDIS_REPLY_ERROR {
                        errors.append((index, Self.text(child.pointee)))
                    }
                }
            }
        }
        return errors
    }

    private static func text(_ reply: redisReply) -> String {
        guard let str = reply.str, reply.len > 0 else { return "" }
        return str.withMemoryRebound(to: UInt8.self, capacity: reply.len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: reply.len), as: UTF8.self)
        }
    }

    /// Sends all commands in one round trip; see `pipeline(_:)`.
    public func pipeline(_ commands: [[RedisArgument]]) throws -> [RedisReply] {
        try pipeline(commands.map { $0.map(\.bytes) })
    }

    /// Sets the socket read/write timeout (a blocking command such as `XREAD BLOCK` needs
    /// more than its block time, or the read fails first).
    public func setTimeout(_ timeout: Duration) throws {
        try ensureUsable()
        guard timeout != currentTimeout else { return }
        guard redisSetTimeout(context, Self.makeTimeval(timeout)) == REDIS_OK else {
            throw failure("set socket timeout")
        }
        currentTimeout = timeout
    }

    /// Writes the command to the socket without waiting for a reply (Pub/Sub: the confirmations
    /// arrive as ordinary pushed replies).
    public func write(_ args: [RedisArgument]) throws {
        try ensureUsable()
        let rc = Self.withArgv(args.map(\.bytes)) { argc, argv, lengths in
            redisAppendCommandArgv(context, argc, argv, lengths)
        }
        guard rc == REDIS_OK else { throw failure("append") }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw failure("write") }
        }
    }

    /// Reads the next reply, blocking up to the socket timeout.
    public func readReply() throws -> RedisReply {
        try ensureUsable()
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure("read reply") }
        return RedisReply.consume(raw)
    }

    /// Returns an already buffered reply, else waits up to `wait` for the socket to become
    /// readable and reads one; nil when nothing arrived. A subscriber uses it to wake up often
    /// enough to notice that it was closed, without turning a quiet channel into a socket error.
    public func readReply(waitingUpTo wait: Duration) throws -> RedisReply? {
        try ensureUsable()
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw failure("parse reply") }
        if let raw { return RedisReply.consume(raw) }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&descriptor, 1, Int32(clamping: wait.redisMilliseconds))
        if rc == 0 { return nil }
        if rc < 0 {
            if errno == EINTR { return nil }
            isBroken = true
            throw MessagingError(.connectionFailed, "poll: errno \(errno)", isRetriable: true)
        }
        return try readReply()
    }

    // MARK: - Private

    private func ensureUsable() throws {
        if isBroken || context.pointee.err != 0 {
            isBroken = true
            throw MessagingError(.connectionFailed, "connection is broken: \(Self.errorString(context))",
                                 isRetriable: true)
        }
    }

    /// Marks the connection broken and describes hiredis' error as a retriable `MessagingError`.
    private func failure(_ what: String) -> MessagingError {
        let savedErrno = errno
        isBroken = true
        let reason = Self.errorString(context)
        if context.pointee.err == REDIS_ERR_IO && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK) {
            return MessagingError(.timeout, "\(what): socket timeout (\(reason))", isRetriable: true)
        }
        if context.pointee.err == REDIS_ERR_PROTOCOL {
            return MessagingError(.protocolError, "\(what): \(reason)", isRetriable: true)
        }
        return MessagingError(.connectionFailed, "\(what): \(reason)", isRetriable: true)
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }

    private static func name(of args: [[UInt8]]) -> String {
        args.first.map { String(decoding: $0, as: UTF8.self) } ?? "(empty)"
    }

    static func makeTimeval(_ duration: Duration) -> timeval {
        let ms = max(1, duration.redisMilliseconds)
        return timeval(tv_sec: numericCast(ms / 1000), tv_usec: numericCast((ms % 1000) * 1000))
    }

    /// Lays the arguments out in one buffer and passes hiredis pointers plus explicit lengths,
    /// so NUL bytes and CRLF inside values are sent verbatim.
    private static func withArgv<R>(
        _ args: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        var flat: [UInt8] = []
        flat.reserveCapacity(args.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        var lengths: [Int] = []
        offsets.reserveCapacity(args.count)
        lengths.reserveCapacity(args.count)
        for arg in args {
            offsets.append(flat.count)
            lengths.append(arg.count)
            flat.append(contentsOf: arg)
        }
        flat.append(0)  // never empty, so the base address exists even when every argument is empty
        return flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    body(Int32(args.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }
}
