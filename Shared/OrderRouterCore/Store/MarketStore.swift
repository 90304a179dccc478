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

    /// What a rolling-window ticker needs, in one round trip: the 1m klines that overlap
    /// (`windowStart`, now], the 1m kline before them (prevClosePrice), the newest trade and the
    /// book ticker.
    public func tickerInputs(symbol: String, windowStart: Int64) async throws
        -> (minutes: [Exchange_V1_MdKline], lastTrade: Exchange_V1_MdTrade?, top: Exchange_V1_MdBookTicker?)
    {
        let key = RedisArgument(RedisNames.marketKlines(symbol: symbol, interval: "1m"))
        let boundary = windowStart - 59_999  // a minute opening after this ends after windowStart
        let replies = try await redis.next().pipeline([
            ["ZREVRANGEBYSCORE", key, RedisArgument(String(boundary)), "-inf", "LIMIT", "0", "1"],
            ["ZRANGEBYSCORE", key, RedisArgument("(\(boundary)"), "+inf"],
            ["ZREVRANGE", RedisArgument(RedisNames.marketTrades(symbol: symbol)), "0", "0"],
            ["GET", RedisArgument(RedisNames.bookTicker(symbol: symbol))],
        ])
        for reply in replies { try reply.throwingOnError() }
        let before: [Exchange_V1_MdKline] = try Self.decode(replies[0])
        let inside: [Exchange_V1_MdKline] = try Self.decode(replies[1])
        let last: [Exchange_V1_MdTrade] = try Self.decode(replies[2])
        let top = try replies[3].bytes.map { try Exchange_V1_MdBookTicker(serializedBytes: $0) }
        return (before + inside, last.first, top)
    }

    public func bookTicker(symbol: String) async throws -> Exchange_V1_MdBookTicker? {
        let reply = try await redis.next().send(["GET", RedisArgument(RedisNames.bookTicker(symbol: symbol))]).throwingOnError()
        return try reply.bytes.map { try Exchange_V1_MdBookTicker(serializedBytes: $0) }
    }

    public func lastTrade(symbol: String) async throws -> Exchange_V1_MdTrade? {
        let trades: [Exchange_V1_MdTrade] = try await newest(RedisNames.marketTrades(symbol: symbol), limit: 1)
        return trades.last
    }

    /// The latest upstream depth of a `venue: binance` symbol.
    public func upstreamDepth(symbol: String) async throws -> Exchange_V1_MdDepthSnapshot? {
        let reply = try await redis.next().send(["GET", RedisArgument(RedisNames.marketDepth(symbol: symbol))]).throwingOnError()
        return try reply.bytes.map { try Exchange_V1_MdDepthSnapshot(serializedBytes: $0) }
    }

    private func newest<M: SwiftProtobuf.Message>(_ key: String, limit: Int) async throws -> [M] {
        let reply = try await redis.next().send(["ZREVRANGE", RedisArgument(key), "0", RedisArgument(limit - 1)]).throwingOnError()
        return try Self.decode(reply).reversed()
    }

    private func range<M: SwiftProtobuf.Message>(_ key: String, from: String, to: String, limit: Int?) async throws -> [M] {
        var command: [RedisArgument] = ["ZRANGEBYSCORE", RedisArgument(key), RedisArgument(from), RedisArgument(to)]
        if let limit { command += ["LIMIT", "0", RedisArgument(limit)] }
        return try Self.decode(try await redis.next().send(command).throwingOnError())
    }

    static func decode<M: SwiftProtobuf.Message>(_ reply: RedisReply) throws -> [M] {
        do {
            return try (reply.array ?? []).compactMap { item in try item.bytes.map { try M(serializedBytes: $0) } }
        } catch {
            throw RouterFault("market projection does not decode as \(M.protoMessageName): \(error)")
        }
    }
}
