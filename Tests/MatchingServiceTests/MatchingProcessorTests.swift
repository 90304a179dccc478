import ExchangeProtocol
import Foundation
import MatchingEngine
import Messaging
import ServiceKit
import Testing

@testable import MatchingService

@Suite("matching processor")
struct MatchingProcessorTests {
    typealias Processor = MatchingProcessor<ReferenceBook>

    static let unit: Int64 = 100_000_000

    static func funded(_ orderID: UInt64, user: UInt64, _ side: Exchange_V1_Side, price: Int64, quantity: Int64) -> Exchange_V1_Envelope {
        var order = Exchange_V1_PlaceOrder()
        order.userID = user
        order.symbol = "BTCUSDT"
        order.orderID = orderID
        order.clientOrderID = "c\(orderID)"
        order.side = side
        order.type = .limit
        order.timeInForce = .gtc
        order.price = price * unit
        order.quantity = quantity * unit
        let funded = Exchange_V1_FundedOrder(
            order: order, makerCommissionRate: 100_000, takerCommissionRate: 100_000, baseAsset: "BTC", quoteAsset: "USDT")
        return Exchange_V1_Envelope(
            payload: .fundedOrder(funded), requestID: "r\(orderID)", replyTo: "reply.router-1",
            createdAtMs: 1_700_000_000_000 + Int64(orderID), emittedAtMs: 1_700_000_000_100 + Int64(orderID))
    }

    static func input(_ envelope: Exchange_V1_Envelope, offset: Int64) -> ProcessorInput {
        ProcessorInput(
            record: ConsumedRecord(topicPartition: TopicPartition("matching.commands", 0), offset: offset, key: Array("BTCUSDT".utf8),
                                   value: EnvelopeCodec.encode(envelope), timestampMs: 0),
            envelope: envelope)
    }

    @Test func settlementCopiesReuseTheirSourcesPayloadBytesExactlyAsTheEncoderWritesThem() throws {
        var processor = Processor()
        var rng = SplitMix64(seed: 5)
        var copies = 0
        for i in 0..<400 {
            let side: Exchange_V1_Side = rng.chance(50) ? .buy : .sell
            let envelope = Self.funded(UInt64(i + 1), user: UInt64(rng.int(1...5)), side, price: 100 + rng.int(-3...3), quantity: rng.int(1...4))
            let input = Self.input(envelope, offset: Int64(i))
            let outputs = processor.apply(input)
            let stamped = ProcessorOutput.stampAndEncode(outputs, from: input.record, producer: "test")
            #expect(stamped.count == outputs.count)
            for (index, output) in stamped.enumerated() {
                let expected = EnvelopeCodec.encode(outputs[index].stampedEnvelope(from: input.record, index: index, producer: "test"))
                #expect(output.encoded == expected, "output \(index) of command \(i)")
                #expect(try EnvelopeCodec.decode(output.encoded ?? []) == output.envelope)
                if outputs[index].payloadOf != nil { copies += 1 }
            }
        }
        #expect(copies > 400)
    }

    @Test func aCrossingOrderTradesAndEveryOutputIsOnTheWire() throws {
        var processor = Processor()
        let restAll = processor.apply(Self.input(Self.funded(1, user: 10, .sell, price: 100, quantity: 2), offset: 0))
        let rest = restAll.filter { $0.topic == "matching.events" }
        // Settlement copies for the ledger: on orders.requests, keyed by user, no reply_to.
        let restCopies = restAll.filter { $0.topic == "orders.requests" }
        #expect(restCopies.map(\.envelope.payloadKind) == ["order_update"])
        #expect(restCopies.map(\.key) == ["10"] && restCopies.allSatisfy { $0.envelope.replyTo.isEmpty })
        #expect(rest.map(\.envelope.payloadKind) == ["order_update", "book_delta"])
        #expect(rest.allSatisfy { $0.topic == "matching.events" && $0.key == "BTCUSDT" })
        guard case .bookDelta(let restDelta) = rest[1].envelope.payload else { Issue.record("no delta"); return }
        #expect(restDelta.asks.map(\.price) == [100 * Self.unit])
        #expect(restDelta.asks.map(\.quantity) == [2 * Self.unit])

        let takeAll = processor.apply(Self.input(Self.funded(2, user: 20, .buy, price: 101, quantity: 1), offset: 1))
        let take = takeAll.filter { $0.topic == "matching.events" }
        let takeCopies = takeAll.filter { $0.topic == "orders.requests" }
        #expect(takeCopies.map(\.envelope.payloadKind) == ["order_update", "trade", "trade", "order_update", "order_update"])
        #expect(takeCopies.map(\.key) == ["20", "20", "10", "10", "20"])
        #expect(takeCopies.allSatisfy { $0.envelope.replyTo.isEmpty && $0.envelope.requestID == "r2" })
        #expect(takeAll.count == take.count + takeCopies.count)
        #expect(take.map(\.envelope.payloadKind) == ["order_update", "trade", "order_update", "order_update", "book_delta"])
        #expect(take.allSatisfy { $0.envelope.replyTo == "reply.router-1" && $0.envelope.requestID == "r2" })
        guard case .trade(let trade) = take[1].envelope.payload else { Issue.record("no trade"); return }
        #expect(trade.symbol == "BTCUSDT")
        #expect(trade.baseAsset == "BTC" && trade.quoteAsset == "USDT")
        #expect(trade.price == 100 * Self.unit)
        #expect(trade.quantity == 1 * Self.unit)
        #expect(trade.quoteQuantity == 100 * Self.unit)
        #expect(trade.buyerCommission == 100_000)          // 0.1% of 1 BTC
        #expect(trade.sellerCommission == 10_000_000)      // 0.1% of 100 USDT
        guard case .orderUpdate(let taker) = take[3].envelope.payload else { Issue.record("no taker update"); return }
        #expect(taker.status == .filled)
        #expect(taker.commissionAsset == "BTC")
        guard case .bookDelta(let delta) = take[4].envelope.payload else { Issue.record("no delta"); return }
        #expect(delta.asks.map(\.quantity) == [1 * Self.unit])
        #expect(delta.firstUpdateID == restDelta.lastUpdateID + 1)
    }

    @Test func stateRoundTripsAndReplaysIdentically() throws {
        var processor = Processor()
        for i in 0..<20 as Range<UInt64> {
            _ = processor.apply(Self.input(Self.funded(i + 1, user: i % 3, i % 2 == 0 ? .sell : .buy, price: 100 + Int64(i % 5), quantity: 1 + Int64(i % 3)), offset: Int64(i)))
        }
        var restored = try Processor(state: processor.encodeState())
        #expect(restored.stateHash() == processor.stateHash())
        #expect(restored.encodeState() == processor.encodeState())
        let next = Self.input(Self.funded(99, user: 7, .buy, price: 110, quantity: 5), offset: 20)
        let a = processor.apply(next).map { EnvelopeCodec.encode($0.envelope) }
        let b = restored.apply(next).map { EnvelopeCodec.encode($0.envelope) }
        #expect(a == b)
        #expect(restored.stateHash() == processor.stateHash())
    }

    @Test func unknownSymbolCancelAndUnfundedCancelReplaceAreRejected() {
        var processor = Processor()
        var cancel = Exchange_V1_CancelOrder()
        cancel.userID = 5
        cancel.symbol = "ETHBTC"
        cancel.orderID = 77
        let out = processor.apply(Self.input(Exchange_V1_Envelope(payload: .cancelOrder(cancel), createdAtMs: 1, emittedAtMs: 2), offset: 0))
        guard case .orderRejected(let rejected) = out.first?.envelope.payload else { Issue.record("not rejected"); return }
        #expect(rejected.code == -2011)
        #expect(rejected.msg == "Unknown order sent.")

        var replace = Exchange_V1_CancelReplaceOrder()
        replace.symbol = "BTCUSDT"
        let refused = processor.apply(Self.input(Exchange_V1_Envelope(payload: .cancelReplaceOrder(replace), createdAtMs: 1, emittedAtMs: 2), offset: 1))
        guard case .orderRejected(let r2) = refused.first?.envelope.payload else { Issue.record("not rejected"); return }
        #expect(r2.code == -1020)
    }

    @Test func theServiceBookAndTheReferenceBookPutTheSameBytesOnTheWire() throws {
        var fast = MatchingProcessor<FastBook>()
        var reference = Processor()
        var offset: Int64 = 0
        for i in 0..<300 as Range<UInt64> {
            let side: Exchange_V1_Side = (i * 7) % 3 == 0 ? .buy : .sell
            let envelope = Self.funded(i + 1, user: i % 4, side, price: 95 + Int64((i * 13) % 11), quantity: 1 + Int64(i % 4))
            let a = fast.apply(Self.input(envelope, offset: offset)).map { EnvelopeCodec.encode($0.envelope) }
            let b = reference.apply(Self.input(envelope, offset: offset)).map { EnvelopeCodec.encode($0.envelope) }
            #expect(a == b, "order \(i + 1)")
            offset += 1
            if i % 5 == 4 {
                var cancel = Exchange_V1_CancelOrder()
                cancel.userID = (i - 2) % 4
                cancel.symbol = "BTCUSDT"
                cancel.orderID = i - 1
                let c = Exchange_V1_Envelope(payload: .cancelOrder(cancel), createdAtMs: 1, emittedAtMs: 2)
                #expect(fast.apply(Self.input(c, offset: offset)).map { EnvelopeCodec.encode($0.envelope) }
                        == reference.apply(Self.input(c, offset: offset)).map { EnvelopeCodec.encode($0.envelope) })
                offset += 1
            }
        }
        #expect(fast.stateHash() == reference.stateHash())
    }
}
