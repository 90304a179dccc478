import ExchangeProtocol
import Messaging
import SwiftProtobuf

/// The market-data projections the REST market endpoints read (`RedisNames`): recent trades and
/// aggTrades, klines per interval, book tickers and upstream depth, as market-data writes them.
public struct MarketStore: Sendable {
    let redis: RedisPool

    public init(redis: RedisPool) { self.redis = redis }

    /// The newest `limit` trades, oldest first.
    public func recentTrades(symbol: String, limit: Int) async throws -> [Exchange_V1_MdTrade] {
        try await newest(RedisNames.marketTrades(symbol: symbol), limit: limit)
    }

    /// Up to `limit` trades from id `fromID` on, oldest first.
    public func trades(symbol: String, fromID: Int64, limit: Int) async throws -> [Exchange_V1_MdTrade] {
        try await range(RedisNames.marketTrades(symbol: symbol), from: String(fromID), to: "+inf", limit: limit)
    }

    public func recentAggTrades(symbol: String, limit: Int) async throws -> [Exchange_V1_MdAggTrade] {
        try await newest(RedisNames.marketAggTrades(symbol: symbol), limit: limit)
    }

    public func aggTrades(symbol: String, fromID: Int64, limit: Int) async throws -> [Exchange_V1_MdAggTrade] {
        try await range(RedisNames.marketAggTrades(symbol: symbol), from: String(fromID), to: "+inf", limit: limit)
    }

    /// Every kept aggTrade, oldest first (time-range queries filter these).
    public func allAggTrades(symbol: String) async throws -> [Exchange_V1_MdAggTrade] {
        try await range(RedisNames.marketAggTrades(symbol: symbol), from: "-inf", to: "+inf", limit: nil)
    }

    /// Klines with open time in [start, end], oldest first, at most `limit`; the newest `limit` when
    /// neither bound is given, the newest `limit` up to `end` when only `end` is.
    public func klines(symbol: String, interval: String, start: Int64?, end: Int64?, limit: Int) async throws -> [Exchange_V1_MdKline] {
        let key = RedisNames.marketKlines(symbol: symbol, interval: interval)
        if start == nil {
            let reply = try await redis.next().send(
                ["ZREVRANGEBYSCORE", RedisArgument(key), RedisArgument(end.map(String.init) ?? "+inf"), "-inf", "LIMIT", "0", RedisArgument(limit)]
            ).throwingOnError()
            return try Self.decode(reply).reversed()
        }
        return try await range(key, from: String(start!), to: end.map(String.init) ?? "+inf", limit: limit)
    }

    /// What a rolling-window ticker needs of one symbol: the 1m klines that overlap (`windowStart`,
    /// now], the 1m kline before them (prevClosePrice), the newest trade and the book ticker.
    public struct TickerInputs: Sendable {
        public var minutes: [Exchange_V1_MdKline]
        public var lastTrade: Exchange_V1_MdTrade?
        public var top: Exchange_V1_MdBookTicker?
    }

    /// The ticker inputs of every symbol in one round trip (one pipeline, four commands a symbol).
    public func tickerInputs(symbols: [String], windowStart: Int64) async throws -> [TickerInputs] {
        let boundary = windowStart - 59_999  // a minute opening after this ends after windowStart
        var commands: [[RedisArgument]] = []
        for symbol in symbols {
            let key = RedisArgument(RedisNames.marketKlines(symbol: symbol, interval: "1m"))
            commands += [
                ["ZREVRANGEBYSCORE", key, RedisArgument(String(boundary)), "-inf", "LIMIT", "0", "1"],
                ["ZRANGEBYSCORE", key, RedisArgument("(\(boundary)"), "+inf"],
            ]
            commands += Self.latestCommands(symbol)
        }
        let replies = try await redis.next().pipeline(commands)
        for reply in replies { try reply.throwingOnError() }
        return try symbols.indices.map { i in
            let before: [Exchange_V1_MdKline] = try Self.decode(replies[4 * i])
            let inside: [Exchange_V1_MdKline] = try Self.decode(replies[4 * i + 1])
            let latest = try Self.latest(replies[4 * i + 2], replies[4 * i + 3])
            return TickerInputs(minutes: before + inside, lastTrade: latest.lastTrade, top: latest.top)
        }
    }

    /// The newest trade and the book ticker of every symbol, in one round trip.
    public func latest(symbols: [String]) async throws -> [(lastTrade: Exchange_V1_MdTrade?, top: Exchange_V1_MdBookTicker?)] {
        let replies = try await redis.next().pipeline(symbols.flatMap(Self.latestCommands))
        for reply in replies { try reply.throwingOnError() }
        return try symbols.indices.map { i in try Self.latest(replies[2 * i], replies[2 * i + 1]) }
    }

    static func latestCommands(_ symbol: String) -> [[RedisArgument]] {
        [["ZREVRANGE", RedisArgument(RedisNames.marketTrades(symbol: symbol)), "0", "0"],
         ["GET", RedisArgument(RedisNames.bookTicker(symbol: symbol))]]
    }

    static func latest(_ trade: RedisReply, _ top: RedisReply) throws -> (lastTrade: Exchange_V1_MdTrade?, top: Exchange_V1_MdBookTicker?) {
        let last: [Exchange_V1_MdTrade] = try decode(trade)
        return (last.first, try top.bytes.map { try Exchange_V1_MdBookTicker(fastSerializedBytes: $0) })
    }

    /// The latest upstream depth of a `venue: binance` symbol.
    public func upstreamDepth(symbol: String) async throws -> Exchange_V1_MdDepthSnapshot? {
        let reply = try await redis.next().send(["GET", RedisArgument(RedisNames.marketDepth(symbol: symbol))]).throwingOnError()
        return try reply.bytes.map { try Exchange_V1_MdDepthSnapshot(fastSerializedBytes: $0) }
    }

    private func newest<M: FastProtoMessage>(_ key: String, limit: Int) async throws -> [M] {
        let reply = try await redis.next().send(["ZREVRANGE", RedisArgument(key), "0", RedisArgument(limit - 1)]).throwingOnError()
        return try Self.decode(reply).reversed()
    }

    private func range<M: FastProtoMessage>(_ key: String, from: String, to: String, limit: Int?) async throws -> [M] {
        var command: [RedisArgument] = ["ZRANGEBYSCORE", RedisArgument(key), RedisArgument(from), RedisArgument(to)]
        if let limit { command += ["LIMIT", "0", RedisArgument(limit)] }
        return try Self.decode(try await redis.next().send(command).throwingOnError())
    }

    static func decode<M: FastProtoMessage>(_ reply: RedisReply) throws -> [M] {
        do {
            return try (reply.array ?? []).compactMap { item in try item.bytes.map { try M(fastSerializedBytes: $0) } }
        } catch {
            throw RouterFault("market projection does not decode as \(M.protoMessageName): \(error)")
        }
    }
}
