import ExchangeProtocol
import LedgerCore
import MatchingEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ledger in front of real books: random users deposit, place every order type (with every
/// STP mode), cancel, amend, withdraw; funded orders go to a `FastBook`, whose trades and reports
/// come back to the ledger through `MatchingBridge`. A value type, so a copy is an independent twin.
struct EndToEndHarness {
    static let symbols = [("BTCUSDT", "BTC", "USDT"), ("ETHUSDT", "ETH", "USDT")]
    static let assets = ["BTC", "ETH", "USDT"]
    static let stpModes: [SelfTradePreventionMode?] = [nil, SelfTradePreventionMode.none, .expireTaker, .expireMaker, .expireBoth, .decrement]

    /// Total random operations over all seeds (`LEDGER_RANDOM_OPS` overrides; 100,000 checked).
    /// The default keeps the debug suite under half a minute.
    static var totalOperations: Int {
        if let text = getenv("LEDGER_RANDOM_OPS"), let value = Int(String(cString: text)), value > 0 { return value }
        return 20_000
    }

    var ledger: Ledger
    var books: [FastBook]
    var rng: SplitMix64
    let users: UInt64
    var time: Int64 = 1_700_000_000_000
    var nextOrderID: UInt64 = 1
    var nextTxid = 1
    var nextWithdrawal = 1
    /// Funded orders that may still be open (pruned lazily), with what the generator knows.
    var candidates: [(orderID: UInt64, userID: UInt64, book: Int, quantity: Int64)] = []
    var withdrawalIDs: [(id: String, userID: UInt64)] = []
    var txids: [(txid: String, userID: UInt64, asset: String, amount: Int64)] = []
    /// Settlements and terminal reports already applied, to replay as duplicates.
    var settled: [LedgerCommand] = []
    var closedReports: [LedgerCommand] = []
    /// The newest settlement (its orders are often still open, so a replay is a duplicate trade).
    var lastSettled: LedgerCommand?

    /// Every command the ledger saw, in order (for the replay check).
    var log: [LedgerCommand] = []
    var recordLog = true
    /// Bridged commands the ledger refused (must stay empty) and rejections that changed state.
    var failures: [String] = []
    var stats: [String: Int] = [:]

    private var scratch: [LedgerEvent] = []
    private var bookEvents: [MatchingEvent] = []

    init(seed: UInt64, users: UInt64 = 40) {
        rng = SplitMix64(seed: seed)
        self.users = users
        ledger = Ledger()
        books = Self.symbols.map { FastBook(rules: SymbolRules(symbol: $0.0, baseAsset: $0.1, quoteAsset: $0.2)) }
        var events: [LedgerEvent] = []
        for asset in Self.assets { apply(.setAsset(AssetSettings(asset: asset, dualApprovalAbove: 5 * 100_000_000)), into: &events) }
        apply(.setAsset(AssetSettings(asset: "USDT", marketBuyBudgetCap: 400 * 100_000_000)), into: &events)
        for s in Self.symbols { apply(.setSymbol(SymbolSettings(symbol: s.0, baseAsset: s.1, quoteAsset: s.2)), into: &events) }
        apply(.setCommissionTier(CommissionTier(name: "VIP", makerRate: 20_000, takerRate: 75_000)), into: &events)
        for user in 1...users {
            apply(.createAccount(CreateAccount(userID: user)), into: &events)
            switch user % 4 {
            case 1: apply(.setCommission(SetCommission(userID: user, setting: .tier("VIP"))), into: &events)
            case 2: apply(.setCommission(SetCommission(userID: user, setting: .rates(maker: 0, taker: 333_333))), into: &events)
            default: break
            }
            for (asset, amount) in [("USDT", Int64(5_000)), ("BTC", 20), ("ETH", 20)] {
                apply(.deposit(DepositRecord(userID: user, asset: asset, amount: amount * 100_000_000, txid: "seed-\(user)-\(asset)", confirmations: 100)), into: &events)
            }
        }
        events.removeAll()
    }

    mutating func apply(_ command: LedgerCommand, into events: inout [LedgerEvent]) {
        if recordLog { log.append(command) }
        ledger.apply(command, into: &events)
    }

    /// Applies a command that must be accepted (bridged from matching).
    mutating func applyBridged(_ command: LedgerCommand, into events: inout [LedgerEvent]) {
        let start = events.count
        apply(command, into: &events)
        if case .rejected(let r) = events.last, events.count == start + 1 {
            failures.append("bridged command refused (\(r.reason)): \(command)")
        }
    }

    /// Applies a command, checking (on every `checkEvery`th call) that a rejection changed nothing.
    mutating func applyChecked(_ command: LedgerCommand, check: Bool, into events: inout [LedgerEvent]) -> Bool {
        let hash = check ? ledger.stateHash() : 0
        let start = events.count
        apply(command, into: &events)
        guard case .rejected(let r) = events.last else { return true }
        if events.count != start + 1 { failures.append("rejection with other events: \(command)") }
        if check && ledger.stateHash() != hash { failures.append("rejection \(r.reason) changed the state: \(command)") }
        stats["rejected.\(r.reason)", default: 0] += 1
        return false
    }

    func units(_ v: Int64) -> Int64 { v * 100_000_000 }

    /// One random operation; returns every ledger event it produced.
    mutating func step(index: Int) -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        time += 1
        let check = index % 64 == 0
        let roll = rng.below(100)
        switch roll {
        case 0..<58: placeRandomOrder(check: check, into: &events)
        case 58..<72: cancelRandomOrder(into: &events)
        case 72..<76: amendRandomOrder(into: &events)
        case 76..<84: randomDeposit(check: check, into: &events)
        case 84..<96: randomWithdrawalStep(check: check, into: &events)
        case 96..<98:
            let user = UInt64(1 + rng.below(Int(users)))
            let permissions = AccountPermissions(canTrade: !rng.chance(10), canWithdraw: !rng.chance(15), canDeposit: !rng.chance(10))
            _ = applyChecked(.setPermissions(SetPermissions(userID: user, permissions: permissions, time: time)), check: check, into: &events)
        default: replayOrGarbage(into: &events)
        }
        return events
    }

    mutating func placeRandomOrder(check: Bool, into events: inout [LedgerEvent]) {
        let user = UInt64(1 + rng.below(Int(users)))
        let book = rng.below(books.count)
        let symbol = Self.symbols[book].0
        let side: Side = rng.chance(50) ? .buy : .sell
        let centre: Int64 = book == 0 ? 10_000 : 300  // quote per base, whole units
        let tick: Int64 = 1_000_000  // 0.01
        let price = centre * 100_000_000 + Int64(rng.below(41) - 20) * tick * (book == 0 ? 100 : 10)
        // Odd digits for rounding; now and then far more than anyone holds.
        let quantity = Int64(1 + rng.below(5_000)) * 1_003 * (rng.chance(3) ? 10_000 : 1)
        var type: OrderType
        switch rng.below(20) {
        case 0..<9: type = .limit
        case 9..<11: type = .limitMaker
        case 11..<14: type = .market
        case 14..<16: type = rng.chance(50) ? .stopLoss : .takeProfit
        default: type = rng.chance(50) ? .stopLossLimit : .takeProfitLimit
        }
        var quoteOrderQty: Int64 = 0
        var qty = quantity
        if type == .market && side == .buy && rng.chance(50) {
            quoteOrderQty = Int64(1 + rng.below(3_000)) * 100_003
            qty = 0
        }
        let last = books[book].lastTradePrice
        let stopPrice: Int64
        if type == .stopLoss || type == .stopLossLimit || type == .takeProfit || type == .takeProfitLimit {
            // Pick a side of the last price that does not trigger at once (matching refuses those).
            let reference = last > 0 ? last : price
            let rises = (type == .stopLoss || type == .stopLossLimit) == (side == .buy)
            stopPrice = reference + (rises ? 1 : -1) * Int64(1 + rng.below(5)) * tick * 50
        } else {
            stopPrice = 0
        }
        let isLimitPriced = type == .limit || type == .limitMaker || type == .stopLossLimit || type == .takeProfitLimit
        var tif: TimeInForce = .gtc
        if type == .limit || type == .stopLossLimit || type == .takeProfitLimit {
            let r = rng.below(10)
            tif = r < 7 ? .gtc : r < 9 ? .ioc : .fok
        }
        let iceberg: Int64 = (type == .limit && tif == .gtc && rng.chance(10)) ? max(1, qty / 3) : 0
        let stp = Self.stpModes[rng.below(Self.stpModes.count)]
        let orderID = nextOrderID
        nextOrderID += 1
        let request = PlaceOrderRequest(
            userID: user, orderID: orderID, symbol: symbol, side: side, type: type, quantity: qty,
            quoteOrderQty: quoteOrderQty, price: isLimitPriced ? price : 0, time: time)
        let start = events.count
        guard applyChecked(.placeOrder(request), check: check, into: &events) else { return }
        guard case .orderFunded(let funded) = events.last, events.count > start else {
            failures.append("funded order without orderFunded: \(request)")
            return
        }
        stats["funded.\(type.rawValue)", default: 0] += 1
        candidates.append((orderID, user, book, qty))
        let order = MatchingBridge.orderRequest(request, funded: funded, timeInForce: tif, stopPrice: stopPrice, icebergQty: iceberg, stp: stp)
        runBook(book, .place(order), placedOrderID: orderID, into: &events)
    }

    mutating func runBook(_ book: Int, _ command: MatchingCommand, placedOrderID: UInt64?, into events: inout [LedgerEvent]) {
        bookEvents.removeAll(keepingCapacity: true)
        books[book].apply(command, into: &bookEvents)
        for command in MatchingBridge.ledgerCommands(for: bookEvents, placedOrderID: placedOrderID) {
            let start = events.count
            applyBridged(command, into: &events)
            switch command {
            case .settleTrade:
                stats["trades", default: 0] += 1
                lastSettled = command
                if settled.count < 512 { settled.append(command) } else { settled[rng.below(512)] = command }
            case .orderProgress(let p) where p.isTerminal:
                if events[start...].contains(where: { if case .orderClosed = $0 { return true } else { return false } }) {
                    stats["closed.\(p.status.rawValue)", default: 0] += 1
                    if closedReports.count < 512 { closedReports.append(command) } else { closedReports[rng.below(512)] = command }
                }
            default: break
            }
        }
    }

    /// A random candidate still open in the ledger (pruning closed ones).
    mutating func randomOpenCandidate() -> (orderID: UInt64, userID: UInt64, book: Int, quantity: Int64)? {
        while !candidates.isEmpty {
            let index = rng.below(candidates.count)
            let candidate = candidates[index]
            if ledger.openOrder(candidate.orderID) != nil { return candidate }
            candidates.swapAt(index, candidates.count - 1)
            candidates.removeLast()
        }
        return nil
    }

    mutating func cancelRandomOrder(into events: inout [LedgerEvent]) {
        guard let c = randomOpenCandidate() else { return }
        runBook(c.book, .cancel(CancelRequest(userID: c.userID, orderID: c.orderID, time: time)), placedOrderID: nil, into: &events)
    }

    mutating func amendRandomOrder(into events: inout [LedgerEvent]) {
        guard let c = randomOpenCandidate(), c.quantity > 1 else { return }
        let newQuantity = Int64(1 + rng.below(Int(c.quantity - 1)))
        runBook(c.book, .amend(AmendRequest(userID: c.userID, orderID: c.orderID, newQuantity: newQuantity, time: time)), placedOrderID: nil, into: &events)
    }

    mutating func randomDeposit(check: Bool, into events: inout [LedgerEvent]) {
        if !txids.isEmpty && rng.chance(40) {
            // The same txid again: more confirmations (credits once), or a replay.
            let t = txids[rng.below(txids.count)]
            _ = applyChecked(.deposit(DepositRecord(userID: t.userID, asset: t.asset, amount: t.amount, txid: t.txid, confirmations: Int32(rng.below(45)), time: time)), check: check, into: &events)
            return
        }
        let user = UInt64(1 + rng.below(Int(users) + 1))  // sometimes an unknown user
        let asset = rng.chance(3) ? "DOGE" : Self.assets[rng.below(Self.assets.count)]
        let amount = Int64(rng.below(1_000_000_000)) - 1_000
        let txid = "tx\(nextTxid)"
        nextTxid += 1
        if applyChecked(.deposit(DepositRecord(userID: user, asset: asset, amount: amount, txid: txid, confirmations: Int32(rng.below(45)), time: time)), check: check, into: &events) {
            txids.append((txid, user, asset, amount))
        }
    }

    mutating func randomWithdrawalStep(check: Bool, into events: inout [LedgerEvent]) {
        let roll = rng.below(10)
        if roll < 4 || withdrawalIDs.isEmpty {
            let user = UInt64(1 + rng.below(Int(users)))
            let asset = Self.assets[rng.below(Self.assets.count)]
            let id = "w\(nextWithdrawal)"
            nextWithdrawal += 1
            let amount = Int64(rng.below(800_000_000)) + 1
            if applyChecked(.requestWithdrawal(WithdrawalRequest(withdrawalID: id, userID: user, asset: asset, amount: amount, fee: Int64(rng.below(100_000)), time: time)), check: check, into: &events) {
                withdrawalIDs.append((id, user))
            }
            return
        }
        let w = withdrawalIDs[rng.below(withdrawalIDs.count)]
        let step = WithdrawalStep(withdrawalID: w.id, userID: w.userID, operatorName: ["alice", "bob", "carol"][rng.below(3)], time: time)
        let command: LedgerCommand = roll < 7 ? .approveWithdrawal(step) : roll < 9 ? .completeWithdrawal(step) : .failWithdrawal(step)
        _ = applyChecked(command, check: check, into: &events)
    }

    /// A replayed settlement or terminal report, or nonsense: must be refused and change nothing.
    mutating func replayOrGarbage(into events: inout [LedgerEvent]) {
        let command: LedgerCommand
        switch rng.below(4) {
        case 0 where lastSettled != nil: command = lastSettled!
        case 1 where !settled.isEmpty && rng.chance(50): command = settled[rng.below(settled.count)]
        case 2 where !closedReports.isEmpty: command = closedReports[rng.below(closedReports.count)]
        default:
            command = .settleTrade(TradeSettlement(
                tradeID: 1, price: 100, quantity: 1, quoteQuantity: 0, buyerOrderID: nextOrderID + 7, sellerOrderID: 1,
                buyerUserID: 1, sellerUserID: 1))
        }
        let start = events.count
        if applyChecked(command, check: true, into: &events) {
            // Every side of a bridged trade was settled when first seen: accepting a replay is a bug.
            failures.append("replay accepted: \(command) -> \(events[start...])")
        }
    }

    /// Open orders in the books (resting + untriggered stops).
    var bookOpenOrders: Int { books.reduce(0) { $0 + $1.openOrderCount } }
}
