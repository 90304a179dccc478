import ExchangeProtocol
import MatchingEngine
import SwiftProtobuf
import Testing

@testable import MatchingService

/// The payload fields matching writes directly are the bytes SwiftProtobuf writes for the
/// messages they stand for, over random values (zeros, negatives, long and non-ASCII strings).
@Suite("matching payloads")
struct MatchingPayloadsTests {
    /// The reference: the protobuf message field by field, as the processor built it before it
    /// wrote the bytes directly.
    static func orderUpdate(_ r: ExecutionReport, symbol: String) -> Exchange_V1_OrderUpdate {
        var u = Exchange_V1_OrderUpdate()
        u.userID = r.userID
        u.symbol = symbol
        u.orderID = r.orderID
        u.clientOrderID = r.clientOrderID
        u.origClientOrderID = r.origClientOrderID
        u.side = r.side.proto
        u.type = r.type.proto
        u.timeInForce = r.timeInForce.proto
        u.quantity = r.quantity
        u.price = r.price
        u.stopPrice = r.stopPrice
        u.icebergQty = r.icebergQty
        u.quoteOrderQty = r.quoteOrderQty
        u.executionType = r.executionType.proto
        u.status = r.status.proto
        u.rejectReason = r.rejectReason
        u.lastExecutedQty = r.lastExecutedQty
        u.cumulativeFilledQty = r.cumulativeQty
        u.cumulativeQuoteQty = r.cumulativeQuoteQty
        u.lastExecutedPrice = r.lastPrice
        u.lastQuoteQty = r.lastQuoteQty
        u.commissionAmount = r.commission
        u.commissionAsset = r.commissionAsset
        u.transactionTime = r.transactionTime
        u.tradeID = r.tradeID
        u.isMaker = r.isMaker
        u.isWorking = r.isWorking
        u.workingTime = r.workingTime
        u.orderCreationTime = r.orderCreationTime
        u.selfTradePreventionMode = r.selfTradePrevention.proto
        u.preventedMatchID = r.preventedMatchID
        u.preventedQuantity = r.preventedQuantity
        u.lastPreventedQuantity = r.lastPreventedQuantity
        u.strategyID = r.strategyID
        u.strategyType = r.strategyType
        return u
    }

    static func trade(_ t: TradeEvent, rules: SymbolRules) -> Exchange_V1_Trade {
        var trade = Exchange_V1_Trade()
        trade.symbol = rules.symbol
        trade.tradeID = t.tradeID
        trade.price = t.price
        trade.quantity = t.quantity
        trade.quoteQuantity = t.quoteQuantity
        trade.buyerOrderID = t.buyerOrderID
        trade.sellerOrderID = t.sellerOrderID
        trade.buyerUserID = t.buyerUserID
        trade.sellerUserID = t.sellerUserID
        trade.buyerIsMaker = t.buyerIsMaker
        trade.time = t.time
        trade.buyerCommission = t.buyerCommission
        trade.sellerCommission = t.sellerCommission
        trade.baseAsset = rules.baseAsset
        trade.quoteAsset = rules.quoteAsset
        return trade
    }

    static func swiftProtobufField(_ payload: Exchange_V1_Envelope.OneOf_Payload) throws -> [UInt8] {
        var envelope = Exchange_V1_Envelope()
        envelope.payload = payload
        return try envelope.serializedBytes()
    }

    static func value(_ rng: inout SplitMix64) -> Int64 {
        switch rng.below(5) {
        case 0: return 0
        case 1: return -Int64(rng.int(1...1_000_000))
        case 2: return Int64(rng.int(1...127))
        case 3: return Int64.max - Int64(rng.int(0...10))
        default: return Int64(rng.int(1...Int64(Int32.max))) * 1_000
        }
    }

    static func text(_ rng: inout SplitMix64) -> String {
        switch rng.below(4) {
        case 0: return ""
        case 1: return "c\(rng.int(0...999))"
        case 2: return String(repeating: "x", count: Int(rng.int(15...200)))
        default: return "ordre-é-\(rng.int(0...99))-注文"
        }
    }

    static func pick<E: BinanceEnum>(_ rng: inout SplitMix64, _ type: E.Type) -> E {
        E.allCases[rng.below(E.allCases.count)]
    }

    @Test("order updates equal SwiftProtobuf's encoding")
    func orderUpdates() throws {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<2_000 {
            let report = ExecutionReport(
                orderID: UInt64(bitPattern: Self.value(&rng)), userID: UInt64(rng.int(0...1_000_000)), clientOrderID: Self.text(&rng),
                origClientOrderID: Self.text(&rng), side: Self.pick(&rng, Side.self), type: Self.pick(&rng, OrderType.self),
                timeInForce: Self.pick(&rng, TimeInForce.self), quantity: Self.value(&rng), price: Self.value(&rng),
                stopPrice: Self.value(&rng), icebergQty: Self.value(&rng), quoteOrderQty: Self.value(&rng),
                executionType: Self.pick(&rng, ExecutionType.self), status: Self.pick(&rng, OrderStatus.self),
                rejectReason: rng.chance(50) ? "NONE" : Self.text(&rng), lastExecutedQty: Self.value(&rng),
                cumulativeQty: Self.value(&rng), cumulativeQuoteQty: Self.value(&rng), lastPrice: Self.value(&rng),
                lastQuoteQty: Self.value(&rng), commission: Self.value(&rng), commissionAsset: Self.text(&rng),
                transactionTime: Self.value(&rng), tradeID: rng.chance(30) ? -1 : Self.value(&rng), isMaker: rng.chance(50),
                isWorking: rng.chance(50), workingTime: Self.value(&rng), orderCreationTime: Self.value(&rng),
                selfTradePrevention: Self.pick(&rng, SelfTradePreventionMode.self), preventedMatchID: Self.value(&rng),
                preventedQuantity: Self.value(&rng), lastPreventedQuantity: Self.value(&rng), strategyID: Self.value(&rng),
                strategyType: rng.chance(20) ? -Int32(rng.int(1...9)) : Int32(rng.int(0...1_000_000)))
            let symbol = rng.chance(10) ? "" : "BTCUSDT"
            let expected = try Self.swiftProtobufField(.orderUpdate(Self.orderUpdate(report, symbol: symbol)))
            #expect(MatchingPayloads.orderUpdateField(report, symbol: symbol) == expected)
        }
    }

    @Test("trades equal SwiftProtobuf's encoding")
    func trades() throws {
        var rng = SplitMix64(seed: 12)
        for _ in 0..<2_000 {
            let trade = TradeEvent(
                tradeID: Self.value(&rng), price: Self.value(&rng), quantity: Self.value(&rng), quoteQuantity: Self.value(&rng),
                buyerOrderID: UInt64(rng.int(0...1_000_000)), sellerOrderID: UInt64(bitPattern: Self.value(&rng)),
                buyerUserID: UInt64(rng.int(0...1_000)), sellerUserID: UInt64(rng.int(0...1_000)), buyerIsMaker: rng.chance(50),
                buyerCommission: Self.value(&rng), sellerCommission: Self.value(&rng), time: Self.value(&rng))
            let rules = SymbolRules(symbol: Self.text(&rng), baseAsset: Self.text(&rng), quoteAsset: Self.text(&rng))
            let expected = try Self.swiftProtobufField(.trade(Self.trade(trade, rules: rules)))
            #expect(MatchingPayloads.tradeField(trade, rules: rules) == expected)
        }
    }

    @Test("book deltas equal SwiftProtobuf's encoding, also past 128 bytes")
    func bookDeltas() throws {
        var rng = SplitMix64(seed: 13)
        for _ in 0..<1_000 {
            let bids = (0..<rng.below(40)).map { _ in (price: Self.value(&rng), quantity: Self.value(&rng)) }
            let asks = (0..<rng.below(40)).map { _ in (price: Self.value(&rng), quantity: Self.value(&rng)) }
            var delta = Exchange_V1_BookDelta()
            delta.symbol = Self.text(&rng)
            delta.firstUpdateID = Self.value(&rng)
            delta.lastUpdateID = Self.value(&rng)
            delta.bids = bids.map { Exchange_V1_PriceLevel(price: $0.price, quantity: $0.quantity) }
            delta.asks = asks.map { Exchange_V1_PriceLevel(price: $0.price, quantity: $0.quantity) }
            delta.eventTime = Self.value(&rng)
            let direct = MatchingPayloads.bookDeltaField(
                symbol: delta.symbol, firstUpdateID: delta.firstUpdateID, lastUpdateID: delta.lastUpdateID,
                bids: bids, asks: asks, eventTime: delta.eventTime)
            #expect(direct == (try Self.swiftProtobufField(.bookDelta(delta))))
        }
    }
}
