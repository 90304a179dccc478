/// Names of the Redis keys and Pub/Sub channels services share (besides the event log's own
/// streams). Writers and readers name them only through here, like topics through `Topics`.
///
/// Values are protobuf bytes of the `exchange.v1` message named in each doc comment, so every
/// reader decodes them with the same generated code the event log uses.
public enum RedisNames {
    /// The Pub/Sub channel a router instance listens on for `RequestOutcome`s of its requests;
    /// it puts this name in each request envelope's `reply_to`.
    public static func replyChannel(instance: String) -> String { "reply.\(instance)" }

    /// Latest depth of an internal symbol: a `BookDelta` with `is_snapshot` set, the top levels of
    /// each side and `last_update_id` (protobuf bytes). Every diff up to that id is already durable
    /// in `matching.events`, so Binance's snapshot-plus-diffs procedure works against it.
    public static func depthSnapshot(symbol: String) -> String { "depth:\(symbol)" }

    // MARK: Ledger projections (written by the ledger after the events are durable; read by the router)

    /// An API key's current record: `ApiKeyAdmin` (action CREATE or UPDATE, the sealed HMAC secret
    /// or the public key PEM, permissions, IP allowlist). Deleted when the key is deleted.
    public static func apiKey(_ apiKey: String) -> String { "apikey:\(apiKey)" }

    /// An account's current flags and effective commission rates: `AccountAdmin` (action CREATE,
    /// can_trade/can_withdraw/can_deposit, maker/taker rates, account_type "SPOT").
    public static func account(userID: UInt64) -> String { "account:\(userID)" }

    /// A user's balances: a Redis hash, field = asset, value = `AssetBalance` (free, locked).
    /// Assets whose free and locked are both zero are removed.
    public static func balances(userID: UInt64) -> String { "balances:\(userID)" }

    /// A user's open orders: a Redis hash, field = order id (decimal), value = the order's latest
    /// `OrderUpdate`. An order leaves the hash on its terminal report.
    public static func openOrders(userID: UInt64) -> String { "openorders:\(userID)" }

    /// Any order's latest `OrderUpdate` (open or not). Terminal orders expire after
    /// `terminalOrderRetentionSeconds`; older ones are for the history store.
    public static func order(userID: UInt64, orderID: UInt64) -> String { "order:\(userID):\(orderID)" }

    /// The order id (decimal string) of a user's client order id on a symbol; same retention as
    /// `order(userID:orderID:)`.
    public static func clientOrder(userID: UInt64, symbol: String, clientOrderID: String) -> String {
        "clientorder:\(userID):\(symbol):\(clientOrderID)"
    }

    /// How long the ledger keeps a terminal order's `order:` and `clientorder:` keys.
    public static let terminalOrderRetentionSeconds = 7 * 24 * 3600

    // MARK: Router-owned keys

    /// A user-data-stream listenKey → user id (decimal); expires 60 min after the last keepalive.
    public static func listenKey(_ key: String) -> String { "listenkey:\(key)" }

    // MARK: Pub/Sub fan-out to notifier instances

    /// A user's stream channel: every `ledger.events` / `matching.events` envelope about the user
    /// (protobuf `Envelope` bytes) in the order the producing service emitted them.
    public static func userChannel(userID: UInt64) -> String { "user.\(userID)" }

    // MARK: Market data (written by market-data ingestion workers after the records are durable)

    /// Latest depth of a `venue: binance` symbol: an `MdDepthSnapshot` (top levels, best first,
    /// `last_update_id` = upstream u), so the router answers GET /api/v3/depth for it.
    public static func marketDepth(symbol: String) -> String { "mdDepth:\(symbol)" }

    /// Latest best bid/ask of a symbol: an `MdBookTicker`.
    public static func bookTicker(symbol: String) -> String { "bookTicker:\(symbol)" }

    /// What was last published for a symbol, so a worker taking it over marks repeats as
    /// duplicates: a hash with fields `depth`, `trade`, `aggTrade`, `bookTicker` (decimal ids).
    public static func marketDataPublished(symbol: String) -> String { "mdPublished:\(symbol)" }

    /// A symbol's recent trades for REST (`trades`, `historicalTrades`): a sorted set, score = trade
    /// id, member = `MdTrade` bytes; the newest `recentTradesKept` are kept (older ones are for the
    /// history store). Written by market-data's aggregates for every venue.
    public static func marketTrades(symbol: String) -> String { "mdTrades:\(symbol)" }

    /// A symbol's recent aggTrades: a sorted set, score = aggTrade id, member = `MdAggTrade` bytes.
    public static func marketAggTrades(symbol: String) -> String { "mdAggTrades:\(symbol)" }

    /// A symbol's klines of one interval (`1m`): a sorted set, score = open time, member = `MdKline`
    /// bytes (the current kline is replaced as trades arrive). `1m` keeps 7 days (rolling-window
    /// tickers and avgPrice are computed from it), other intervals the newest `klinesKept`.
    public static func marketKlines(symbol: String, interval: String) -> String { "mdKlines:\(symbol):\(interval)" }

    public static let recentTradesKept = 10_000
    public static let klinesKept = 1_000
    public static let minuteKlinesKept = 7 * 24 * 60

    /// Pub/Sub fan-out of one md topic for one symbol (`md.depth.NKNUSDT`): protobuf `Envelope`
    /// bytes, published after the records are durable on the topic.
    public static func marketDataChannel(topic: String, symbol: String) -> String { "\(topic).\(symbol)" }
}
