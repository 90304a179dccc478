import ExchangeProtocol
import MatchingEngine

/// Matching's hot outputs written as envelope payload fields straight from the book's events,
/// without building the protobuf messages first (`Exchange_V1_OrderUpdate` has 36 fields behind
/// a heap box; building, encoding and freeing one per report was most of the service's CPU).
/// The bytes are exactly what SwiftProtobuf writes for the `OrderUpdate` / `Trade` / `BookDelta`
/// messages holding the same values (fields in number order, zero values omitted;
/// `MatchingPayloadsTests` builds those messages field by field and compares).
enum MatchingPayloads {
    /// Envelope field 17, `order_update`.
    static func orderUpdateField(_ r: ExecutionReport, symbol: String) -> [UInt8] {
        var w = ProtoWriter(capacity: 160 + r.clientOrderID.utf8.count)
        w.tag(0x8A, 0x01)
        w.delimited { w in
            w.uint64(1, r.userID)
            w.string(2, symbol)
            w.uint64(3, r.orderID)
            w.string(4, r.clientOrderID)
            w.string(5, r.origClientOrderID)
            w.enumValue(6, r.side.proto.rawValue)
            w.enumValue(7, r.type.proto.rawValue)
            w.enumValue(8, r.timeInForce.proto.rawValue)
            w.int64(9, r.quantity)
            w.int64(10, r.price)
            w.int64(11, r.stopPrice)
            w.int64(12, r.icebergQty)
            w.int64(13, r.quoteOrderQty)
            w.enumValue(14, r.executionType.proto.rawValue)
            w.enumValue(15, r.status.proto.rawValue)
            w.string(16, r.rejectReason)
            w.int64(17, r.lastExecutedQty)
            w.int64(18, r.cumulativeQty)
            w.int64(19, r.cumulativeQuoteQty)
            w.int64(20, r.lastPrice)
            w.int64(21, r.lastQuoteQty)
            w.int64(22, r.commission)
            w.string(23, r.commissionAsset)
            w.int64(24, r.transactionTime)
            w.int64(25, r.tradeID)
            w.bool(26, r.isMaker)
            w.bool(27, r.isWorking)
            w.int64(28, r.workingTime)
            w.int64(29, r.orderCreationTime)
            w.enumValue(30, r.selfTradePrevention.proto.rawValue)
            w.int64(31, r.preventedMatchID)
            w.int64(32, r.preventedQuantity)
            w.int64(33, r.lastPreventedQuantity)
            w.int64(34, r.strategyID)
            w.int64(35, Int64(r.strategyType))
            // 36 (trailing_delta): trailing stops are not supported, always 0.
        }
        return w.finish()
    }

    /// Envelope field 18, `trade`.
    static func tradeField(_ t: TradeEvent, rules: SymbolRules) -> [UInt8] {
        var w = ProtoWriter(capacity: 128)
        w.tag(0x92, 0x01)
        w.delimited { w in
            w.string(1, rules.symbol)
            w.int64(2, t.tradeID)
            w.int64(3, t.price)
            w.int64(4, t.quantity)
            w.int64(5, t.quoteQuantity)
            w.uint64(6, t.buyerOrderID)
            w.uint64(7, t.sellerOrderID)
            w.uint64(8, t.buyerUserID)
            w.uint64(9, t.sellerUserID)
            w.bool(10, t.buyerIsMaker)
            w.int64(11, t.time)
            w.int64(12, t.buyerCommission)
            w.int64(13, t.sellerCommission)
            w.string(14, rules.baseAsset)
            w.string(15, rules.quoteAsset)
        }
        return w.finish()
    }

    /// Envelope field 19, `book_delta`: the changed levels (price, final quantity) per side.
    static func bookDeltaField(
        symbol: String, firstUpdateID: Int64, lastUpdateID: Int64, bids: [(price: Int64, quantity: Int64)],
        asks: [(price: Int64, quantity: Int64)], eventTime: Int64
    ) -> [UInt8] {
        var w = ProtoWriter(capacity: 48 + 24 * (bids.count + asks.count))
        w.tag(0x9A, 0x01)
        w.delimited { w in
            w.string(1, symbol)
            w.int64(2, firstUpdateID)
            w.int64(3, lastUpdateID)
            for level in bids { w.level(4, level) }
            for level in asks { w.level(5, level) }
            w.int64(6, eventTime)
            // 7 (is_snapshot): false for a delta.
        }
        return w.finish()
    }
}

extension ProtoWriter {
    /// A varint field's key (wire type 0).
    @inline(__always)
    fileprivate mutating func key(_ number: UInt64, wire: UInt64) {
        varint(number << 3 | wire)
    }

    @inline(__always)
    fileprivate mutating func int64(_ number: UInt64, _ value: Int64) {
        guard value != 0 else { return }
        key(number, wire: 0)
        varint(UInt64(bitPattern: value))
    }

    @inline(__always)
    fileprivate mutating func uint64(_ number: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        key(number, wire: 0)
        varint(value)
    }

    /// An enum (or int32) field: negative values sign-extended to ten bytes, as protobuf does.
    @inline(__always)
    fileprivate mutating func enumValue(_ number: UInt64, _ raw: Int) {
        guard raw != 0 else { return }
        key(number, wire: 0)
        varint(UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: raw))))
    }

    @inline(__always)
    fileprivate mutating func bool(_ number: UInt64, _ value: Bool) {
        guard value else { return }
        key(number, wire: 0)
        varint(1)
    }

    @inline(__always)
    fileprivate mutating func string(_ number: UInt64, _ value: String) {
        guard !value.isEmpty else { return }
        key(number, wire: 2)
        string(value)
    }

    /// A `PriceLevel` message field.
    @inline(__always)
    fileprivate mutating func level(_ number: UInt64, _ level: (price: Int64, quantity: Int64)) {
        key(number, wire: 2)
        delimited { w in
            w.int64(1, level.price)
            w.int64(2, level.quantity)
        }
    }
}
