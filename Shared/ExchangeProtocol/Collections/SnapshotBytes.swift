/// Little-endian writer of the pure cores' snapshots (books, ledger, the matching processor).
public struct SnapshotWriter: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func u64(_ v: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    /// UTF-8 with a u32 length.
    public mutating func string(_ s: String) {
        u32(UInt32(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
    /// Bytes as they are (the caller writes any length).
    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    /// A Binance enum as its index in `allCases`.
    public mutating func enumIndex<E: BinanceEnum>(_ value: E) { u8(UInt8(value.caseIndex)) }
}

/// Reads what `SnapshotWriter` wrote; every read checks the bounds and throws `corrupt`.
public struct SnapshotReader: Sendable {
    public let bytes: [UInt8]
    public var offset = 0
    /// What a truncated or malformed snapshot throws (each core has its own error type).
    let corrupt: any Error & Sendable

    public init(bytes: [UInt8], corrupt: any Error & Sendable) {
        self.bytes = bytes
        self.corrupt = corrupt
    }

    public var atEnd: Bool { offset == bytes.count }

    public mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - offset >= n else { throw corrupt }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }
    public mutating func u8() throws -> UInt8 { try take(1).first! }
    public mutating func bool() throws -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw corrupt
        }
    }
    public mutating func u32() throws -> UInt32 { try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    public mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    /// A u32 element count, bounded by the bytes left (each element takes at least one byte).
    public mutating func count() throws -> Int {
        let n = Int(try u32())
        guard n <= bytes.count - offset else { throw corrupt }
        return n
    }
    public mutating func u64() throws -> UInt64 { try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func string() throws -> String {
        let slice = try take(Int(try u32()))
        guard let s = String(validating: slice, as: UTF8.self) else { throw corrupt }
        return s
    }
    public mutating func enumValue<E: BinanceEnum>() throws -> E {
        let index = Int(try u8())
        guard index < E.allCases.count else { throw corrupt }
        return E.allCases[index]
    }
}
