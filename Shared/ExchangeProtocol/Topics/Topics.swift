/// What a topic's records are keyed by; the key picks the partition (murmur2), so one key's
/// records stay in order and one consumer owns them.
public enum PartitionKey: String, Sendable, CaseIterable {
    /// The user id, decimal (`"42"`).
    case user
    /// The symbol name (`"BTCUSDT"`).
    case symbol
    /// The source topic name (dead letters).
    case sourceTopic
}

/// A topic of the catalogue: its name, what keys it, how many partitions it gets by default.
public struct TopicDescriptor: Hashable, Sendable {
    public var name: String
    public var key: PartitionKey
    public var defaultPartitions: Int32
    /// One line for the catalogue table in the docs and `exchange topics`.
    public var summary: String

    public init(name: String, key: PartitionKey, defaultPartitions: Int32, summary: String) {
        self.name = name
        self.key = key
        self.defaultPartitions = defaultPartitions
        self.summary = summary
    }

    /// The partition a key goes to with `partitionCount` partitions.
    public func partition(for key: String, partitionCount: Int32) -> Int32 {
        Murmur2.partition(for: key, partitionCount: partitionCount)
    }
}

/// The topic catalogue of DESIGN.md. Producers and consumers name topics only through it.
public enum Topics {
    /// Every user-scoped request: place/cancel/cancel-replace, deposits, withdrawals, account and
    /// API-key administration. Keyed by user so a cancel never overtakes its own order.
    public static let ordersRequests = TopicDescriptor(
        name: "orders.requests", key: .user, defaultPartitions: 8,
        summary: "user requests from the order-router and admin CLI (ledger consumes)")
    /// Balance changes, order outcomes and account changes, keyed by user.
    public static let ledgerEvents = TopicDescriptor(
        name: "ledger.events", key: .user, defaultPartitions: 8,
        summary: "balance changes, rejections, account/API-key changes (router, notifier consume)")
    /// Funded orders and cancels for internal symbols, keyed by symbol.
    public static let matchingCommands = TopicDescriptor(
        name: "matching.commands", key: .symbol, defaultPartitions: 8,
        summary: "funded orders and cancels for internal books (matching consumes)")
    /// Order updates, trades and book deltas, keyed by symbol.
    public static let matchingEvents = TopicDescriptor(
        name: "matching.events", key: .symbol, defaultPartitions: 8,
        summary: "order updates, trades, book deltas (ledger, market-data, notifier consume)")
    /// Funded orders for `venue: binance` symbols, keyed by symbol.
    public static let routingCommands = TopicDescriptor(
        name: "routing.commands", key: .symbol, defaultPartitions: 4,
        summary: "funded orders routed to Binance (order-router's venue adapter consumes)")
    /// Normalized trades (internal and upstream), keyed by symbol.
    public static let mdTrades = TopicDescriptor(
        name: "md.trades", key: .symbol, defaultPartitions: 8, summary: "trades and aggTrades per symbol")
    /// Normalized depth diffs with upstream update ids, keyed by symbol.
    public static let mdDepth = TopicDescriptor(
        name: "md.depth", key: .symbol, defaultPartitions: 8, summary: "depth diffs and snapshots per symbol")
    /// Book tickers, tickers and klines, keyed by symbol.
    public static let mdTickers = TopicDescriptor(
        name: "md.tickers", key: .symbol, defaultPartitions: 8, summary: "book tickers, tickers, klines per symbol")
    /// Records no consumer could decode, with the reason; keyed by the source topic.
    public static let deadLetters = TopicDescriptor(
        name: "dead.letters", key: .sourceTopic, defaultPartitions: 1,
        summary: "undecodable records with the reason (operators inspect with `exchange tail`)")

    /// The whole catalogue, in a stable order.
    public static let all: [TopicDescriptor] = [
        ordersRequests, ledgerEvents, matchingCommands, matchingEvents, routingCommands,
        mdTrades, mdDepth, mdTickers, deadLetters,
    ]

    /// Looks a topic up by name.
    public static func named(_ name: String) -> TopicDescriptor? { all.first { $0.name == name } }
}
