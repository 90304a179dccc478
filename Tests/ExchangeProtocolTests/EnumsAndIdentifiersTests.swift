import ExchangeProtocol
import Testing

@Suite("Binance enums and identifiers")
struct EnumsAndIdentifiersTests {
    /// The Swift case, the Binance string and the protobuf value agree: the proto value's Swift
    /// name is the Binance string in lowerCamelCase (ORDER_STATUS_PARTIALLY_FILLED <-> partiallyFilled).
    static func checkMapping<E: BinanceEnum>(_ type: E.Type) {
        for (index, value) in E.allCases.enumerated() {
            #expect(value.caseIndex == index, "\(E.self).\(value): caseIndex \(value.caseIndex), allCases position \(index)")
            let proto = value.proto
            #expect(E(proto: proto) == value)
            let camel = value.rawValue.lowercased().split(separator: "_").enumerated()
                .map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
            #expect(String(describing: proto) == camel, "\(E.self).\(value) maps to \(proto)")
        }
        #expect(E(proto: E.Proto(rawValue: 0)!) == nil)
    }

    @Test func everyEnumMapsOntoItsProto() {
        Self.checkMapping(Side.self)
        Self.checkMapping(OrderType.self)
        Self.checkMapping(TimeInForce.self)
        Self.checkMapping(OrderStatus.self)
        Self.checkMapping(ExecutionType.self)
        Self.checkMapping(SelfTradePreventionMode.self)
        Self.checkMapping(ResponseType.self)
        Self.checkMapping(CancelReplaceMode.self)
        Self.checkMapping(CancelRestrictions.self)
    }

    @Test func binanceStrings() {
        #expect(OrderType(rawValue: "STOP_LOSS_LIMIT") == .stopLossLimit)
        #expect(OrderStatus.expiredInMatch.rawValue == "EXPIRED_IN_MATCH")
        #expect(SelfTradePreventionMode(rawValue: "EXPIRE_BOTH") == .expireBoth)
        #expect(Side(rawValue: "buy") == nil)
    }

    @Test func symbolsAndAssets() {
        #expect(Symbol(rawValue: "BTCUSDT") != nil)
        #expect(Symbol(rawValue: "btcusdt") == nil)
        #expect(Symbol(rawValue: "") == nil)
        #expect(Symbol(rawValue: String(repeating: "A", count: 21)) == nil)
        #expect(Asset(rawValue: "USDT")?.description == "USDT")
    }

    @Test func orderIDsAreUniqueAndTimeOrdered() {
        var generator = OrderIDGenerator(node: 7)
        var previous = OrderID(0)
        let start: Int64 = 1_763_000_000_000
        for i in 0..<20_000 {
            // 5,000 ids within each millisecond (more than the 4,096 sequence) and one clock step back.
            let now = start + Int64(i / 5_000) - (i == 12_000 ? 3 : 0)
            let id = generator.next(nowMs: now)
            #expect(id > previous)
            previous = id
        }
        var first = OrderIDGenerator(node: 1)
        let id = first.next(nowMs: start)
        #expect(OrderIDGenerator.timestampMs(of: id) == start)
        var other = OrderIDGenerator(node: 2)
        #expect(other.next(nowMs: start) != id)
    }
}
