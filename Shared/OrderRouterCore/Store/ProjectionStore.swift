import ExchangeProtocol
import Messaging
import SwiftProtobuf

/// The ledger's Redis projections, read as `RedisNames` documents them, plus the router's own
/// listenKeys and the matching service's depth snapshots.
public struct ProjectionStore: Sendable {
    let redis: RedisPool

    public init(redis: RedisPool) { self.redis = redis }

    public func apiKey(_ key: String) async throws -> Exchange_V1_ApiKeyAdmin? {
        try await message(RedisNames.apiKey(key))
    }

    public func account(userID: UInt64) async throws -> Exchange_V1_AccountAdmin? {
        try await message(RedisNames.account(userID: userID))
    }

    public func balances(userID: UInt64) async throws -> [Exchange_V1_AssetBalance] {
        let reply = try await redis.next().send(["HGETALL", RedisArgument(RedisNames.balances(userID: userID))]).throwingOnError()
        guard let items = reply.array else { return [] }
        var out: [Exchange_V1_AssetBalance] = []
        var index = 1
        while index < items.count {
            if let bytes = items[index].bytes { out.append(try Exchange_V1_AssetBalance(fastSerializedBytes: bytes)) }
            index += 2
        }
        return out.sorted { $0.asset < $1.asset }
    }

    public func openOrders(userID: UInt64) async throws -> [Exchange_V1_OrderUpdate] {
        let reply = try await redis.next().send(["HVALS", RedisArgument(RedisNames.openOrders(userID: userID))]).throwingOnError()
        return try (reply.array ?? []).compactMap { item in
            try item.bytes.map { try Exchange_V1_OrderUpdate(fastSerializedBytes: $0) }
        }.sorted { $0.orderID < $1.orderID }
    }

    public func openOrderCount(userID: UInt64) async throws -> Int {
        let reply = try await redis.next().send(["HLEN", RedisArgument(RedisNames.openOrders(userID: userID))]).throwingOnError()
        return Int(reply.integer ?? 0)
    }

    public func order(userID: UInt64, orderID: UInt64) async throws -> Exchange_V1_OrderUpdate? {
        try await message(RedisNames.order(userID: userID, orderID: orderID))
    }

    public func orderID(userID: UInt64, symbol: String, clientOrderID: String) async throws -> UInt64? {
        let reply = try await redis.next().send(
            ["GET", RedisArgument(RedisNames.clientOrder(userID: userID, symbol: symbol, clientOrderID: clientOrderID))]
        ).throwingOnError()
        return reply.string.flatMap { UInt64($0) }
    }

    public func depth(symbol: String) async throws -> Exchange_V1_BookDelta? {
        try await message(RedisNames.depthSnapshot(symbol: symbol))
    }

    /// What a new order is checked against, in one round trip: the account, the symbol's depth
    /// snapshot (reference price) and, when `withOpenOrders`, the user's open orders.
    public func orderContext(userID: UInt64, symbol: String, withOpenOrders: Bool) async throws
        -> (account: Exchange_V1_AccountAdmin?, depth: Exchange_V1_BookDelta?, openOrders: [Exchange_V1_OrderUpdate])
    {
        var commands: [[RedisArgument]] = [
            ["GET", RedisArgument(RedisNames.account(userID: userID))], ["GET", RedisArgument(RedisNames.depthSnapshot(symbol: symbol))],
        ]
        if withOpenOrders { commands.append(["HVALS", RedisArgument(RedisNames.openOrders(userID: userID))]) }
        let replies = try await redis.next().pipeline(commands)
        for reply in replies { try reply.throwingOnError() }
        let account = try replies[0].bytes.map { try Exchange_V1_AccountAdmin(fastSerializedBytes: $0) }
        let depth = try replies[1].bytes.map { try Exchange_V1_BookDelta(fastSerializedBytes: $0) }
        let open = withOpenOrders
            ? try (replies[2].array ?? []).compactMap { item in try item.bytes.map { try Exchange_V1_OrderUpdate(fastSerializedBytes: $0) } }
            : []
        return (account, depth, open)
    }

    // MARK: listenKeys (router-owned)

    public static let listenKeyTTLSeconds = 3600

    public func createListenKey(_ key: String, userID: UInt64) async throws {
        _ = try await redis.next().send(
            ["SET", RedisArgument(RedisNames.listenKey(key)), RedisArgument(userID), "EX", RedisArgument(Self.listenKeyTTLSeconds)]
        ).throwingOnError()
    }

    /// The user of a listenKey, nil when it does not exist (expired or deleted).
    public func listenKeyUser(_ key: String) async throws -> UInt64? {
        let reply = try await redis.next().send(["GET", RedisArgument(RedisNames.listenKey(key))]).throwingOnError()
        return reply.string.flatMap { UInt64($0) }
    }

    /// Extends a listenKey by 60 minutes; false when it does not exist.
    public func keepAliveListenKey(_ key: String) async throws -> Bool {
        let reply = try await redis.next().send(["EXPIRE", RedisArgument(RedisNames.listenKey(key)), RedisArgument(Self.listenKeyTTLSeconds)])
            .throwingOnError()
        return reply.integer == 1
    }

    public func deleteListenKey(_ key: String) async throws -> Bool {
        let reply = try await redis.next().send(["DEL", RedisArgument(RedisNames.listenKey(key))]).throwingOnError()
        return reply.integer == 1
    }

    private func message<M: FastProtoMessage>(_ key: String) async throws -> M? {
        let reply = try await redis.next().send(["GET", RedisArgument(key)]).throwingOnError()
        guard let bytes = reply.bytes else { return nil }
        do { return try M(fastSerializedBytes: bytes) } catch { throw RouterFault("\(key) does not decode as \(M.protoMessageName): \(error)") }
    }
}
