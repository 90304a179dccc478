import ExchangeProtocol
import Foundation
import MatchingEngine
import ServiceKit

/// The matching service's core: one `Book` per symbol, fed from `matching.commands`, answering
/// with `matching.events`. Pure and deterministic like the books (times come from the inputs), so
/// the consumer loop can snapshot it and replay it.
public struct MatchingProcessor<Book: OrderBookEngine>: EventProcessor {
    /// Books by symbol (the service keeps one processor per input partition: that partition's symbols).
    public internal(set) var books: [String: Book] = [:]
    /// Reused between commands so the hot path does not allocate an event array per command.
    private var scratch = MatchingEvents()
    /// The operator's symbols (configuration, not state): a book's assets and self-trade
    /// prevention settings. nil accepts any symbol with the assets its funded order names and
    /// Binance's default settings (tests, benchmarks).
    public var catalog: SymbolCatalog?

    public init() {}

    /// State: for each symbol in sorted order, the symbol and the book's own snapshot (which holds
    /// the symbol's rules and assets), each length-prefixed.
    public init(state: [UInt8]) throws {
        var reader = SnapshotReader(bytes: state, corrupt: MatchingStateError())
        let count = try reader.i64()
        guard count >= 0 else { throw MatchingStateError() }
        for _ in 0..<count {
            let symbol = String(decoding: try reader.lengthPrefixed(), as: UTF8.self)
            books[symbol] = try Book(snapshot: try reader.lengthPrefixed())
        }
    }

    public func encodeState() -> [UInt8] {
        var writer = SnapshotWriter()
        writer.i64(Int64(books.count))
        for symbol in books.keys.sorted() {
            writer.lengthPrefixed(Array(symbol.utf8))
            writer.lengthPrefixed(books[symbol]!.snapshot())
        }
        return writer.bytes
    }

    /// Hash of every book's state, in symbol order (equal for equal states).
    public func stateHash() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for symbol in books.keys.sorted() {
            for byte in symbol.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ books[symbol]!.stateHash()) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// Whether order reports, trades and rejections also go to `orders.requests`, keyed by the
    /// user (a trade once per user), without `reply_to`: the ledger's only input is that topic, so
    /// each of its partitions is one totally ordered log (a place always before its reports) and a
    /// replay after a crash applies exactly what the first run applied, in the same order.
    public var settlementCopies = true

    public mutating func apply(_ input: ProcessorInput) -> [ProcessorOutput] {
        let produced = applyCommand(input)
        var outputs = produced.outputs
        guard settlementCopies else { return outputs }
        for (index, owners) in produced.owners.enumerated() {
            guard let owners else { continue }
            outputs.append(Self.settlementCopy(outputs[index], of: index, user: owners.first))
            if let second = owners.second {
                outputs.append(Self.settlementCopy(outputs[index], of: index, user: second))
            }
        }
        return outputs
    }

    /// The outputs of one command and, for each, the users whose ledger partitions get a copy
    /// (order reports and rejections: the order's user; trades: both sides, once if they are the
    /// same user; book deltas: none). Kept beside the outputs so the copies are made without
    /// reading the payloads back out of the envelopes.
    struct Produced {
        var outputs: [ProcessorOutput] = []
        var owners: [(first: UInt64, second: UInt64?)?] = []

        init() {}

        mutating func append(_ output: ProcessorOutput, owner: UInt64?, second: UInt64? = nil) {
            outputs.append(output)
            owners.append(owner.map { ($0, second) })
        }
    }

    /// The copy of output `index` for the ledger (same payload: the loop reuses its encoded bytes).
    static func settlementCopy(_ output: ProcessorOutput, of index: Int, user: UInt64) -> ProcessorOutput {
        var copy = output
        copy.topic = Topics.ordersRequests.name
        copy.key = String(user)
        copy.storedEnvelope.replyTo = ""
        copy.payloadOf = index
        return copy
    }

    // The consumer loop calls through the protocol, unspecialized; this makes the generic body
    // dispatch to a FastBook-specialized copy (no generic metadata lookups per book access).
    @_specialize(where Book == FastBook)
    /// Applies `command` to `book` in place and returns the book's rules, read from the same access.
    static func apply(_ command: MatchingCommand, to book: inout Book, into events: inout MatchingEvents) -> SymbolRules {
        book.apply(command, into: &events)
        return book.rules
    }

    mutating func applyCommand(_ input: ProcessorInput) -> Produced {
        let envelope = input.envelope
        let time = envelope.emittedAtMs
        let command: (symbol: String, command: MatchingCommand)
        switch envelope.payload {
        case .fundedOrder(let funded):
            switch prepare(funded, envelope) {
            case .success(let request): command = (funded.order.symbol, .place(request))
            case .failure(let rejected): return rejected.produced
            }
        case .cancelOrder(let cancel):
            command = (cancel.symbol, .cancel(Self.cancelRequest(cancel, time: time)))
        case .cancelOpenOrders(let cancel):
            command = (cancel.symbol, .cancelAll(userID: cancel.userID, time: time))
        case .amendOrder(let amend):
            command = (amend.symbol, .amend(AmendRequest(
                userID: amend.userID, orderID: amend.orderID, origClientOrderID: amend.origClientOrderID,
                newClientOrderID: amend.newClientOrderID, newQuantity: amend.newQuantity, time: time)))
        case .cancelReplaceOrder(let replace):
            // Unfunded: the ledger forwards cancel-replaces as `fundedCancelReplace` once it has
            // reserved the new order's funds. Matching an unfunded order would spend unreserved money.
            return rejection(envelope, symbol: replace.symbol, userID: replace.userID, orderID: replace.place.orderID,
                             clientOrderID: replace.place.clientOrderID, code: -1020, message: "This operation is not supported.").produced
        case .fundedCancelReplace(let replace):
            let request: OrderRequest
            switch prepare(replace.place, envelope) {
            case .success(let prepared): request = prepared
            case .failure(let rejected): return rejected.produced
            }
            guard let mode = CancelReplaceMode(proto: replace.mode) else {
                return rejection(envelope, symbol: replace.place.order.symbol, userID: request.userID, orderID: request.orderID,
                                 clientOrderID: request.clientOrderID, code: -1013, message: "Invalid order.").produced
            }
            command = (replace.place.order.symbol, .cancelReplace(CancelReplaceRequest(
                mode: mode, cancel: Self.cancelRequest(replace.cancel, time: time), place: request)))
        default:
            return Produced()
        }
        // `index(forKey:)`, not `books[symbol] != nil`: reading the subscript copies the book out
        // (a retain and release of every buffer it holds, every command).
        guard books.index(forKey: command.symbol) != nil else {
            // No order was ever placed on this symbol: nothing to cancel or amend.
            let userID: UInt64
            switch command.command {
            case .cancel(let c): userID = c.userID
            case .amend(let a): userID = a.userID
            case .cancelAll(let user, _): userID = user
            default: userID = 0
            }
            return rejection(envelope, symbol: command.symbol, userID: userID, orderID: 0, clientOrderID: "",
                             code: BookRejection.unknownOrder.code, message: BookRejection.unknownOrder.message).produced
        }
        scratch.removeAll(keepingCapacity: true)
        // In place: a copy taken out of the dictionary would share its storage, and the first
        // mutation would copy the whole book (every command, O(book size)).
        let rules = Self.apply(command.command, to: &books[command.symbol]!, into: &scratch)
        var produced = outputs(for: scratch, rules: rules, input: envelope)
        if case .cancelReplace(let replace) = command.command, replace.mode == .stopOnFailure,
           scratch.count == 1, case .rejected = scratch[0] {
            // The cancel failed, so the new order was not attempted: say so, so that the ledger
            // releases its reservation and the router answers Binance's -2022 shape.
            rejection(envelope, symbol: command.symbol, userID: replace.place.userID, orderID: replace.place.orderID,
                      clientOrderID: replace.place.clientOrderID, code: -2022, message: "Order cancel-replace failed.").add(to: &produced)
        }
        return produced
    }

    /// A funded order as the book takes it: the catalogue's checks and default STP mode applied,
    /// its book created on first use. A failure is the rejection to emit.
    private mutating func prepare(_ funded: Exchange_V1_FundedOrder, _ envelope: Exchange_V1_Envelope) -> Result<OrderRequest, Rejected> {
        let order = funded.order
        guard var request = Self.orderRequest(funded, time: envelope.emittedAtMs) else {
            return .failure(rejected(order, envelope, code: -1013, message: "Invalid order."))
        }
        let config = catalog?[order.symbol]
        if catalog != nil {
            // Listed, internal, trading: otherwise the order should never have been funded.
            guard let config, config.venue == .internal, config.status == "TRADING" else {
                return .failure(rejected(order, envelope, code: -1121, message: "Invalid symbol."))
            }
            // The catalogue's current settings apply to every new order, also on books created
            // (and snapshotted) under older settings.
            let mode = request.selfTradePrevention ?? config.defaultSelfTradePreventionMode
            guard config.allowedSelfTradePreventionModes.contains(mode) else {
                return .failure(rejected(order, envelope, code: BookRejection.stpModeNotAllowed.code,
                                         message: BookRejection.stpModeNotAllowed.message))
            }
            request.selfTradePrevention = mode
        }
        if books.index(forKey: order.symbol) == nil {
            books[order.symbol] = Book(rules: Self.rules(symbol: order.symbol, funded: funded, config: config))
        }
        return .success(request)
    }

    /// A rejection output, as the failure of `prepare`.
    struct Rejected: Error {
        var output: ProcessorOutput
        /// The rejected order's user, whose ledger partition gets a copy (none for user 0).
        var userID: UInt64

        var produced: Produced {
            var produced = Produced()
            add(to: &produced)
            return produced
        }

        func add(to produced: inout Produced) {
            produced.append(output, owner: userID == 0 ? nil : userID)
        }
    }

    /// The rejection of a new order.
    private func rejected(_ order: Exchange_V1_PlaceOrder, _ envelope: Exchange_V1_Envelope, code: Int32, message: String) -> Rejected {
        rejection(envelope, symbol: order.symbol, userID: order.userID, orderID: order.orderID,
                  clientOrderID: order.clientOrderID, code: code, message: message)
    }

    /// A new book's settings: the catalogue's, else the funded order's assets and Binance's defaults.
    static func rules(symbol: String, funded: Exchange_V1_FundedOrder, config: SymbolConfig?) -> SymbolRules {
        guard let config else { return SymbolRules(symbol: symbol, baseAsset: funded.baseAsset, quoteAsset: funded.quoteAsset) }
        return SymbolRules(
            symbol: symbol, baseAsset: config.baseAsset, quoteAsset: config.quoteAsset,
            defaultSelfTradePrevention: config.defaultSelfTradePreventionMode,
            allowedSelfTradePrevention: Set(config.allowedSelfTradePreventionModes))
    }

    // MARK: Wire mapping

    static func orderRequest(_ funded: Exchange_V1_FundedOrder, time: Int64) -> OrderRequest? {
        let order = funded.order
        guard let side = Side(proto: order.side), let type = OrderType(proto: order.type) else { return nil }
        let stp: SelfTradePreventionMode? = SelfTradePreventionMode(proto: order.selfTradePreventionMode)
        return OrderRequest(
            orderID: order.orderID, userID: order.userID, clientOrderID: order.clientOrderID, side: side, type: type,
            timeInForce: TimeInForce(proto: order.timeInForce) ?? .gtc, price: order.price, quantity: order.quantity,
            quoteOrderQty: order.quoteOrderQty, stopPrice: order.stopPrice, icebergQty: order.icebergQty,
            selfTradePrevention: stp, quoteBudget: order.side == .sell ? funded.baseBudget : funded.quoteBudget, makerCommissionRate: funded.makerCommissionRate,
            takerCommissionRate: funded.takerCommissionRate, strategyID: order.strategyID, strategyType: order.strategyType,
            time: time)
    }

    static func cancelRequest(_ cancel: Exchange_V1_CancelOrder, time: Int64) -> CancelRequest {
        CancelRequest(
            userID: cancel.userID, orderID: cancel.orderID, origClientOrderID: cancel.origClientOrderID,
            newClientOrderID: cancel.newClientOrderID, cancelRestrictions: CancelRestrictions(proto: cancel.cancelRestrictions),
            time: time)
    }

    /// Reports, trades and rejections in the book's order, keyed by symbol, then one `BookDelta`
    /// with every level the command changed (final quantity per level, update ids first..last).
    /// Reports, trades and the delta are written as payload bytes directly (`MatchingPayloads`).
    private func outputs(for events: MatchingEvents, rules: SymbolRules, input: Exchange_V1_Envelope) -> Produced {
        let symbol = rules.symbol
        var outputs = Produced()
        var firstUpdateID: Int64 = 0
        var lastUpdateID: Int64 = 0
        var bids: [(price: Int64, quantity: Int64)] = []
        var asks: [(price: Int64, quantity: Int64)] = []
        /// Each changed level's final quantity: found by a scan while few, by index beyond that.
        func set(_ levels: inout [(price: Int64, quantity: Int64)], _ index: inout [Int64: Int], price: Int64, quantity: Int64) {
            if levels.count <= 16 {
                if let at = levels.firstIndex(where: { $0.price == price }) {
                    levels[at].quantity = quantity
                    return
                }
            } else {
                if index.isEmpty { for (at, level) in levels.enumerated() { index[level.price] = at } }
                if let at = index[price] {
                    levels[at].quantity = quantity
                    return
                }
                index[price] = levels.count
            }
            levels.append((price, quantity))
        }
        var bidIndex: [Int64: Int] = [:]
        var askIndex: [Int64: Int] = [:]
        let header = Self.header(input)
        for event in events {
            switch event {
            case .report(let report):
                outputs.append(output(MatchingPayloads.orderUpdateField(report, symbol: symbol), kind: .orderUpdate, symbol: symbol, header: header),
                               owner: report.userID)
            case .trade(let trade):
                outputs.append(output(MatchingPayloads.tradeField(trade, rules: rules), kind: .trade, symbol: symbol, header: header),
                               owner: trade.buyerUserID, second: trade.sellerUserID == trade.buyerUserID ? nil : trade.sellerUserID)
            case .rejected(let rejected):
                rejection(input, symbol: symbol, userID: rejected.userID, orderID: rejected.orderID,
                          clientOrderID: rejected.clientOrderID, code: rejected.code, message: rejected.message).add(to: &outputs)
            case .levelChanged(let side, let price, let quantity, let updateID):
                if firstUpdateID == 0 { firstUpdateID = updateID }
                lastUpdateID = updateID
                if side == .buy { set(&bids, &bidIndex, price: price, quantity: quantity) } else { set(&asks, &askIndex, price: price, quantity: quantity) }
            }
        }
        if lastUpdateID != 0 {
            let field = MatchingPayloads.bookDeltaField(
                symbol: symbol, firstUpdateID: firstUpdateID, lastUpdateID: lastUpdateID, bids: bids, asks: asks, eventTime: input.emittedAtMs)
            outputs.append(output(field, kind: .bookDelta, symbol: symbol, header: header), owner: nil)
        }
        return outputs
    }

    /// An output on `matching.events` whose payload is already encoded, keyed by its symbol (the
    /// depth planner reads the key).
    private func output(_ payloadField: [UInt8], kind: OutputKind, symbol: String, header: Exchange_V1_Envelope) -> ProcessorOutput {
        ProcessorOutput(topic: Topics.matchingEvents.name, key: symbol, header: header, payloadField: payloadField, kind: kind)
    }

    /// The envelope fields every output of `input` shares, without a payload (the loop stamps each
    /// output's copy).
    static func header(_ input: Exchange_V1_Envelope) -> Exchange_V1_Envelope {
        var header = Exchange_V1_Envelope()
        header.schemaVersion = exchangeSchemaVersion
        header.requestID = input.requestID
        header.replyTo = input.replyTo
        header.createdAtMs = input.createdAtMs
        header.emittedAtMs = input.emittedAtMs
        return header
    }

    private func rejection(
        _ input: Exchange_V1_Envelope, symbol: String, userID: UInt64, orderID: UInt64, clientOrderID: String, code: Int32, message: String
    ) -> Rejected {
        var rejected = Exchange_V1_OrderRejected()
        rejected.userID = userID
        rejected.symbol = symbol
        rejected.orderID = orderID
        rejected.clientOrderID = clientOrderID
        rejected.code = code
        rejected.msg = message
        rejected.time = input.emittedAtMs
        var envelope = Self.header(input)
        envelope.payload = .orderRejected(rejected)
        return Rejected(
            output: ProcessorOutput(topic: Topics.matchingEvents.name, key: symbol, envelope: envelope, kind: .orderRejected), userID: userID)
    }
}

extension SnapshotWriter {
    /// Bytes with an Int64 length (the processor state's framing).
    mutating func lengthPrefixed(_ value: [UInt8]) {
        i64(Int64(value.count))
        raw(value)
    }
}

extension SnapshotReader {
    /// What `lengthPrefixed(_:)` wrote.
    mutating func lengthPrefixed() throws -> [UInt8] {
        let count = try i64()
        guard count >= 0, count <= Int64(bytes.count - offset) else { throw MatchingStateError() }
        return Array(try take(Int(count)))
    }
}

/// A processor state that is truncated or malformed.
struct MatchingStateError: Error {}
