import ArgumentParser
import ExchangeProtocol
import Foundation
import MatchingEngine

/// `exchange bench matching`: FastBook throughput and latency on exchange-core's single-pair
/// workload (9% GTC, 3% IOC, 6% cancel, 82% move), plus a deep-book and a 1,000-symbol run.
///
/// Commands are pre-generated (against a shadow book, so every cancel and move targets an order
/// that is really resting) as compact records, and turned into `MatchingCommand` values inside the
/// timed loop, as a service would decode them. A "move" is a cancelReplace ALLOW_FAILURE of a
/// resting order to a new price near the touch, with the same side, user and quantity.
/// Latency: the clock is read around batches of 64 commands and the batch time divided by 64, so
/// percentiles are of 64-command means (clock overhead amortized; single-command spikes are
/// diluted up to 64x).
struct BenchMatchingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching", abstract: "FastBook ops/s and ns/command on exchange-core's workload.")

    @Option(help: "Timed commands per run.")
    var commands: Int = 3_000_000

    @Option(help: "RNG seed.")
    var seed: UInt64 = 1

    @Option(help: "Comma-separated runs: single_pair, deep_book, symbols_1000.")
    var runs: String = "single_pair,deep_book,symbols_1000"

    func run() async throws {
        guard commands > 0 else { throw ValidationError("--commands must be positive") }
        // Allocation counts need the counter preloaded from process start: run again with it.
        if let status = try BenchMallocCounter.rerunWithCounter() {
            if status != 0 { throw ExitCode(status) }
            return
        }
        let selected = Set(runs.split(separator: ",").map(String.init))
        let all: [(name: String, spec: BenchWorkloadSpec)] = [
            ("single_pair", BenchWorkloadSpec(books: 1, targetOrders: 1_000, halfLevels: 375, accounts: 1_000)),
            ("deep_book", BenchWorkloadSpec(books: 1, targetOrders: 100_000, halfLevels: 5_000, accounts: 1_000)),
            ("symbols_1000", BenchWorkloadSpec(books: 1_000, targetOrders: 100, halfLevels: 38, accounts: 1_000)),
        ]
        var results: [String: Any] = [:]
        for (name, spec) in all where selected.contains(name) {
            var workload = BenchWorkload(spec: spec, seed: seed)
            workload.generate(commands: commands)
            results[name] = workload.measure()
        }
        try printJSON([
            "benchmark": "matching", "engine": "FastBook", "commands_per_run": commands, "seed": seed,
            "mix": ["gtc": 0.09, "ioc": 0.03, "cancel": 0.06, "move": 0.82],
            "move": "cancelReplace ALLOW_FAILURE to a new price near the touch (same side, user, quantity)",
            "latency_method": "ContinuousClock around batches of 64 commands; ns = batch time / 64",
            "allocations_per_command": BenchMallocCounter.available
                ? "per run (allocations_per_command), counted by a preloaded malloc counter"
                : "not measured (libExchangeMallocCounter.so not found beside the executable)",
            "runs": results,
        ])
    }
}

/// Shape of one benchmark run.
struct BenchWorkloadSpec {
    var books: Int
    /// Resting orders per book the generator steers towards.
    var targetOrders: Int
    /// Price levels on each side of the centre (bids centre-half...centre-1, asks centre+1...centre+half).
    var halfLevels: Int
    var accounts: Int
}

/// One pre-generated command, compact (the full `MatchingCommand` is built in the timed loop).
struct BenchCommandRecord {
    enum Kind: UInt8 { case gtc, ioc, cancel, move }
    var kind: Kind
    var side: Side
    var book: UInt32
    var userID: UInt64
    var orderID: UInt64
    /// The order a cancel or move targets.
    var targetID: UInt64
    var price: Int64
    var quantity: Int64

    func command(time: Int64) -> MatchingCommand {
        switch kind {
        case .gtc, .ioc:
            return .place(OrderRequest(
                orderID: orderID, userID: userID, side: side, type: .limit, timeInForce: kind == .gtc ? .gtc : .ioc,
                price: price, quantity: quantity, time: time))
        case .cancel:
            return .cancel(CancelRequest(userID: userID, orderID: targetID, time: time))
        case .move:
            return .cancelReplace(CancelReplaceRequest(
                mode: .allowFailure, cancel: CancelRequest(userID: userID, orderID: targetID, time: time),
                place: OrderRequest(
                    orderID: orderID, userID: userID, side: side, type: .limit, timeInForce: .gtc, price: price,
                    quantity: quantity, time: time)))
        }
    }
}

/// Generates a run's commands against shadow books, then replays them on fresh books under the clock.
struct BenchWorkload {
    static let tick: Int64 = 1_000_000          // 0.01 quote
    static let lot: Int64 = 100_000             // 0.001 base
    static let centreTicks: Int64 = 100_000     // 1000.00

    let spec: BenchWorkloadSpec
    var rng: SplitMix64
    var prefill: [BenchCommandRecord] = []
    var timed: [BenchCommandRecord] = []
    var nextOrderID: UInt64 = 1
    /// Open orders per book (swap-remove array) and what the generator knows about each.
    var open: [[UInt64]]
    var openIndex: [UInt64: Int] = [:]
    var info: [UInt64: (side: Side, userID: UInt64, quantity: Int64)] = [:]
    var shadow: [FastBook]
    var events = MatchingEvents()
    /// Trades and rejections the shadow books produced for the timed commands (the replay is identical).
    var timedTrades = 0
    var timedRejections = 0
    var counting = false
    static let rules = SymbolRules(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT")

    init(spec: BenchWorkloadSpec, seed: UInt64) {
        self.spec = spec
        rng = SplitMix64(seed: seed)
        open = Array(repeating: [], count: spec.books)
        shadow = Array(repeating: FastBook(rules: Self.rules), count: spec.books)
        events.reserveCapacity(1_024)
    }

    mutating func quantity() -> Int64 {
        Int64(1 + rng.below(6) * rng.below(6) * rng.below(6)) * Self.lot
    }

    /// A passive price `offset` ticks away from the centre on `side`'s half.
    func passivePrice(_ side: Side, offset: Int) -> Int64 {
        (side == .buy ? Self.centreTicks - Int64(offset) : Self.centreTicks + Int64(offset)) * Self.tick
    }

    /// Near the touch: small offsets much more likely than far ones.
    mutating func nearOffset() -> Int { 1 + rng.below(1 + rng.below(spec.halfLevels)) }

    /// Crossing the centre by a few ticks: takes liquidity near the touch.
    mutating func aggressivePrice(_ side: Side) -> Int64 {
        let ticks = Int64(rng.below(4))
        return (side == .buy ? Self.centreTicks + ticks : Self.centreTicks - ticks) * Self.tick
    }

    mutating func generate(commands: Int) {
        for book in 0..<spec.books {
            for _ in 0..<spec.targetOrders {
                let side: Side = rng.below(2) == 0 ? .buy : .sell
                let record = BenchCommandRecord(
                    kind: .gtc, side: side, book: UInt32(book), userID: UInt64(1 + rng.below(spec.accounts)),
                    orderID: takeOrderID(), targetID: 0, price: passivePrice(side, offset: 1 + rng.below(spec.halfLevels)),
                    quantity: quantity())
                shadowApply(record)
                prefill.append(record)
            }
        }
        timed.reserveCapacity(commands)
        counting = true
        for _ in 0..<commands {
            let book = spec.books == 1 ? 0 : rng.below(spec.books)
            let roll = rng.below(100)
            var kind: BenchCommandRecord.Kind = roll < 9 ? .gtc : roll < 12 ? .ioc : roll < 18 ? .cancel : .move
            if (kind == .cancel || kind == .move) && open[book].isEmpty { kind = .gtc }
            let record: BenchCommandRecord
            switch kind {
            case .gtc, .ioc:
                let side: Side = rng.below(2) == 0 ? .buy : .sell
                // A book above its target gets marketable GTCs, which trade instead of resting.
                let price = kind == .ioc || open[book].count >= spec.targetOrders
                    ? aggressivePrice(side) : passivePrice(side, offset: nearOffset())
                record = BenchCommandRecord(
                    kind: kind, side: side, book: UInt32(book), userID: UInt64(1 + rng.below(spec.accounts)),
                    orderID: takeOrderID(), targetID: 0, price: price, quantity: quantity())
            case .cancel, .move:
                let target = open[book][rng.below(open[book].count)]
                let known = info[target]!
                record = BenchCommandRecord(
                    kind: kind, side: known.side, book: UInt32(book), userID: known.userID,
                    orderID: kind == .move ? takeOrderID() : 0, targetID: target,
                    price: passivePrice(known.side, offset: nearOffset()), quantity: known.quantity)
            }
            shadowApply(record)
            timed.append(record)
        }
    }

    mutating func takeOrderID() -> UInt64 {
        defer { nextOrderID += 1 }
        return nextOrderID
    }

    /// Applies to the shadow book and keeps the open-order model in step with its reports.
    mutating func shadowApply(_ record: BenchCommandRecord) {
        let book = Int(record.book)
        if record.kind == .gtc || record.kind == .move {
            openIndex[record.orderID] = open[book].count
            open[book].append(record.orderID)
            info[record.orderID] = (record.side, record.userID, record.quantity)
        }
        events.removeAll(keepingCapacity: true)
        shadow[book].apply(record.command(time: 0), into: &events)
        for event in events {
            if counting, case .trade = event { timedTrades += 1 }
            if counting, case .rejected = event { timedRejections += 1 }
            guard case .report(let report) = event else { continue }
            switch report.status {
            case .filled, .canceled, .expired, .expiredInMatch: removeOpen(report.orderID, book: book)
            default: break
            }
        }
    }

    mutating func removeOpen(_ orderID: UInt64, book: Int) {
        guard let index = openIndex.removeValue(forKey: orderID) else { return }
        info.removeValue(forKey: orderID)
        let last = open[book].removeLast()
        if index < open[book].count {
            open[book][index] = last
            openIndex[last] = index
        }
    }

    /// Replays prefill (untimed) then the timed commands on fresh books.
    func measure() -> [String: Any] {
        var books = Array(repeating: FastBook(rules: Self.rules), count: spec.books)
        var events = MatchingEvents()
        events.reserveCapacity(1_024)
        for record in prefill {
            events.removeAll(keepingCapacity: true)
            books[Int(record.book)].apply(record.command(time: 0), into: &events)
        }
        let levelsBefore = books.reduce(0) { $0 + $1.depth(limit: .max).bids.count + $1.depth(limit: .max).asks.count }
        let ordersBefore = books.reduce(0) { $0 + $1.openOrderCount }

        let batch = 64
        var batchNs: [Double] = []
        batchNs.reserveCapacity(timed.count / batch + 1)
        var eventCount = 0
        let clock = ContinuousClock()
        let allocationsBefore = BenchMallocCounter.read()
        let start = clock.now
        var index = 0
        var time: Int64 = 1_700_000_000_000
        while index < timed.count {
            let end = min(index + batch, timed.count)
            let t0 = clock.now
            for i in index..<end {
                let record = timed[i]
                events.removeAll(keepingCapacity: true)
                books[Int(record.book)].apply(record.command(time: time), into: &events)
                eventCount &+= events.count
                time &+= 1
            }
            let t1 = clock.now
            batchNs.append(Self.nanoseconds(t1 - t0) / Double(end - index))
            index = end
        }
        let total = clock.now - start
        let allocationsAfter = BenchMallocCounter.read()
        batchNs.sort()
        func percentile(_ p: Double) -> Int {
            Int(batchNs[min(batchNs.count - 1, Int(Double(batchNs.count) * p))].rounded())
        }
        let levelsAfter = books.reduce(0) { $0 + $1.depth(limit: .max).bids.count + $1.depth(limit: .max).asks.count }
        let ordersAfter = books.reduce(0) { $0 + $1.openOrderCount }
        let seconds = Self.nanoseconds(total) / 1e9
        return [
            "books": spec.books, "commands": timed.count, "seconds": seconds,
            "ops_per_s": Int(Double(timed.count) / seconds),
            "ns_per_command": ["p50": percentile(0.50), "p99": percentile(0.99), "p99_9": percentile(0.999),
                               "max": Int(batchNs.last!.rounded())],
            "events_per_command": Double(eventCount) / Double(timed.count),
            "trades": timedTrades, "rejections": timedRejections,
            "resting_orders": ["before": ordersBefore, "after": ordersAfter],
            "price_levels": ["before": levelsBefore, "after": levelsAfter],
            "target_orders_per_book": spec.targetOrders, "levels_per_side": spec.halfLevels,
            "accounts": spec.accounts,
            "allocations_per_command": allocationsBefore.flatMap { before in
                allocationsAfter.map { Double($0 - before) / Double(timed.count) }
            } ?? "not measured",
        ]
    }

    static func nanoseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
    }
}

/// Reads `exchange_malloc_count` (malloc, calloc, realloc and aligned allocation calls) from
/// `libExchangeMallocCounter.so` when it is preloaded; the bench itself cannot hook malloc.
enum BenchMallocCounter {
    static func read() -> Int? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "exchange_malloc_count") else { return nil }
        return symbol.assumingMemoryBound(to: Int.self).pointee
    }
    static var available: Bool { read() != nil }

    /// The counter library built beside this executable (`swift build` builds it), if present.
    static var libraryBesideExecutable: String? {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let path = directory.appendingPathComponent("libExchangeMallocCounter.so").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Runs this same command again with the counter preloaded and returns its exit status, or nil
    /// when counting is already on, was refused (`EXCHANGE_BENCH_NO_PRELOAD`), or no library exists.
    static func rerunWithCounter() throws -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        guard !available, environment["EXCHANGE_BENCH_NO_PRELOAD"] == nil, let library = libraryBesideExecutable else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = Array(CommandLine.arguments.dropFirst())
        process.environment = environment.merging(["LD_PRELOAD": library, "EXCHANGE_BENCH_NO_PRELOAD": "1"]) { _, new in new }
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
