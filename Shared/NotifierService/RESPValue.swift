import NIOCore

/// A reply or push as Redis sends it (RESP2, plus RESP3's `>` push, read like an array); what
/// the Pub/Sub connection needs to read, nothing more.
enum RESPValue: Equatable, Sendable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([RESPValue]?)

    /// A malformed reply: the connection is dropped and made again.
    struct ProtocolError: Error, Equatable {
        let reason: String
    }

    /// The bytes of a bulk string (or a simple string's UTF-8).
    var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): return b
        case .simple(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// Reads one whole value from `buffer`; nil, with `buffer` untouched, while it is not all there.
    static func read(from buffer: inout ByteBuffer) throws(ProtocolError) -> RESPValue? {
        var copy = buffer
        guard let value = try parse(&copy) else { return nil }
        buffer = copy
        return value
    }

    private static func parse(_ buffer: inout ByteBuffer) throws(ProtocolError) -> RESPValue? {
        guard let type: UInt8 = buffer.readInteger(), let line = readLine(&buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return .simple(line)
        case UInt8(ascii: "-"):
            return .error(line)
        case UInt8(ascii: ":"):
            guard let n = Int(line) else { throw ProtocolError(reason: "bad integer \(line)") }
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let n = Int(line) else { throw ProtocolError(reason: "bad bulk length \(line)") }
            if n < 0 { return .bulk(nil) }
            guard buffer.readableBytes >= n + 2, let bytes = buffer.readBytes(length: n) else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw ProtocolError(reason: "bulk string without CRLF") }
            return .bulk(bytes)
        case UInt8(ascii: "*"), UInt8(ascii: ">"):
            guard let n = Int(line) else { throw ProtocolError(reason: "bad array length \(line)") }
            if n < 0 { return .array(nil) }
            var elements: [RESPValue] = []
            elements.reserveCapacity(n)
            for _ in 0..<n {
                guard let element = try parse(&buffer) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw ProtocolError(reason: "unknown type byte \(type)")
        }
    }

    /// The text up to the next CRLF, which is consumed; nil when no CRLF has arrived yet.
    private static func readLine(_ buffer: inout ByteBuffer) -> String? {
        let end = buffer.withUnsafeReadableBytes { raw -> Int? in
            guard raw.count >= 2 else { return nil }
            for i in 0..<(raw.count - 1) where raw[i] == 13 && raw[i + 1] == 10 { return i }
            return nil
        }
        guard let end, let line = buffer.readString(length: end) else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// A command as RESP (an array of bulk strings).
    static func command(_ arguments: [String], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.utf8.count)\r\n")
            buffer.writeString(argument)
            buffer.writeString("\r\n")
        }
    }
}
