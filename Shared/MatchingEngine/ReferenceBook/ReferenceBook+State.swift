import ExchangeProtocol

/// Why `ReferenceBook(snapshot:)` refused its bytes.
public enum ReferenceBookSnapshotError: Error, Equatable, Sendable {
    /// Not a reference-book snapshot of this version.
    case badHeader
    /// The bytes end before the state does.
    case truncated
    /// Bytes left over after the state.
    case trailingBytes
    /// An enum index, bool or string that is not valid.
    case badValue
}

extension ReferenceBook {
    // MARK: stateHash

    /// FNV-1a 64 over the canonical state (the layout both books must produce; integers are
    /// 8 bytes little-endian, `UInt64` as its bit pattern):
    ///
    /// 1. every resting order in priority order, bids best-first then asks best-first:
    ///    `orderID, userID, remaining, visible, cumulativeQty, utf8Count(clientOrderID)`, then the
    ///    clientOrderID's UTF-8 bytes;
    /// 2. every untriggered stop in placement order: `orderID`;
    /// 3. `tradeID, updateID, preventedMatchID` as the contract's counters, i.e. the id the NEXT
    ///    trade / level change / prevention gets (all 1 in an empty book), then `lastTradePrice`.
    ///
    /// `remaining` is base quantity still to trade (`quantity - cumulativeQty - preventedQuantity`)
    /// and `visible` what the level shows (an iceberg's current slice).
    public func stateHash() -> UInt64 {
        var hasher = FNV1a64()
        for order in bids + asks {
            hasher.add(order.orderID)
            hasher.add(order.userID)
            hasher.add(order.remaining)
            hasher.add(order.visible)
            hasher.add(order.cumulativeQty)
            hasher.add(order.clientOrderID)
        }
        for order in stops { hasher.add(order.orderID) }
        hasher.add(nextTradeID)
        hasher.add(nextUpdateID)
        hasher.add(nextPreventedMatchID)
        hasher.add(lastTradePrice)
        return hasher.value
    }

    // MARK: Snapshot

    static let magic: [UInt8] = Array("RBOOK1".utf8)

    /// Everything, in a private versioned format: header, rules, counters, then bids, asks and
    /// stops (count, then each order's every field). `init(snapshot:)` reproduces it byte for byte.
    public func snapshot() -> [UInt8] {
        var w = ReferenceSnapshotWriter()
        w.bytes.append(contentsOf: Self.magic)
        w.string(rules.symbol)
        w.string(rules.baseAsset)
        w.string(rules.quoteAsset)
        w.enumIndex(rules.defaultSelfTradePrevention)
        let allowed = SelfTradePreventionMode.allCases.filter { rules.allowedSelfTradePrevention.contains($0) }
        w.int(Int64(allowed.count))
        for mode in allowed { w.enumIndex(mode) }
        w.int(nextTradeID)
        w.int(nextUpdateID)
        w.int(nextPreventedMatchID)
        w.int(lastTradePrice)
        for list in [bids, asks, stops] {
            w.int(Int64(list.count))
            for order in list { w.order(order) }
        }
        return w.bytes
    }

    /// Restores a book from `snapshot()`'s bytes.
    public init(snapshot: [UInt8]) throws {
        var r = ReferenceSnapshotReader(bytes: snapshot)
        guard snapshot.count >= Self.magic.count, Array(snapshot[0..<Self.magic.count]) == Self.magic else {
            throw ReferenceBookSnapshotError.badHeader
        }
        r.offset = Self.magic.count
        let symbol = try r.string()
        let base = try r.string()
        let quote = try r.string()
        let defaultMode: SelfTradePreventionMode = try r.enumValue()
        var allowed = Set<SelfTradePreventionMode>()
        for _ in 0..<(try r.count()) { allowed.insert(try r.enumValue()) }
        let rules = SymbolRules(symbol: symbol, baseAsset: base, quoteAsset: quote,
                                defaultSelfTradePrevention: defaultMode, allowedSelfTradePrevention: allowed)
        let tradeID = try r.int()
        let updateID = try r.int()
        let preventedMatchID = try r.int()
        let lastPrice = try r.int()
        var lists: [[ReferenceOrder]] = []
        for _ in 0..<3 {
            var list: [ReferenceOrder] = []
            for _ in 0..<(try r.count()) { list.append(try r.order()) }
            lists.append(list)
        }
        guard r.offset == snapshot.count else { throw ReferenceBookSnapshotError.trailingBytes }
        self.init(rules: rules, bids: lists[0], asks: lists[1], stops: lists[2], nextTradeID: tradeID,
                  nextUpdateID: updateID, nextPreventedMatchID: preventedMatchID, lastTradePrice: lastPrice)
    }
}

/// FNV-1a, 64 bits.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(byte: UInt8) {
        value ^= UInt64(byte)
        value &*= 0x0000_0100_0000_01b3
    }

    /// 8 bytes, least significant first.
    mutating func add(_ v: UInt64) {
        // A plain while loop: `stride` costs generic-metadata lookups per step in debug builds.
        var rest = v
        var i = 0
        while i < 8 {
            add(byte: UInt8(truncatingIfNeeded: rest))
            rest >>= 8
            i += 1
        }
    }

    mutating func add(_ v: Int64) { add(UInt64(bitPattern: v)) }

    /// Length prefix (8 bytes) then UTF-8.
    mutating func add(_ s: String) {
        add(UInt64(s.utf8.count))
        for byte in s.utf8 { add(byte: byte) }
    }
}

struct ReferenceSnapshotWriter {
    var bytes: [UInt8] = []

    /// 8 bytes, little-endian.
    mutating func uint(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int(_ v: Int64) { uint(UInt64(bitPattern: v)) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    mutating func string(_ s: String) {
        uint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func enumIndex<E: BinanceEnum>(_ value: E) {
        bytes.append(UInt8(E.allCases.firstIndex(of: value)!))
    }

    mutating func order(_ o: ReferenceOrder) {
        uint(o.orderID)
        uint(o.userID)
        string(o.clientOrderID)
        enumIndex(o.side)
        enumIndex(o.type)
        enumIndex(o.timeInForce)
        int(o.price)
        int(o.quantity)
        int(o.quoteOrderQty)
        int(o.stopPrice)
        int(o.icebergQty)
        enumIndex(o.selfTradePrevention)
        int(o.quoteBudget)
        int(o.makerCommissionRate)
        int(o.takerCommissionRate)
        int(o.strategyID)
        int(Int64(o.strategyType))
        int(o.orderCreationTime)
        int(o.workingTime)
        bool(o.isWorking)
        int(o.cumulativeQty)
        int(o.cumulativeQuoteQty)
        int(o.preventedQuantity)
        int(o.remaining)
        int(o.visible)
    }
}

struct ReferenceSnapshotReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw ReferenceBookSnapshotError.truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// 8 bytes, little-endian.
    mutating func uint() throws -> UInt64 {
        guard bytes.count - offset >= 8 else { throw ReferenceBookSnapshotError.truncated }
        var v: UInt64 = 0
        var i = 7
        while i >= 0 {
            v = v << 8 | UInt64(bytes[offset + i])
            i -= 1
        }
        offset += 8
        return v
    }

    mutating func int() throws -> Int64 { Int64(bitPattern: try uint()) }

    /// A non-negative count no larger than the bytes left (so garbage cannot ask for huge loops).
    mutating func count() throws -> Int {
        let v = try uint()
        guard v <= UInt64(bytes.count - offset) else { throw ReferenceBookSnapshotError.truncated }
        return Int(v)
    }

    mutating func bool() throws -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        default: throw ReferenceBookSnapshotError.badValue
        }
    }

    mutating func string() throws -> String {
        let n = try count()
        let slice = bytes[offset..<offset + n]
        offset += n
        let s = String(decoding: slice, as: UTF8.self)
        // Invalid UTF-8 would decode with replacement characters and not round-trip.
        guard s.utf8.elementsEqual(slice) else { throw ReferenceBookSnapshotError.badValue }
        return s
    }

    mutating func enumValue<E: BinanceEnum>() throws -> E {
        let index = Int(try byte())
        guard index < E.allCases.count else { throw ReferenceBookSnapshotError.badValue }
        return E.allCases[index]
    }

    mutating func order() throws -> ReferenceOrder {
        ReferenceOrder(
            orderID: try uint(), userID: try uint(), clientOrderID: try string(), side: try enumValue(),
            type: try enumValue(), timeInForce: try enumValue(), price: try int(), quantity: try int(),
            quoteOrderQty: try int(), stopPrice: try int(), icebergQty: try int(),
            selfTradePrevention: try enumValue(), quoteBudget: try int(), makerCommissionRate: try int(),
            takerCommissionRate: try int(), strategyID: try int(), strategyType: try strategyType(),
            orderCreationTime: try int(), workingTime: try int(), isWorking: try bool(), cumulativeQty: try int(),
            cumulativeQuoteQty: try int(), preventedQuantity: try int(), remaining: try int(), visible: try int())
    }

    mutating func strategyType() throws -> Int32 {
        let v = try int()
        guard let t = Int32(exactly: v) else { throw ReferenceBookSnapshotError.badValue }
        return t
    }
}
