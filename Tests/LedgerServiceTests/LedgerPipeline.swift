import ExchangeProtocol
import Foundation
import LedgerCore
import MatchingEngine
import Messaging
import ServiceKit

@testable import LedgerService
@testable import MatchingService

/// The ledger and matching processors wired in memory as the services are over the log:
/// requests → ledger; its `matching.commands` → matching; matching's settlement copies on
/// `orders.requests` → ledger. Every
/// output gets its event id as the consumer loop would stamp it, and the ledger's planner sees
/// each step's outputs, applied to an in-memory model of the Redis keys it writes.
struct LedgerPipeline {
    var ledger = LedgerProcessor()
    var matching = MatchingProcessor<FastBook>()
    var effects = LedgerSideEffects(instance: "ledger-test", auditIntervalMs: 0)
    var redis = RedisModel()
    /// Everything the ledger appended to `ledger.events`, `matching.commands`, `routing.commands`.
    var ledgerOutputs: [ProcessorOutput] = []
    /// Everything matching appended.
    var matchingOutputs: [ProcessorOutput] = []
    /// Effects of the last step (replies among them).
    var lastEffects: [SideEffect] = []
    private var offsets: [String: Int64] = [:]
    var time: Int64 = 1_700_000_000_000

    init(catalog: SymbolCatalog? = LedgerPipeline.catalog) {
        ledger.adopt(catalog: catalog)
        matching.catalog = catalog
    }

    static let catalog: SymbolCatalog = try! SymbolCatalog.load(path: repositoryRootPath + "/deploy/symbols.json")
    static var repositoryRootPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    private mutating func record(_ topic: String, _ envelope: Exchange_V1_Envelope) -> ConsumedRecord {
        let offset = offsets[topic, default: 0]
        offsets[topic] = offset + 1
        return ConsumedRecord(topicPartition: TopicPartition(topic, 0), offset: offset, key: [], value: EnvelopeCodec.encode(envelope), timestampMs: 0)
    }

    /// Sends one request through the ledger and everything it causes through matching and back;
    /// returns the ledger's outputs for the request itself.
    @discardableResult
    mutating func send(_ payload: Exchange_V1_Envelope.OneOf_Payload, requestID: String = UUID().uuidString) -> [ProcessorOutput] {
        time += 1
        let envelope = Exchange_V1_Envelope(payload: payload, requestID: requestID, replyTo: "reply.router-test",
                                            createdAtMs: time, emittedAtMs: time)
        let outputs = applyLedger(record(Topics.ordersRequests.name, envelope), envelope)
        var step = outputs
        for output in outputs where output.topic == Topics.matchingCommands.name {
            let input = record(Topics.matchingCommands.name, output.envelope)
            for (index, produced) in matching.apply(ProcessorInput(record: input, envelope: output.envelope)).enumerated() {
                let stamped = produced.stampedEnvelope(from: input, index: index, producer: "matching-test")
                matchingOutputs.append(ProcessorOutput(topic: produced.topic, key: produced.key, envelope: stamped))
                // The settlement copies on the user's orders.requests partition are what the ledger reads.
                if produced.topic == Topics.ordersRequests.name {
                    step += applyLedger(record(Topics.ordersRequests.name, stamped), stamped)
                }
            }
        }
        lastEffects = effects.plan(durable: step, processors: [ledger], nowMs: time)
        redis.apply(lastEffects)
        return outputs
    }

    private mutating func applyLedger(_ input: ConsumedRecord, _ envelope: Exchange_V1_Envelope) -> [ProcessorOutput] {
        var stampedOutputs: [ProcessorOutput] = []
        for (index, output) in ledger.apply(ProcessorInput(record: input, envelope: envelope)).enumerated() {
            let stamped = output.stampedEnvelope(from: input, index: index, producer: "ledger-test")
            let out = ProcessorOutput(topic: output.topic, key: output.key, envelope: stamped)
            stampedOutputs.append(out)
            if !output.isEffectOnly { ledgerOutputs.append(out) }
        }
        return stampedOutputs
    }

    // MARK: Requests

    mutating func createAccount(_ user: UInt64) {
        send(.accountAdmin(Exchange_V1_AccountAdmin.with {
            $0.userID = user
            $0.action = .create
            $0.canTrade = true
            $0.canWithdraw = true
            $0.canDeposit = true
            $0.operator = "ops"
        }))
    }

    @discardableResult
    mutating func deposit(_ user: UInt64, _ asset: String, _ amount: String, txid: String, confirmations: Int32 = 100) -> [ProcessorOutput] {
        send(.deposit(Exchange_V1_Deposit.with {
            $0.userID = user
            $0.asset = asset
            $0.amount = fx(amount)
            $0.txid = txid
            $0.confirmations = confirmations
        }))
    }

    @discardableResult
    mutating func place(
        _ user: UInt64, _ orderID: UInt64, _ side: Exchange_V1_Side, _ type: Exchange_V1_OrderType = .limit,
        symbol: String = "BTCUSDT", price: String = "0", quantity: String = "0", quoteOrderQty: String = "0",
        timeInForce: Exchange_V1_TimeInForce = .gtc, requestID: String? = nil
    ) -> [ProcessorOutput] {
        send(.placeOrder(Self.order(user, orderID, side, type, symbol: symbol, price: price, quantity: quantity,
                                    quoteOrderQty: quoteOrderQty, timeInForce: timeInForce)),
             requestID: requestID ?? "place-\(orderID)")
    }

    static func order(
        _ user: UInt64, _ orderID: UInt64, _ side: Exchange_V1_Side, _ type: Exchange_V1_OrderType = .limit,
        symbol: String = "BTCUSDT", price: String = "0", quantity: String = "0", quoteOrderQty: String = "0",
        timeInForce: Exchange_V1_TimeInForce = .gtc
    ) -> Exchange_V1_PlaceOrder {
        Exchange_V1_PlaceOrder.with {
            $0.userID = user
            $0.orderID = orderID
            $0.symbol = symbol
            $0.clientOrderID = "c\(orderID)"
            $0.side = side
            $0.type = type
            $0.timeInForce = type == .limit ? timeInForce : .unspecified
            $0.price = fx(price)
            $0.quantity = fx(quantity)
            $0.quoteOrderQty = fx(quoteOrderQty)
        }
    }

    @discardableResult
    mutating func cancel(_ user: UInt64, _ orderID: UInt64, symbol: String = "BTCUSDT") -> [ProcessorOutput] {
        send(.cancelOrder(Exchange_V1_CancelOrder.with {
            $0.userID = user
            $0.symbol = symbol
            $0.orderID = orderID
        }), requestID: "cancel-\(orderID)")
    }

    // MARK: Reading

    func balance(_ user: UInt64, _ asset: String) -> (free: String, locked: String) {
        let b = ledger.ledger.balance(userID: user, asset: asset)
        return (Fixed8(raw: b.free).description, Fixed8(raw: b.locked).description)
    }

    /// The balance as the Redis projection has it.
    func projectedBalance(_ user: UInt64, _ asset: String) -> (free: String, locked: String)? {
        guard let bytes = redis.hashes[RedisNames.balances(userID: user)]?[asset],
              let balance = try? Exchange_V1_AssetBalance(serializedBytes: bytes) else { return nil }
        return (Fixed8(raw: balance.free).description, Fixed8(raw: balance.locked).description)
    }

    /// The `RequestOutcome`s the last step published on reply channels.
    var lastReplies: [Exchange_V1_RequestOutcome] {
        lastEffects.compactMap {
            guard case .publish(let channel, let message) = $0, channel.hasPrefix("reply.") else { return nil }
            return try? Exchange_V1_RequestOutcome(serializedBytes: message)
        }
    }
}

func fx(_ text: String) -> Int64 { Fixed8(text)!.raw }

/// What the ledger's side effects leave in Redis (strings and hashes; expiry not modelled).
struct RedisModel {
    var strings: [String: [UInt8]] = [:]
    var hashes: [String: [String: [UInt8]]] = [:]
    var published: [(channel: String, message: [UInt8])] = []

    mutating func apply(_ effects: [SideEffect]) {
        for effect in effects {
            switch effect {
            case .publish(let channel, let message): published.append((channel, message))
            case .set(let key, let value), .setExpiring(let key, let value, _): strings[key] = value
            case .delete(let key):
                strings[key] = nil
                hashes[key] = nil
            case .hashSet(let key, let field, let value): hashes[key, default: [:]][field] = value
            case .hashDelete(let key, let field):
                hashes[key]?[field] = nil
                if hashes[key]?.isEmpty == true { hashes[key] = nil }
            case .sortedSetPut:
                break  // the ledger writes no sorted sets
            }
        }
    }
}
