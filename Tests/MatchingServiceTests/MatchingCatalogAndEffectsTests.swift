import ExchangeProtocol
import Foundation
import MatchingEngine
import Messaging
import Testing

@testable import MatchingService
@testable import ServiceKit

@Suite("matching: symbol catalogue and side effects")
struct MatchingCatalogAndEffectsTests {
    typealias Processor = MatchingProcessor<ReferenceBook>
    static let unit: Int64 = 100_000_000

    static let catalog = SymbolCatalog([
        SymbolConfig(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT",
                     defaultSelfTradePreventionMode: .expireTaker, allowedSelfTradePreventionModes: [.expireTaker, .expireBoth]),
        SymbolConfig(symbol: "NKNUSDT", baseAsset: "NKN", quoteAsset: "USDT", venue: .binance),
    ])

    static func funded(_ orderID: UInt64, user: UInt64, symbol: String = "BTCUSDT", _ side: Exchange_V1_Side, price: Int64,
                       stp: Exchange_V1_SelfTradePreventionMode = .unspecified) -> ProcessorInput {
        var envelope = MatchingProcessorTests.funded(orderID, user: user, side, price: price, quantity: 1)
        guard case .fundedOrder(var funded) = envelope.payload else { fatalError() }
        funded.order.symbol = symbol
        funded.order.selfTradePreventionMode = stp
        envelope.payload = .fundedOrder(funded)
        return MatchingProcessorTests.input(envelope, offset: Int64(orderID))
    }

    static func rejection(_ outputs: [ProcessorOutput]) -> Exchange_V1_OrderRejected? {
        guard outputs.count == 1, case .orderRejected(let rejected) = outputs[0].envelope.payload else { return nil }
        return rejected
    }

    @Test func theCataloguesDefaultModeAppliesAndDisallowedModesAreRejected() throws {
        var processor = Processor()
        processor.settlementCopies = false  // outputs on matching.events only (copies: MatchingProcessorTests)
        processor.catalog = Self.catalog
        _ = processor.apply(Self.funded(1, user: 7, .sell, price: 100))
        // Same user crosses its own order: the catalogue's default EXPIRE_TAKER expires the taker.
        let taker = processor.apply(Self.funded(2, user: 7, .buy, price: 100))
        let updates = taker.compactMap { output -> Exchange_V1_OrderUpdate? in
            if case .orderUpdate(let update) = output.envelope.payload { return update } else { return nil }
        }
        #expect(updates.last?.orderID == 2)
        #expect(updates.last?.status == .expiredInMatch)
        #expect(updates.last?.selfTradePreventionMode == .expireTaker)

        let refused = try #require(Self.rejection(processor.apply(Self.funded(3, user: 7, .buy, price: 90, stp: .expireMaker))))
        #expect(refused.code == BookRejection.stpModeNotAllowed.code)
        #expect(refused.msg == BookRejection.stpModeNotAllowed.message)
    }

    @Test func symbolsOffTheCatalogueOrRoutedToBinanceAreInvalid() throws {
        var processor = Processor()
        processor.settlementCopies = false  // outputs on matching.events only (copies: MatchingProcessorTests)
        processor.catalog = Self.catalog
        for symbol in ["DOGEUSDT", "NKNUSDT"] {
            let refused = try #require(Self.rejection(processor.apply(Self.funded(1, user: 1, symbol: symbol, .buy, price: 1))))
            #expect(refused.code == -1121)
            #expect(refused.msg == "Invalid symbol.")
        }
        #expect(processor.books.isEmpty)
    }

    @Test func catalogueParsesBinanceShapedEntriesAndRefusesBadOnes() throws {
        let text = """
        {"symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC",
        "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.00000100"}],"permissions":["SPOT"]},
        {"symbol":"BNBUSDT","baseAsset":"BNB","quoteAsset":"USDT","venue":"binance","defaultSelfTradePreventionMode":"NONE",
        "allowedSelfTradePreventionModes":["NONE","DECREMENT"]}]}
        """
        let catalog = try SymbolCatalog(json: Data(text.utf8))
        #expect(catalog["ETHBTC"]?.venue == .internal)
        #expect(catalog["ETHBTC"]?.defaultSelfTradePreventionMode == .expireMaker)
        #expect(catalog["ETHBTC"]?.allowedSelfTradePreventionModes == [.expireTaker, .expireMaker, .expireBoth])
        #expect(catalog["BNBUSDT"]?.venue == .binance)
        #expect(catalog["BNBUSDT"]?.allowedSelfTradePreventionModes == [SelfTradePreventionMode.none, .decrement])

        for bad in [
            #"{"symbols":[{"symbol":"A","baseAsset":"X","quoteAsset":"Y"},{"symbol":"A","baseAsset":"X","quoteAsset":"Y"}]}"#,
            #"{"symbols":[{"symbol":"A","baseAsset":"X","quoteAsset":"Y","defaultSelfTradePreventionMode":"NONE"}]}"#,
            #"{"symbols":[{"symbol":"A","baseAsset":"X","quoteAsset":"Y","venue":"moon"}]}"#,
            #"{"symbols":[{"symbol":"","baseAsset":"X","quoteAsset":"Y"}]}"#,
        ] {
            #expect(throws: SymbolCatalog.CatalogError.self) { try SymbolCatalog(json: Data(bad.utf8)) }
        }
        // The shipped catalogue parses.
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/symbols.json").path
        #expect(try SymbolCatalog.load(path: shipped)["BTCUSDT"]?.venue == .internal)
    }

    static func stamped(_ outputs: [ProcessorOutput], offset: Int64) -> [ProcessorOutput] {
        outputs.enumerated().map { index, output in
            var out = output
            out.envelope.eventID = Exchange_V1_EventID(sourceTopic: "matching.commands", sourcePartition: 0, sourceOffset: offset, index: UInt32(index))
            return out
        }
    }

    @Test func oneOutcomePerRequestOnItsReplyChannelWithoutBookDeltas() throws {
        var processor = Processor()
        processor.settlementCopies = false  // outputs on matching.events only (copies: MatchingProcessorTests)
        let rest = Self.stamped(processor.apply(Self.funded(1, user: 1, .sell, price: 100)), offset: 1)
        let take = Self.stamped(processor.apply(Self.funded(2, user: 2, .buy, price: 100)), offset: 2)
        var noReply = take
        for i in noReply.indices { noReply[i].envelope.replyTo = "" }
        let effects = ReplyPlanner(producer: "matching-0").plan(rest + take + noReply)
        #expect(effects.count == 2)
        var outcomes: [Exchange_V1_RequestOutcome] = []
        for effect in effects {
            guard case .publish(let channel, let message) = effect else { Issue.record("not a publish"); continue }
            #expect(channel == "reply.router-1")
            outcomes.append(try Exchange_V1_RequestOutcome(serializedBytes: message))
        }
        #expect(outcomes.map(\.requestID) == ["r1", "r2"])
        #expect(outcomes.allSatisfy { $0.producer == "matching-0" })
        #expect(outcomes[0].events.map(\.payloadKind) == ["order_update"])
        #expect(outcomes[1].events.map(\.payloadKind) == ["order_update", "trade", "order_update", "order_update"])

        // Pre-encoded events are spliced in: the same bytes SwiftProtobuf writes.
        let encoded = take.map { ProcessorOutput(topic: $0.topic, key: $0.key, envelope: $0.envelope, encoded: EnvelopeCodec.encode($0.envelope)) }
        let spliced = ReplyPlanner(producer: "matching-0").outcome(requestID: "r2", events: encoded.filter { $0.envelope.payloadKind != "book_delta" })
        #expect(spliced == EnvelopeCodec.encode(message: outcomes[1]))
    }

    @Test func depthSnapshotsAreRateLimitedPerSymbolAndRedoneAfterAFailure() throws {
        var processor = Processor()
        processor.settlementCopies = false  // outputs on matching.events only (copies: MatchingProcessorTests)
        var planner = MatchingSideEffects<ReferenceBook>(producer: "m", depthLevels: 2, depthIntervalMs: 100)
        func depthWrites(_ effects: [SideEffect]) -> [Exchange_V1_BookDelta] {
            effects.compactMap {
                guard case .set(let key, let value) = $0, key.hasPrefix("depth:") else { return nil }
                return try? Exchange_V1_BookDelta(serializedBytes: value)
            }
        }
        let first = Self.stamped(processor.apply(Self.funded(1, user: 1, .sell, price: 101)), offset: 1)
        let written = depthWrites(planner.plan(durable: first, processors: [processor], nowMs: 1_000))
        #expect(written.map(\.symbol) == ["BTCUSDT"])
        #expect(written.first?.isSnapshot == true)
        #expect(written.first?.lastUpdateID == processor.books["BTCUSDT"]?.lastUpdateID)
        #expect(written.first?.asks.map(\.price) == [101 * Self.unit])

        // Within the interval: held back, then written once it has passed.
        for (i, price) in [102, 103, 104].enumerated() {
            let more = Self.stamped(processor.apply(Self.funded(UInt64(2 + i), user: 1, .sell, price: Int64(price))), offset: Int64(2 + i))
            #expect(depthWrites(planner.plan(durable: more, processors: [processor], nowMs: 1_050)).isEmpty)
        }
        let failed = planner.plan(durable: [], processors: [processor], nowMs: 1_100)
        #expect(depthWrites(failed).first?.asks.map(\.price) == [101 * Self.unit, 102 * Self.unit])  // two levels
        planner.failed(failed)
        let retried = depthWrites(planner.plan(durable: [], processors: [processor], nowMs: 1_101))
        #expect(retried.first?.lastUpdateID == processor.books["BTCUSDT"]?.lastUpdateID)
        #expect(depthWrites(planner.plan(durable: [], processors: [processor], nowMs: 5_000)).isEmpty)  // nothing changed
    }
}

@Suite("matching: funded cancel-replace")
struct MatchingCancelReplaceTests {
    typealias Processor = MatchingProcessor<ReferenceBook>

    static func replace(_ mode: Exchange_V1_CancelReplaceMode, cancelOrderID: UInt64, newOrderID: UInt64, user: UInt64, price: Int64, offset: Int64) -> ProcessorInput {
        guard case .fundedOrder(let funded) = MatchingProcessorTests.funded(newOrderID, user: user, .buy, price: price, quantity: 1).payload else { fatalError() }
        var replace = Exchange_V1_FundedCancelReplace()
        replace.mode = mode
        replace.cancel.userID = user
        replace.cancel.symbol = "BTCUSDT"
        replace.cancel.orderID = cancelOrderID
        replace.place = funded
        return MatchingProcessorTests.input(
            Exchange_V1_Envelope(payload: .fundedCancelReplace(replace), requestID: "cr\(newOrderID)", replyTo: "reply.router-1",
                                 createdAtMs: 1, emittedAtMs: 2),
            offset: offset)
    }

    @Test func aSuccessfulReplaceCancelsThenPlaces() {
        var processor = Processor()
        processor.settlementCopies = false  // outputs on matching.events only (copies: MatchingProcessorTests)
        _ = processor.apply(MatchingProcessorTests.input(MatchingProcessorTests.funded(1, user: 3, .buy, price: 90, quantity: 1), offset: 0))
        let out = processor.apply(Self.replace(.stopOnFailure, cancelOrderID: 1, newOrderID: 2, user: 3, price: 91, offset: 1))
        let updates = out.compactMap { output -> Exchange_V1_OrderUpdate? in
            if case .orderUpdate(let u) = output.envelope.payload { return u } else { return nil }
        }
        #expect(updates.map(\.orderID) == [1, 2])
        #expect(updates.map(\.status) == [.canceled, .new])
        #expect(processor.books["BTCUSDT"]?.openOrderCount == 1)
    }

    @Test func stopOnFailureWithAFailedCancelDoesNotAttemptTheNewOrder() {
        var processor = Processor()
        processor.settlementCopies = false  // outputs on matching.events only (copies: MatchingProcessorTests)
        _ = processor.apply(MatchingProcessorTests.input(MatchingProcessorTests.funded(1, user: 3, .buy, price: 90, quantity: 1), offset: 0))
        let before = processor.stateHash()
        let out = processor.apply(Self.replace(.stopOnFailure, cancelOrderID: 99, newOrderID: 2, user: 3, price: 91, offset: 1))
        let rejections = out.compactMap { output -> Exchange_V1_OrderRejected? in
            if case .orderRejected(let r) = output.envelope.payload { return r } else { return nil }
        }
        #expect(out.count == 2)
        #expect(rejections.map(\.code) == [-2011, -2022])
        #expect(rejections.last?.orderID == 2)
        #expect(rejections.last?.msg == "Order cancel-replace failed.")
        #expect(processor.stateHash() == before)

        // ALLOW_FAILURE places the new order even though the cancel failed.
        let allowed = processor.apply(Self.replace(.allowFailure, cancelOrderID: 99, newOrderID: 3, user: 3, price: 91, offset: 2))
        #expect(allowed.map(\.envelope.payloadKind) == ["order_rejected", "order_update", "book_delta"])
        #expect(processor.books["BTCUSDT"]?.openOrderCount == 2)
    }
}
