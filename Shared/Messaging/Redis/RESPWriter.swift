/// Commands written straight into one RESP buffer (`*<n>\r\n$<len>\r\n<bytes>\r\n...`), for
/// pipelines of thousands of commands: no argument arrays per command, no second formatting pass
/// in hiredis (the buffer goes out with `redisAppendFormattedCommand`).
public struct RESPWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Commands written so far (each one reply).
    public private(set) var commands = 0

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts a command of `arguments` arguments (the name counts as one); write them next.
    public mutating func command(arguments: Int) {
        bytes.append(UInt8(ascii: "*"))
        decimal(arguments)
        crlf()
        commands += 1
    }

    /// A command without arguments other than its name (`MULTI`, `EXEC`).
    public mutating func command(_ name: StaticString) {
        command(arguments: 1)
        argument(name)
    }

    public mutating func argument(_ value: [UInt8]) {
        header(value.count)
        bytes.append(contentsOf: value)
        crlf()
    }

    public mutating func argument(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            header(utf8.count)
            bytes.append(contentsOf: utf8)
        }
        crlf()
    }

    public mutating func argument(_ value: StaticString) {
        value.withUTF8Buffer { utf8 in
            header(utf8.count)
            bytes.append(contentsOf: utf8)
        }
        crlf()
    }

    public mutating func argument(_ value: Int64) {
        argument(String(value))
    }

    public mutating func argument(_ value: Int) { argument(Int64(value)) }

    private mutating func header(_ length: Int) {
        bytes.append(UInt8(ascii: "$"))
        decimal(length)
        crlf()
    }

    private mutating func decimal(_ value: Int) {
        precondition(value >= 0)
        if value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private mutating func crlf() {
        bytes.append(13)
        bytes.append(10)
    }
}
