import ExchangeProtocol

/// Little-endian byte writer for ledger snapshots.
struct LedgerWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    mutating func u32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func u64(_ v: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func string(_ s: String) {
        u32(UInt32(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
    mutating func enumIndex<E: BinanceEnum>(_ value: E) { u8(UInt8(E.allCases.firstIndex(of: value)!)) }

    mutating func permissions(_ p: AccountPermissions) {
        bool(p.canTrade)
        bool(p.canWithdraw)
        bool(p.canDeposit)
    }

    /// 0 standard; 1 tier + name; 2 rates + maker + taker.
    mutating func commission(_ c: CommissionSetting) {
        switch c {
        case .standard: u8(0)
        case .tier(let name):
            u8(1)
            string(name)
        case .rates(let maker, let taker):
            u8(2)
            i64(maker)
            i64(taker)
        }
    }
}

/// Little-endian byte reader for ledger snapshots; every read checks the bounds.
struct LedgerReader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - offset >= n else { throw LedgerSnapshotError.corrupt }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }
    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func bool() throws -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw LedgerSnapshotError.corrupt
        }
    }
    mutating func u32() throws -> UInt32 { try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    /// A u32 element count, bounded by the bytes left (each element takes at least one byte).
    mutating func count() throws -> Int {
        let n = Int(try u32())
        guard n <= bytes.count - offset else { throw LedgerSnapshotError.corrupt }
        return n
    }
    mutating func u64() throws -> UInt64 { try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    mutating func string() throws -> String {
        let slice = try take(Int(try u32()))
        guard let s = String(validating: slice, as: UTF8.self) else { throw LedgerSnapshotError.corrupt }
        return s
    }
    mutating func enumValue<E: BinanceEnum>() throws -> E {
        let index = Int(try u8())
        guard index < E.allCases.count else { throw LedgerSnapshotError.corrupt }
        return E.allCases[index]
    }

    mutating func permissions() throws -> AccountPermissions {
        AccountPermissions(canTrade: try bool(), canWithdraw: try bool(), canDeposit: try bool())
    }

    mutating func commission() throws -> CommissionSetting {
        switch try u8() {
        case 0: return .standard
        case 1: return .tier(try string())
        case 2: return .rates(maker: try i64(), taker: try i64())
        default: throw LedgerSnapshotError.corrupt
        }
    }
}
