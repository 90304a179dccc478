import CHiredis

/// A reply from Redis (RESP2), copied out of hiredis' `redisReply` so it outlives the C object.
public enum RedisReply: Sendable, Hashable {
    /// A simple string such as `OK` or `PONG`.
    case status(String)
    /// An error reply such as `ERR unknown command` or `NOSCRIPT ...`. Not thrown by `RedisClient`.
    case error(String)
    case integer(Int64)
    /// A bulk string: arbitrary bytes, binary-safe.
    case bulk([UInt8])
    case array([RedisReply])
    /// A null bulk string or null array.
    case null

    /// Copies a hiredis reply tree. The caller still owns (and frees) the C object.
    init(copying reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STATUS:
            self = .status(Self.string(r.str, r.len))
        case REDIS_REPLY_ERROR:
            self = .error(Self.string(r.str, r.len))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(r.integer))
        case REDIS_REPLY_STRING:
            self = .bulk(Self.bytes(r.str, r.len))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(r.elements))
            for i in 0..<Int(r.elements) {
                if let child = r.element[i] {
                    elements.append(RedisReply(copying: child))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    /// Copies and then frees a reply returned by hiredis (`freeReplyObject`).
    static func consume(_ raw: UnsafeMutableRawPointer) -> RedisReply {
        defer { freeReplyObject(raw) }
        return RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        String(decoding: bytes(pointer, length), as: UTF8.self)
    }
}

extension RedisReply {
    /// The bytes of a bulk string, or the text of a status reply; nil otherwise.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): return b
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// A bulk or status reply decoded as UTF-8; nil otherwise.
    public var string: String? {
        switch self {
        case .bulk(let b): return String(decoding: b, as: UTF8.self)
        case .status(let s): return s
        default: return nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer (e.g. HGET of a counter).
    public var integer: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk(let b): return Int64(String(decoding: b, as: UTF8.self))
        default: return nil
        }
    }

    /// The elements of an array reply; nil otherwise.
    public var array: [RedisReply]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The message of an error reply; nil otherwise.
    public var errorMessage: String? {
        if case .error(let e) = self { return e }
        return nil
    }

    /// Returns the reply unchanged, or throws `MessagingError(.backendError)` for an error reply.
    /// Use it where a Redis error reply means the call failed.
    @discardableResult
    public func throwingOnError(file: String = #fileID, line: Int = #line) throws -> RedisReply {
        if case .error(let message) = self {
            throw MessagingError(.backendError, "Redis error reply: \(message)", file: file, line: line)
        }
        return self
    }
}
