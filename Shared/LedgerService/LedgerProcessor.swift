import ExchangeProtocol
import LedgerCore
import ServiceKit

/// The ledger service's core: the double-entry `Ledger` fed from `orders.requests` (the users of
/// the partitions this instance owns) and `matching.events` (every symbol; only the sides of
/// orders funded here are settled). Pure and deterministic like the ledger (times come from the
/// inputs), so the consumer loop snapshots and replays it.
///
/// Outputs: funded orders, cancels and amends to `matching.commands` (or `routing.commands` for
/// `venue: binance` symbols), balance changes, rejections and the record of every administrative
/// change to `ledger.events`, and (effect-only) the order reports of its users for the Redis
/// projections and user channels. `docs/ledger-service.md` lists them per input.
public struct LedgerProcessor: EventProcessor {
    public internal(set) var ledger: Ledger
    /// Orders funded here whose first report from matching has not arrived yet. A matching
    /// rejection naming one of them is the rejection of the place (release the reservation); a
    /// rejection naming any other order is about a cancel or amend and changes nothing here.
    public internal(set) var awaitingFirstReport: Set<UInt64> = []
    /// The operator's symbols (configuration, not state): which symbols trade, where they route.
    /// nil accepts the symbols the ledger already knows, routed to matching (tests, benchmarks).
    public private(set) var catalog: SymbolCatalog?
    /// Trades and reports about orders held here that the ledger refused (matching and ledger
    /// disagree: an alarm, counted, not state).
    public private(set) var refusedMatchingEvents = 0
    private var scratch: [LedgerEvent] = []

    /// The service's ledger settings: the defaults, journal postings not emitted (the
    /// history projection that would consume them is a later issue).
    public static let configuration = LedgerConfiguration(emitsPostings: false)

    public init() {
        ledger = Ledger(configuration: Self.configuration)
    }

    // MARK: State

    private static let magic: [UInt8] = Array("LSP1".utf8)

    /// "LSP1", the ledger's snapshot (length-prefixed), the awaiting order ids (sorted).
    public init(state: [UInt8]) throws {
        var reader = SnapshotReader(bytes: state, corrupt: LedgerProcessorStateError())
        guard Array(try reader.take(4)) == Self.magic else { throw LedgerProcessorStateError() }
        let length = try reader.i64()
        guard length >= 0, length <= Int64(state.count) else { throw LedgerProcessorStateError() }
        ledger = try Ledger(snapshot: Array(try reader.take(Int(length))))
        let count = try reader.i64()
        guard count >= 0 else { throw LedgerProcessorStateError() }
        for _ in 0..<count { awaitingFirstReport.insert(UInt64(bitPattern: try reader.i64())) }
    }

    public func encodeState() -> [UInt8] {
        var writer = SnapshotWriter()
        writer.raw(Self.magic)
        let snapshot = ledger.snapshot()
        writer.i64(Int64(snapshot.count))
        writer.raw(snapshot)
        writer.i64(Int64(awaitingFirstReport.count))
        for id in awaitingFirstReport.sorted() { writer.i64(Int64(bitPattern: id)) }
        return writer.bytes
    }

    /// Hash of the whole state (equal for equal states).
    public func stateHash() -> UInt64 {
        var hash = ledger.stateHash()
        for id in awaitingFirstReport.sorted() { hash = (hash ^ id) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    /// Takes the catalogue and makes sure the ledger knows its assets and symbols (missing ones are
    /// created with the ledger's defaults; existing asset settings are left as the operator set
    /// them). Deterministic for a given catalogue, so a replay after restart gives the same state.
    public mutating func adopt(catalog: SymbolCatalog?) {
        self.catalog = catalog
        guard let catalog else { return }
        var ignored: [LedgerEvent] = []
        for config in catalog.symbols.values.sorted(by: { $0.symbol < $1.symbol }) {
            for asset in [config.baseAsset, config.quoteAsset] where ledger.assetState(asset) == nil {
                ledger.apply(.setAsset(AssetSettings(asset: asset)), into: &ignored)
            }
            if ledger.symbolAssets(config.symbol).map({ $0 != (config.baseAsset, config.quoteAsset) }) ?? true {
                ledger.apply(.setSymbol(SymbolSettings(symbol: config.symbol, baseAsset: config.baseAsset, quoteAsset: config.quoteAsset)), into: &ignored)
            }
        }
    }

    // MARK: Apply

    public mutating func apply(_ input: ProcessorInput) -> [ProcessorOutput] {
        let envelope = input.envelope
        let time = envelope.emittedAtMs
        switch envelope.payload {
        case .placeOrder(let order):
            guard !order.testOnly else { return [] }
            return place(order, envelope)
        case .cancelOrder(let cancel):
            return forward(.cancelOrder(cancel), symbol: cancel.symbol, userID: cancel.userID, orderID: cancel.orderID,
                           clientOrderID: cancel.newClientOrderID, envelope)
        case .cancelOpenOrders(let cancel):
            return forward(.cancelOpenOrders(cancel), symbol: cancel.symbol, userID: cancel.userID, orderID: 0,
                           clientOrderID: "", envelope)
        case .amendOrder(let amend):
            return forward(.amendOrder(amend), symbol: amend.symbol, userID: amend.userID, orderID: amend.orderID,
                           clientOrderID: amend.newClientOrderID, envelope)
        case .cancelReplaceOrder(let replace):
            return cancelReplace(replace, envelope)
        case .orderUpdate(let update):
            return progress(update, envelope)
        case .trade(let trade):
            return settle(trade, envelope)
        case .orderRejected(let rejected):
            return matchingRejected(rejected, envelope)
        case .deposit(let deposit):
            return admin(.deposit(DepositRecord(
                userID: deposit.userID, asset: deposit.asset, amount: deposit.amount, txid: deposit.txid,
                confirmations: deposit.confirmations, time: time)), userID: deposit.userID, envelope)
        case .withdrawal(let w):
            guard let command = LedgerWire.withdrawalCommand(w, time: time) else {
                return [adminRejection(.invalidAmount, userID: w.userID, envelope)]
            }
            return admin(command, userID: w.userID, envelope)
        case .accountAdmin(let a):
            guard let command = LedgerWire.accountCommand(a, time: time) else {
                return [adminRejection(.invalidName, userID: a.userID, envelope)]
            }
            return admin(command, userID: a.userID, envelope)
        case .apiKeyAdmin(let k):
            guard let command = LedgerWire.apiKeyCommand(k, time: time) else {
                return [adminRejection(.invalidApiKey, userID: k.userID, envelope)]
            }
            return admin(command, userID: k.userID, envelope)
        case .assetAdmin(let a):
            return admin(.setAsset(AssetSettings(
                asset: a.asset, depositConfirmations: a.hasDepositConfirmations ? a.depositConfirmations : nil,
                dualApprovalAbove: a.hasDualApprovalAbove ? a.dualApprovalAbove : nil,
                marketBuyBudgetCap: a.hasMarketBuyBudgetCap ? a.marketBuyBudgetCap : nil, time: time)), userID: 0,
                operatorName: a.operator, envelope)
        case .commissionTierAdmin(let t):
            return admin(.setCommissionTier(CommissionTier(name: t.name, makerRate: t.makerRate, takerRate: t.takerRate, time: time)),
                         userID: 0, operatorName: t.operator, envelope)
        default:
            // Book deltas, our own outputs echoed back, payloads for other services.
            return []
        }
    }

    /// Reserve and forward, or reject.
    private mutating func place(_ order: Exchange_V1_PlaceOrder, _ envelope: Exchange_V1_Envelope) -> [ProcessorOutput] {
        switch fund(order, envelope) {
        case .failure(let rejected):
            return [rejected.output]
        case .success(let funded):
            var outputs = funded.balanceChanges
            outputs.append(commandOutput(.fundedOrder(funded.order), symbol: order.symbol, envelope))
            return outputs
        }
    }

    struct Funded {
        var order: Exchange_V1_FundedOrder
        var balanceChanges: [ProcessorOutput]
    }

    struct Rejected: Error {
        var output: ProcessorOutput
    }

    /// The reservation of a new order: the catalogue's checks, then the ledger's.
    private mutating func fund(_ order: Exchange_V1_PlaceOrder, _ envelope: Exchange_V1_Envelope) -> Result<Funded, Rejected> {
        if let catalog {
            guard let config = catalog[order.symbol], config.status == "TRADING" else {
                return .failure(Rejected(output: orderRejection(order, code: -1121, message: "Invalid symbol.", envelope)))
            }
        }
        guard let side = Side(proto: order.side), let type = OrderType(proto: order.type) else {
            return .failure(Rejected(output: orderRejection(order, code: -1013, message: "Invalid order.", envelope)))
        }
        scratch.removeAll(keepingCapacity: true)
        ledger.apply(.placeOrder(PlaceOrderRequest(
            userID: order.userID, orderID: order.orderID, symbol: order.symbol, side: side, type: type,
            quantity: order.quantity, quoteOrderQty: order.quoteOrderQty, price: order.price, time: envelope.emittedAtMs)),
            into: &scratch)
        var balanceChanges: [ProcessorOutput] = []
        for event in scratch {
            switch event {
            case .balanceChanged(let change):
                balanceChanges.append(ledgerOutput(.balanceChange(LedgerWire.balanceChange(change)), userID: change.userID, envelope))
            case .orderFunded(let info):
                awaitingFirstReport.insert(order.orderID)
                let funded = Exchange_V1_FundedOrder(
                    order: order, makerCommissionRate: info.makerCommissionRate, takerCommissionRate: info.takerCommissionRate,
                    baseAsset: info.baseAsset, quoteAsset: info.quoteAsset, quoteBudget: info.quoteBudget)
                var withReservation = funded
                withReservation.reservedAsset = info.reservedAsset
                withReservation.reservedAmount = info.reservedAmount
                // A SELL never sells more base than it reserved (matters for MARKET by quote).
                if side == .sell { withReservation.baseBudget = info.reservedAmount }
                return .success(Funded(order: withReservation, balanceChanges: balanceChanges))
            case .rejected(let rejection):
                return .failure(Rejected(output: orderRejection(
                    order, code: rejection.binanceCode ?? -1000, message: rejection.message, envelope)))
            default:
                continue
            }
        }
        // The ledger always ends a place with funded or rejected.
        return .failure(Rejected(output: orderRejection(order, code: -1000, message: "An unknown error occurred while processing the request.", envelope)))
    }

    /// Cancel-replace: the new order is funded from the free balance before the cancel runs. If it
    /// cannot be funded, the cancel still goes ahead and the new order is rejected, which is what
    /// Binance answers as -2021 "Order cancel-replace partially failed." (cancel SUCCESS, new order
    /// FAILURE). Known difference: Binance funds the new order after the cancel, so a replacement
    /// that needs the cancelled order's own funds succeeds there and fails here.
    private mutating func cancelReplace(_ replace: Exchange_V1_CancelReplaceOrder, _ envelope: Exchange_V1_Envelope) -> [ProcessorOutput] {
        switch fund(replace.place, envelope) {
        case .failure(let rejected):
            let cancel = forward(.cancelOrder(replace.cancel), symbol: replace.cancel.symbol, userID: replace.userID,
                                 orderID: replace.cancel.orderID, clientOrderID: replace.cancel.newClientOrderID, envelope)
            return cancel + [rejected.output]
        case .success(let funded):
            var outputs = funded.balanceChanges
            outputs.append(commandOutput(
                .fundedCancelReplace(Exchange_V1_FundedCancelReplace.with {
                    $0.mode = replace.mode
                    $0.cancel = replace.cancel
                    $0.place = funded.order
                }), symbol: replace.symbol, envelope))
            return outputs
        }
    }

    /// A cancel, cancel-all or amend goes to the symbol's venue as it came (matching answers it).
    private func forward(
        _ payload: Exchange_V1_Envelope.OneOf_Payload, symbol: String, userID: UInt64, orderID: UInt64,
        clientOrderID: String, _ envelope: Exchange_V1_Envelope
    ) -> [ProcessorOutput] {
        if let catalog, catalog[symbol] == nil {
            var rejected = Exchange_V1_OrderRejected()
            rejected.userID = userID
            rejected.symbol = symbol
            rejected.orderID = orderID
            rejected.clientOrderID = clientOrderID
            rejected.code = -1121
            rejected.msg = "Invalid symbol."
            rejected.time = envelope.emittedAtMs
            return [replyOutput(.orderRejected(rejected), userID: userID, envelope)]
        }
        return [commandOutput(payload, symbol: symbol, envelope)]
    }

    /// An order report from matching: for an order held here, release what it no longer needs and
    /// project the report (effect-only) for the user's open orders and stream.
    private mutating func progress(_ update: Exchange_V1_OrderUpdate, _ envelope: Exchange_V1_Envelope) -> [ProcessorOutput] {
        guard ledger.openOrder(update.orderID) != nil,
              let executionType = ExecutionType(proto: update.executionType),
              let status = OrderStatus(proto: update.status) else { return [] }
        awaitingFirstReport.remove(update.orderID)
        scratch.removeAll(keepingCapacity: true)
        ledger.apply(.orderProgress(OrderProgress(
            orderID: update.orderID, userID: update.userID, executionType: executionType, status: status,
            quantity: update.quantity, cumulativeQty: update.cumulativeFilledQty,
            preventedQuantity: update.preventedQuantity, time: envelope.emittedAtMs)), into: &scratch)
        // The report first (executionReport before outboundAccountPosition, as Binance sends them).
        var outputs = [ProcessorOutput.effectOnly(key: String(update.userID), envelope: passThrough(.orderUpdate(update), envelope))]
        outputs += balanceOutputs(envelope)
        return outputs
    }

    /// A trade from matching: settle the sides held here.
    private mutating func settle(_ trade: Exchange_V1_Trade, _ envelope: Exchange_V1_Envelope) -> [ProcessorOutput] {
        let buyerHeld = ledger.openOrder(trade.buyerOrderID) != nil
        let sellerHeld = ledger.openOrder(trade.sellerOrderID) != nil
        guard buyerHeld || sellerHeld else { return [] }
        if buyerHeld { awaitingFirstReport.remove(trade.buyerOrderID) }
        if sellerHeld { awaitingFirstReport.remove(trade.sellerOrderID) }
        scratch.removeAll(keepingCapacity: true)
        ledger.apply(.settleTrade(TradeSettlement(
            tradeID: trade.tradeID, price: trade.price, quantity: trade.quantity, quoteQuantity: trade.quoteQuantity,
            buyerOrderID: trade.buyerOrderID, sellerOrderID: trade.sellerOrderID, buyerUserID: trade.buyerUserID,
            sellerUserID: trade.sellerUserID, buyerIsMaker: trade.buyerIsMaker, buyerCommission: trade.buyerCommission,
            sellerCommission: trade.sellerCommission, time: envelope.emittedAtMs)), into: &scratch)
        return balanceOutputs(envelope)
    }

    /// A matching rejection: only the rejection of a place (an order funded here and never
    /// reported on) releases anything.
    private mutating func matchingRejected(_ rejected: Exchange_V1_OrderRejected, _ envelope: Exchange_V1_Envelope) -> [ProcessorOutput] {
        guard awaitingFirstReport.contains(rejected.orderID), ledger.openOrder(rejected.orderID) != nil else { return [] }
        awaitingFirstReport.remove(rejected.orderID)
        scratch.removeAll(keepingCapacity: true)
        ledger.apply(.orderProgress(OrderProgress(
            orderID: rejected.orderID, userID: rejected.userID, executionType: .rejected, status: .rejected,
            time: envelope.emittedAtMs)), into: &scratch)
        return balanceOutputs(envelope)
    }

    /// The balance changes in `scratch` as `ledger.events` records; a refusal is counted.
    private mutating func balanceOutputs(_ envelope: Exchange_V1_Envelope) -> [ProcessorOutput] {
        var outputs: [ProcessorOutput] = []
        for event in scratch {
            switch event {
            case .balanceChanged(let change):
                outputs.append(ledgerOutput(.balanceChange(LedgerWire.balanceChange(change)), userID: change.userID, envelope))
            case .rejected(let rejection) where rejection.reason != .duplicateTrade:
                refusedMatchingEvents += 1
            default:
                continue
            }
        }
        return outputs
    }

    /// An operator or account command: its record (or rejection) on `ledger.events`, answered to
    /// the requester, and any balance changes.
    private mutating func admin(
        _ command: LedgerCommand, userID: UInt64, operatorName: String = "", _ envelope: Exchange_V1_Envelope
    ) -> [ProcessorOutput] {
        scratch.removeAll(keepingCapacity: true)
        ledger.apply(command, into: &scratch)
        var outputs: [ProcessorOutput] = []
        for event in scratch {
            switch event {
            case .balanceChanged(let change):
                outputs.append(ledgerOutput(.balanceChange(LedgerWire.balanceChange(change)), userID: change.userID, envelope))
            case .rejected(let rejection):
                outputs.append(adminRejection(rejection.reason, userID: userID, envelope))
            case .depositRecorded(let d):
                outputs.append(replyOutput(.deposit(LedgerWire.deposit(d, envelope: envelope)), userID: d.userID, envelope))
            case .withdrawalChanged(let w):
                outputs.append(replyOutput(.withdrawal(LedgerWire.withdrawal(w, envelope: envelope)), userID: w.userID, envelope))
            case .accountChanged(let a):
                outputs.append(replyOutput(.accountAdmin(LedgerWire.account(a)), userID: a.userID, envelope))
            case .apiKeyChanged(let k):
                outputs.append(replyOutput(.apiKeyAdmin(LedgerWire.apiKey(k)), userID: k.key.userID, envelope))
            case .assetChanged(let a):
                outputs.append(replyOutput(.assetAdmin(LedgerWire.asset(a, operatorName: operatorName)), userID: 0, envelope))
            case .commissionTierChanged(let t):
                outputs.append(replyOutput(.commissionTierAdmin(Exchange_V1_CommissionTierAdmin.with {
                    $0.name = t.name
                    $0.makerRate = t.makerRate
                    $0.takerRate = t.takerRate
                    $0.operator = operatorName
                    $0.time = t.time
                }), userID: 0, envelope))
            default:
                continue
            }
        }
        return outputs
    }

    // MARK: Output construction

    private func orderRejection(_ order: Exchange_V1_PlaceOrder, code: Int32, message: String, _ envelope: Exchange_V1_Envelope) -> ProcessorOutput {
        var rejected = Exchange_V1_OrderRejected()
        rejected.userID = order.userID
        rejected.symbol = order.symbol
        rejected.orderID = order.orderID
        rejected.clientOrderID = order.clientOrderID
        rejected.code = code
        rejected.msg = message
        rejected.time = envelope.emittedAtMs
        return replyOutput(.orderRejected(rejected), userID: order.userID, envelope)
    }

    private func adminRejection(_ reason: LedgerRejectionReason, userID: UInt64, _ envelope: Exchange_V1_Envelope) -> ProcessorOutput {
        var rejected = Exchange_V1_AdminRejected()
        rejected.userID = userID
        rejected.reason = "\(reason)"
        rejected.code = reason.binanceCode ?? -1000
        rejected.msg = reason.message
        rejected.time = envelope.emittedAtMs
        return replyOutput(.adminRejected(rejected), userID: userID, envelope)
    }

    /// A `ledger.events` record the requester waits for (keeps `reply_to`).
    private func replyOutput(_ payload: Exchange_V1_Envelope.OneOf_Payload, userID: UInt64, _ envelope: Exchange_V1_Envelope) -> ProcessorOutput {
        ProcessorOutput(topic: Topics.ledgerEvents.name, key: String(userID), envelope: passThrough(payload, envelope))
    }

    /// A `ledger.events` record no one waits for (request id kept for tracing, no `reply_to`).
    private func ledgerOutput(_ payload: Exchange_V1_Envelope.OneOf_Payload, userID: UInt64, _ envelope: Exchange_V1_Envelope) -> ProcessorOutput {
        var out = passThrough(payload, envelope)
        out.replyTo = ""
        return ProcessorOutput(topic: Topics.ledgerEvents.name, key: String(userID), envelope: out)
    }

    /// A command for the symbol's venue: matching (internal) or the Binance routing adapter.
    private func commandOutput(_ payload: Exchange_V1_Envelope.OneOf_Payload, symbol: String, _ envelope: Exchange_V1_Envelope) -> ProcessorOutput {
        let topic = catalog?[symbol]?.venue == .binance ? Topics.routingCommands : Topics.matchingCommands
        return ProcessorOutput(topic: topic.name, key: symbol, envelope: passThrough(payload, envelope))
    }

    private func passThrough(_ payload: Exchange_V1_Envelope.OneOf_Payload, _ envelope: Exchange_V1_Envelope) -> Exchange_V1_Envelope {
        Exchange_V1_Envelope(
            payload: payload, requestID: envelope.requestID, replyTo: envelope.replyTo,
            createdAtMs: envelope.createdAtMs, emittedAtMs: envelope.emittedAtMs)
    }
}

/// A processor state that is truncated or malformed.
struct LedgerProcessorStateError: Error {}
