import ExchangeProtocol
import MatchingEngine
import ServiceKit

/// What the matching service does outside the log once a batch is durable: each request's
/// outcome on its router's reply channel, and each changed book's depth snapshot in Redis, at
/// most once per `depthInterval` per symbol.
public struct MatchingSideEffects<Book: OrderBookEngine>: SideEffectPlanner {
    public typealias Processor = MatchingProcessor<Book>

    let replies: ReplyPlanner
    /// Levels per side in a snapshot (Binance's depth endpoint serves up to 5000).
    let depthLevels: Int
    let depthIntervalMs: Int64
    private var dirty: Set<String> = []
    private var lastWrittenMs: [String: Int64] = [:]
    private var inFlight: [String] = []
    /// Books whose snapshot this instance has written at least once. A book it has not (after a
    /// restart, or adopted from another instance) is rewritten: the last write may not have landed.
    private var known: Set<String> = []

    public init(producer: String, depthLevels: Int = 5000, depthIntervalMs: Int64 = 100) {
        replies = ReplyPlanner(producer: producer)
        self.depthLevels = depthLevels
        self.depthIntervalMs = depthIntervalMs
    }

    public mutating func plan(durable outputs: [ProcessorOutput], processors: [Processor], nowMs: Int64) -> [SideEffect] {
        var effects = replies.plan(outputs)
        for processor in processors {
            for symbol in processor.books.keys where known.insert(symbol).inserted { dirty.insert(symbol) }
        }
        // A book delta's key is its symbol (`MatchingProcessor`); the kind saves reading payloads.
        for output in outputs where output.kind == .bookDelta { dirty.insert(output.key) }
        inFlight.removeAll(keepingCapacity: true)
        guard !dirty.isEmpty else { return effects }
        for symbol in dirty.sorted() where nowMs - (lastWrittenMs[symbol] ?? .min / 2) >= depthIntervalMs {
            guard let book = processors.lazy.compactMap({ $0.books[symbol] }).first else {
                dirty.remove(symbol)  // moved to another instance
                known.remove(symbol)
                continue
            }
            effects.append(.set(key: RedisNames.depthSnapshot(symbol: symbol),
                                value: EnvelopeCodec.encode(message: Self.snapshot(book, levels: depthLevels, time: nowMs))))
            lastWrittenMs[symbol] = nowMs
            inFlight.append(symbol)
        }
        for symbol in inFlight { dirty.remove(symbol) }
        return effects
    }

    public mutating func failed(_ effects: [SideEffect]) {
        // Replies are gone (the router answers -1007 after its timeout); snapshots are redone.
        for symbol in inFlight {
            dirty.insert(symbol)
            lastWrittenMs[symbol] = nil
        }
    }

    /// The book's top levels as a snapshot `BookDelta` at its newest update id.
    static func snapshot(_ book: Book, levels: Int, time: Int64) -> Exchange_V1_BookDelta {
        let depth = book.depth(limit: levels)
        var snapshot = Exchange_V1_BookDelta()
        snapshot.symbol = book.rules.symbol
        snapshot.isSnapshot = true
        snapshot.lastUpdateID = book.lastUpdateID
        snapshot.eventTime = time
        snapshot.bids = depth.bids.map { Exchange_V1_PriceLevel(price: $0.price, quantity: $0.quantity) }
        snapshot.asks = depth.asks.map { Exchange_V1_PriceLevel(price: $0.price, quantity: $0.quantity) }
        return snapshot
    }
}

extension Exchange_V1_PriceLevel {
    init(price: Int64, quantity: Int64) {
        self.init()
        self.price = price
        self.quantity = quantity
    }
}
