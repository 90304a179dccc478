import ExchangeProtocol
import MatchingEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the same generated command stream through two `OrderBookEngine`s and reports the first
/// place where they disagree. Generic so the same harness serves ReferenceBook-vs-itself (with
/// snapshots in between) and FastBook-vs-ReferenceBook.
enum Differential {
    /// Commands per seed: long enough for books to build up, stops to cascade and icebergs to refill.
    static let commandsPerSeed = 2_000

    /// Total commands for a default run; `DIFF_COMMANDS` overrides it (e.g. 5000000 for a soak).
    static var totalCommands: Int {
        if let text = getenv("DIFF_COMMANDS"), let value = Int(String(cString: text)), value > 0 { return value }
        return 200_000
    }

    /// The seeds of `chunk` out of `chunks`, covering `totalCommands` overall.
    static func seeds(chunk: Int, of chunks: Int, total: Int = totalCommands) -> [UInt64] {
        let seedCount = max(chunks, total / commandsPerSeed)
        return stride(from: chunk, to: seedCount, by: chunks).map { UInt64($0) &* 7_919 &+ 1 }
    }

    struct Options {
        /// Restore B from its own snapshot every this many commands (0 = never).
        var restoreBEvery = 0
        /// Snapshot and restore both books halfway, then continue.
        var snapshotHalfway = true
        /// Compare the books' `stateHash()` every this many commands (0 = only at checkpoints).
        var hashEvery = 50
    }

    /// nil when A and B agree on everything; else a description of the first divergence.
    static func run<A: OrderBookEngine, B: OrderBookEngine>(
        _: A.Type, _: B.Type, seed: UInt64, commands: Int = commandsPerSeed, options: Options = Options()
    ) -> String? {
        let rules = CommandGenerator.rules(seed: seed)
        var generator = CommandGenerator(seed: seed)
        var a = A(rules: rules)
        var b = B(rules: rules)
        var eventsA: [MatchingEvent] = []
        var eventsB: [MatchingEvent] = []
        var history: [MatchingCommand] = []

        func where_(_ index: Int) -> String {
            "seed \(seed), command #\(index) (\(A.self) vs \(B.self))"
        }

        for index in 0..<commands {
            let command = generator.next()
            history.append(command)
            if history.count > 8 { history.removeFirst() }
            eventsA.removeAll(keepingCapacity: true)
            eventsB.removeAll(keepingCapacity: true)
            a.apply(command, into: &eventsA)
            b.apply(command, into: &eventsB)
            if eventsA != eventsB {
                return divergence(where_(index), history: history, eventsA: eventsA, eventsB: eventsB)
            }
            let checkpoint = options.hashEvery > 0 && index % options.hashEvery == 0
            if checkpoint, let problem = compareState(a, b) {
                return "\(where_(index)): \(problem)\nlast commands:\n" + history.map { "  \($0)" }.joined(separator: "\n")
            }
            if options.snapshotHalfway && index == commands / 2 {
                if let problem = compareState(a, b) { return "\(where_(index)) before snapshot: \(problem)" }
                do {
                    a = try roundTrip(a)
                    b = try roundTrip(b)
                } catch {
                    return "\(where_(index)): snapshot round trip failed: \(error)"
                }
                if let problem = compareState(a, b) { return "\(where_(index)) after snapshot: \(problem)" }
            }
            if options.restoreBEvery > 0 && index % options.restoreBEvery == options.restoreBEvery - 1 {
                do { b = try roundTrip(b) } catch { return "\(where_(index)): snapshot round trip failed: \(error)" }
            }
        }
        if let problem = compareState(a, b) { return "\(where_(commands - 1)) at the end: \(problem)" }
        return nil
    }

    struct SnapshotMismatch: Error, CustomStringConvertible {
        var description: String
    }

    /// Restores a book from its own snapshot and checks the restore is exact.
    static func roundTrip<E: OrderBookEngine>(_ book: E) throws -> E {
        let bytes = book.snapshot()
        let restored = try E(snapshot: bytes)
        guard restored.snapshot() == bytes else { throw SnapshotMismatch(description: "\(E.self) snapshot not byte-exact") }
        guard restored.stateHash() == book.stateHash() else { throw SnapshotMismatch(description: "\(E.self) hash changed") }
        return restored
    }

    /// nil when every observable piece of state agrees.
    static func compareState<A: OrderBookEngine, B: OrderBookEngine>(_ a: A, _ b: B) -> String? {
        var problems: [String] = []
        if a.lastTradePrice != b.lastTradePrice { problems.append("lastTradePrice \(a.lastTradePrice) vs \(b.lastTradePrice)") }
        if a.lastUpdateID != b.lastUpdateID { problems.append("lastUpdateID \(a.lastUpdateID) vs \(b.lastUpdateID)") }
        if a.openOrderCount != b.openOrderCount { problems.append("openOrderCount \(a.openOrderCount) vs \(b.openOrderCount)") }
        let depthA = a.depth(limit: 10_000)
        let depthB = b.depth(limit: 10_000)
        let levels = { (l: [(price: Int64, quantity: Int64)]) in l.map { "\($0.price)=\($0.quantity)" } }
        if levels(depthA.bids) != levels(depthB.bids) { problems.append("bids \(levels(depthA.bids)) vs \(levels(depthB.bids))") }
        if levels(depthA.asks) != levels(depthB.asks) { problems.append("asks \(levels(depthA.asks)) vs \(levels(depthB.asks))") }
        for limit in [0, 1, 5] {
            let shortA = a.depth(limit: limit)
            let shortB = b.depth(limit: limit)
            if levels(shortA.bids) != levels(shortB.bids) || levels(shortA.asks) != levels(shortB.asks) {
                problems.append("depth(limit: \(limit)) differs")
            }
        }
        if a.stateHash() != b.stateHash() { problems.append("stateHash \(a.stateHash()) vs \(b.stateHash())") }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    static func divergence(_ location: String, history: [MatchingCommand], eventsA: [MatchingEvent], eventsB: [MatchingEvent]) -> String {
        let first = (0..<min(eventsA.count, eventsB.count)).first(where: { eventsA[$0] != eventsB[$0] }) ?? min(eventsA.count, eventsB.count)
        var text = "\(location): events differ at event \(first) (A has \(eventsA.count), B has \(eventsB.count))\n"
        text += "command: \(history.last.map { "\($0)" } ?? "-")\n"
        text += "A events:\n" + eventsA.enumerated().map { "  \($0.offset == first ? ">" : " ")\(render($0.element))" }.joined(separator: "\n")
        text += "\nB events:\n" + eventsB.enumerated().map { "  \($0.offset == first ? ">" : " ")\(render($0.element))" }.joined(separator: "\n")
        if first < eventsA.count { text += "\nA[\(first)] in full: \(eventsA[first])" }
        if first < eventsB.count { text += "\nB[\(first)] in full: \(eventsB[first])" }
        text += "\nprevious commands:\n" + history.dropLast().map { "  \($0)" }.joined(separator: "\n")
        return text
    }
}
