import ArgumentParser
import ExchangeProtocol
import Foundation
import LedgerCore
import MatchingEngine

/// `exchange bench ledger`: the ledger's reserve → fill → settle → release cycle.
///
/// `--mode core` (the only mode today; `service` is for the ledger service through the event log,
/// to come) measures the pure `Ledger` on one thread. The workload is generated first, untimed:
/// random users place orders on FastBooks (mostly LIMIT GTC near the touch, some IOC and MARKET,
/// cancels), and every ledger command of the cycle is recorded exactly as the service would pass
/// it: `placeOrder`, then for matching's output one `settleTrade` per trade and one
/// `orderProgress` per order report (NEW and partial reports are no-ops for the ledger; terminal
/// ones release). The timed part replays those commands on a fresh ledger that has only the
/// untimed setup (assets, symbols, accounts, deposits).
/// Latency: the clock is read around batches of 64 commands (as `bench matching`), so
/// percentiles are of 64-command means.
struct BenchLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Ledger core postings/s, ops/s and ns/command on a reserve/settle/release workload.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case core
    }

    @Option(help: "What to measure: core (the pure ledger on one thread).")
    var mode: Mode = .core

    @Option(help: "Orders placed in the timed workload.")
    var orders: Int = 300_000

    @Option(help: "Accounts.")
    var users: Int = 10_000

    @Option(help: "RNG seed.")
    var seed: UInt64 = 1

    @Flag(help: "Do not emit one .posting event per posting (balance changes only).")
    var noPostingEvents = false

    func run() async throws {
        guard orders > 0, users > 1 else { throw ValidationError("--orders and --users must be positive (users > 1)") }
        if let status = try BenchMallocCounter.rerunWithCounter() {
            if status != 0 { throw ExitCode(status) }
            return
        }
        var workload = LedgerBenchWorkload(users: users, seed: seed, emitsPostings: !noPostingEvents)
        workload.generate(orders: orders)
        let result = workload.measure()
        try printJSON([
            "benchmark": "ledger", "mode": mode.rawValue, "orders": orders, "users": users, "seed": seed,
            "symbols": LedgerBenchWorkload.symbols.map(\.0), "posting_events": !noPostingEvents,
            "mix": ["limit_gtc": 0.6, "limit_ioc": 0.15, "market": 0.1, "cancel": 0.15],
            "latency_method": "ContinuousClock around batches of 64 ledger commands; ns = batch time / 64",
            "allocations_per_command": BenchMallocCounter.available
                ? "measured (allocations_per_command), counted by a preloaded malloc counter"
                : "not measured (libExchangeMallocCounter.so not found beside the executable)",
            "result": result,
        ])
    }
}

/// Generates the ledger command stream against shadow books and a shadow ledger, then replays it.
struct LedgerBenchWorkload {
    static let symbols = [("BTCUSDT", "BTC", "USDT", Int64(60_000)), ("ETHUSDT", "ETH", "USDT", 3_000), ("SOLUSDT", "SOL", "USDT", 150)]
    static let assets = ["BTC", "ETH", "SOL", "USDT"]
    static let scale: Int64 = 100_000_000

    let users: Int
    let emitsPostings: Bool
    var rng: SplitMix64
    var setup: [LedgerCommand] = []
    var timed: [LedgerCommand] = []
    var shadow: Ledger
    var books: [FastBook]
    var open: [[(orderID: UInt64, userID: UInt64)]]
    var nextOrderID: UInt64 = 1
    var kinds: [String: Int] = [:]
    /// Setup commands the ledger refused (must be 0: the totals per asset must fit in Int64).
    var setupRejections = 0
    private var ledgerEvents: [LedgerEvent] = []
    private var bookEvents = MatchingEvents()

    init(users: Int, seed: UInt64, emitsPostings: Bool) {
        self.users = users
        self.emitsPostings = emitsPostings
        rng = SplitMix64(seed: seed)
        shadow = Ledger(configuration: LedgerConfiguration(emitsPostings: false))
        books = Self.symbols.map { FastBook(rules: SymbolRules(symbol: $0.0, baseAsset: $0.1, quoteAsset: $0.2)) }
        open = Array(repeating: [], count: Self.symbols.count)
        ledgerEvents.reserveCapacity(256)
        bookEvents.reserveCapacity(256)
    }

    mutating func record(_ command: LedgerCommand, timed isTimed: Bool) {
        ledgerEvents.removeAll(keepingCapacity: true)
        shadow.apply(command, into: &ledgerEvents)
        if isTimed {
            timed.append(command)
        } else {
            setup.append(command)
            if case .rejected = ledgerEvents.last { setupRejections += 1 }
        }
    }

    mutating func generate(orders: Int) {
        for asset in Self.assets { record(.setAsset(AssetSettings(asset: asset)), timed: false) }
        for s in Self.symbols { record(.setSymbol(SymbolSettings(symbol: s.0, baseAsset: s.1, quoteAsset: s.2)), timed: false) }
        for user in 1...UInt64(users) {
            record(.createAccount(CreateAccount(userID: user)), timed: false)
            for asset in Self.assets {
                // Every asset's total over all users must fit in Int64 raw units (9.2e10 whole units).
                let amount: Int64 = asset == "USDT" ? 1_000_000 : asset == "BTC" ? 1_000 : 100_000
                record(.deposit(DepositRecord(userID: user, asset: asset, amount: amount * Self.scale, txid: "\(user)-\(asset)", confirmations: 100)), timed: false)
            }
        }
        timed.reserveCapacity(orders * 4)
        var placed = 0
        while placed < orders {
            let book = rng.below(Self.symbols.count)
            if rng.below(100) < 15, !open[book].isEmpty {
                let index = rng.below(open[book].count)
                let target = open[book][index]
                runBook(book, .cancel(CancelRequest(userID: target.userID, orderID: target.orderID, time: 0)), placed: nil)
                continue
            }
            placed += 1
            place(book: book)
        }
    }

    mutating func place(book: Int) {
        let (symbol, _, _, centre) = Self.symbols[book]
        let tick = centre * Self.scale / 10_000  // 1 bp
        let user = UInt64(1 + rng.below(users))
        let side: Side = rng.below(2) == 0 ? .buy : .sell
        let roll = rng.below(85)
        let type: OrderType = roll < 75 ? .limit : .market
        let tif: TimeInForce = roll < 60 ? .gtc : .ioc
        // Passive GTCs rest near the touch; IOCs cross by a few ticks; a full book gets crossing GTCs.
        let crossing = tif == .ioc || open[book].count > 2_000
        let offset = Int64(crossing ? -rng.below(4) : 1 + rng.below(20))
        let price = centre * Self.scale + (side == .buy ? -offset : offset) * tick
        // About 100 to 5,000 USDT worth, with odd low digits.
        let quantity = Int64(1 + rng.below(50)) * 100 * Self.scale / centre + Int64(rng.below(1_000))
        var quoteOrderQty: Int64 = 0
        var qty = quantity
        if type == .market && side == .buy && rng.below(2) == 0 {
            quoteOrderQty = Int64(Int128(quantity) * Int128(centre))
            qty = 0
        }
        let orderID = nextOrderID
        nextOrderID += 1
        let request = PlaceOrderRequest(
            userID: user, orderID: orderID, symbol: symbol, side: side, type: type, quantity: qty,
            quoteOrderQty: quoteOrderQty, price: type == .limit ? price : 0, time: 0)
        record(.placeOrder(request), timed: true)
        kinds["placeOrder", default: 0] += 1
        guard let funded = ledgerEvents.lazy.compactMap({ event -> FundedOrderInfo? in
            if case .orderFunded(let f) = event { return f } else { return nil }
        }).first else { return }
        let order = OrderRequest(
            orderID: orderID, userID: user, side: side, type: type, timeInForce: tif, price: request.price, quantity: qty,
            quoteOrderQty: quoteOrderQty, quoteBudget: funded.quoteBudget, makerCommissionRate: funded.makerCommissionRate,
            takerCommissionRate: funded.takerCommissionRate, time: 0)
        open[book].append((orderID, user))
        runBook(book, .place(order), placed: orderID)
    }

    /// Applies to the book; turns its output into ledger commands (recorded) and prunes `open`.
    mutating func runBook(_ book: Int, _ command: MatchingCommand, placed: UInt64?) {
        bookEvents.removeAll(keepingCapacity: true)
        books[book].apply(command, into: &bookEvents)
        var closed: [UInt64] = []
        for event in bookEvents {
            switch event {
            case .trade(let t):
                kinds["settleTrade", default: 0] += 1
                record(.settleTrade(TradeSettlement(
                    tradeID: t.tradeID, price: t.price, quantity: t.quantity, quoteQuantity: t.quoteQuantity,
                    buyerOrderID: t.buyerOrderID, sellerOrderID: t.sellerOrderID, buyerUserID: t.buyerUserID,
                    sellerUserID: t.sellerUserID, buyerIsMaker: t.buyerIsMaker, buyerCommission: t.buyerCommission,
                    sellerCommission: t.sellerCommission, time: t.time)), timed: true)
            case .report(let r):
                let progress = OrderProgress(
                    orderID: r.orderID, userID: r.userID, executionType: r.executionType, status: r.status,
                    quantity: r.quantity, cumulativeQty: r.cumulativeQty, preventedQuantity: r.preventedQuantity,
                    time: r.transactionTime)
                kinds[progress.isTerminal ? "orderProgress.terminal" : "orderProgress.other", default: 0] += 1
                if progress.isTerminal { closed.append(r.orderID) }
                record(.orderProgress(progress), timed: true)
            case .rejected(let r):
                if r.orderID == placed {
                    kinds["orderProgress.terminal", default: 0] += 1
                    closed.append(r.orderID)
                    record(.orderProgress(OrderProgress(orderID: r.orderID, userID: r.userID, executionType: .rejected, status: .rejected)), timed: true)
                }
            case .levelChanged:
                break
            }
        }
        if !closed.isEmpty {
            open[book].removeAll { entry in closed.contains(entry.orderID) }
        }
    }

    /// Replays setup (untimed) then the timed commands on a fresh ledger.
    func measure() -> [String: Any] {
        var ledger = Ledger(configuration: LedgerConfiguration(emitsPostings: emitsPostings))
        ledger.reserveCapacity(users: users, accounts: users * Self.assets.count, openOrders: 16_384)
        var events: [LedgerEvent] = []
        events.reserveCapacity(256)
        for command in setup {
            events.removeAll(keepingCapacity: true)
            ledger.apply(command, into: &events)
        }
        let postingsBefore = ledger.postingCount
        let batch = 64
        var batchNs: [Double] = []
        batchNs.reserveCapacity(timed.count / batch + 1)
        var eventCount = 0
        var rejections: [LedgerRejectionReason: Int] = [:]
        let clock = ContinuousClock()
        let allocationsBefore = BenchMallocCounter.read()
        let start = clock.now
        var index = 0
        while index < timed.count {
            let end = min(index + batch, timed.count)
            let t0 = clock.now
            for i in index..<end {
                events.removeAll(keepingCapacity: true)
                ledger.apply(timed[i], into: &events)
                eventCount &+= events.count
                if case .rejected(let r) = events.last { rejections[r.reason, default: 0] += 1 }
            }
            let t1 = clock.now
            batchNs.append(BenchWorkload.nanoseconds(t1 - t0) / Double(end - index))
            index = end
        }
        let total = clock.now - start
        let allocationsAfter = BenchMallocCounter.read()
        let postings = Int(ledger.postingCount - postingsBefore)
        batchNs.sort()
        func percentile(_ p: Double) -> Int {
            Int(batchNs[min(batchNs.count - 1, Int(Double(batchNs.count) * p))].rounded())
        }
        let seconds = BenchWorkload.nanoseconds(total) / 1e9
        let audit = ledger.audit()
        return [
            "setup_rejections": setupRejections,
            "commands": timed.count, "commands_by_kind": kinds, "seconds": seconds,
            "postings": postings, "postings_per_s": Int(Double(postings) / seconds),
            "ops_per_s": Int(Double(timed.count) / seconds),
            "trades_per_s": Int(Double(kinds["settleTrade", default: 0]) / seconds),
            "ns_per_command": ["p50": percentile(0.50), "p99": percentile(0.99), "p99_9": percentile(0.999),
                               "max": Int(batchNs.last!.rounded())],
            "events_per_command": Double(eventCount) / Double(timed.count),
            "rejections": Dictionary(uniqueKeysWithValues: rejections.map { ("\($0.key)", $0.value) }),
            "open_orders_after": ledger.openOrderCount,
            "audit_clean": audit.isClean,
            "state_hash": String(ledger.stateHash(), radix: 16),
            "allocations_per_command": allocationsBefore.flatMap { before in
                allocationsAfter.map { Double($0 - before) / Double(timed.count) }
            } ?? "not measured",
        ]
    }
}
