import Messaging

/// Binance's limits, counted in Redis by one Lua script per check so any number of router
/// instances share them atomically: REQUEST_WEIGHT per IP per minute, RAW_REQUESTS per IP per
/// 5 minutes, ORDERS per account per 10 s and per day. An IP that keeps sending after 429s is
/// banned (418) for 2 minutes, doubling with each further ban up to 3 days, as Binance escalates.
public struct RateLimits: Sendable, Equatable {
    public var requestWeightPerMinute = 6000
    public var rawRequestsPer5Minutes = 61000
    public var ordersPer10Seconds = 100
    public var ordersPerDay = 200_000
    /// Requests refused with 429 within one weight window before a ban.
    public var violationsBeforeBan = 10
    public var firstBanMs: Int64 = 120_000
    public var maxBanMs: Int64 = 3 * 24 * 3600 * 1000

    public init() {}
}

/// What a check concluded.
public enum RateLimitDecision: Sendable, Equatable {
    /// Go on; the counts after this request (for the X-MBX-* headers).
    case allowed(usedWeight: Int64)
    /// 429: `retryAfterSeconds` until the window that overflowed ends.
    case limited(usedWeight: Int64, retryAfterSeconds: Int64, error: APIError)
    /// 418: banned until `untilMs`.
    case banned(untilMs: Int64, error: APIError)
}

public enum OrderRateDecision: Sendable, Equatable {
    case allowed(count10s: Int64, countDay: Int64)
    case limited(count10s: Int64, countDay: Int64, retryAfterSeconds: Int64, error: APIError)
}

/// The Redis side of the limits.
public struct RateLimiter: Sendable {
    public let limits: RateLimits
    let redis: RedisPool

    public init(limits: RateLimits, redis: RedisPool) {
        self.limits = limits
        self.redis = redis
    }

    // KEYS: weight counter, raw counter, ban key, violations counter, ban level
    // ARGV: weight, weight ttl ms, raw ttl ms, weight limit, raw limit, violations before ban,
    //       first ban ms, max ban ms, now ms
    //
    // The counters are not written to the AOF or replicas (`set_repl(REPL_NONE)`): they are
    // ephemeral like Binance's, and on the event log's Redis (`appendfsync always`) every
    // propagated write would cost each request an fsync.
    static let ipScript = RedisScript("""
    redis.set_repl(redis.REPL_NONE)
    local ban = redis.call('PTTL', KEYS[3])
    if ban > 0 then return {-2, ban, 0} end
    local w = redis.call('INCRBY', KEYS[1], ARGV[1])
    if w == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    local r = redis.call('INCR', KEYS[2])
    if r == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
    if w > tonumber(ARGV[4]) or r > tonumber(ARGV[5]) then
      local v = redis.call('INCR', KEYS[4])
      if v == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[2]) end
      if v > tonumber(ARGV[6]) then
        local level = redis.call('INCR', KEYS[5])
        redis.call('PEXPIRE', KEYS[5], 86400000)
        local len = tonumber(ARGV[7]) * (2 ^ (level - 1))
        if len > tonumber(ARGV[8]) then len = tonumber(ARGV[8]) end
        redis.call('SET', KEYS[3], '1', 'PX', math.floor(len))
        redis.call('DEL', KEYS[4])
        return {-2, math.floor(len), w}
      end
      if w > tonumber(ARGV[4]) then return {-1, w, 1} end
      return {-1, w, 2}
    end
    return {0, w, r}
    """)

    // KEYS: 10 s counter, day counter. ARGV: 10 s ttl ms, day ttl ms, 10 s limit, day limit.
    static let orderScript = RedisScript("""
    redis.set_repl(redis.REPL_NONE)
    local a = redis.call('INCR', KEYS[1])
    if a == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    local b = redis.call('INCR', KEYS[2])
    if b == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
    if a > tonumber(ARGV[3]) then return {-1, a, b} end
    if b > tonumber(ARGV[4]) then return {-2, a, b} end
    return {0, a, b}
    """)

    /// Counts `weight` and one raw request for `ip` at `nowMs`.
    public func checkIP(_ ip: String, weight: Int, nowMs: Int64) async throws -> RateLimitDecision {
        try await checkIP(ip, weight: weight, nowMs: nowMs, alsoGet: nil).decision
    }

    /// Counts like `checkIP` and, in the same round trip, reads `alsoGet` (the caller's API-key
    /// record, needed next unless the IP is refused).
    public func checkIP(_ ip: String, weight: Int, nowMs: Int64, alsoGet: String?) async throws
        -> (decision: RateLimitDecision, value: RedisReply?)
    {
        let minute = nowMs / 60_000
        let five = nowMs / 300_000
        let keys: [RedisArgument] = [
            RedisArgument("rl:weight:\(ip):\(minute)"), RedisArgument("rl:raw:\(ip):\(five)"), RedisArgument("rl:ban:\(ip)"),
            RedisArgument("rl:violations:\(ip)"), RedisArgument("rl:banlevel:\(ip)"),
        ]
        let args: [RedisArgument] = [
            RedisArgument(weight), RedisArgument(60_000 + 1000), RedisArgument(300_000 + 1000), RedisArgument(limits.requestWeightPerMinute),
            RedisArgument(limits.rawRequestsPer5Minutes), RedisArgument(limits.violationsBeforeBan), RedisArgument(Int(limits.firstBanMs)),
            RedisArgument(Int(limits.maxBanMs)), RedisArgument(Int(nowMs)),
        ]
        let client = redis.next()
        var reply: RedisReply
        var value: RedisReply?
        if let alsoGet {
            let replies = try await client.pipeline([
                ["EVALSHA", RedisArgument(Self.ipScript.sha1), RedisArgument(keys.count)] + keys + args, ["GET", RedisArgument(alsoGet)],
            ])
            reply = replies[0]
            value = try replies[1].throwingOnError()
            // Not cached yet (first use, or after a restart): EVAL loads it; the counts were not touched.
            if let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") {
                reply = try await client.eval(Self.ipScript, keys: keys, args: args)
            }
        } else {
            reply = try await client.eval(Self.ipScript, keys: keys, args: args)
        }
        try reply.throwingOnError()
        let decision = try decide(reply, ip: ip, nowMs: nowMs)
        return (decision, value)
    }

    private func decide(_ reply: RedisReply, ip: String, nowMs: Int64) throws -> RateLimitDecision {
        let values = reply.integers
        guard values.count == 3 else { throw RouterFault("rate-limit script answered \(reply)") }
        switch values[0] {
        case 0: return .allowed(usedWeight: values[1])
        case -2:
            let until = nowMs + values[1]
            var error = APIError(
                status: 418, code: -1003,
                msg: "Way too much request weight used; IP banned until \(until). Please use WebSocket Streams for live updates to avoid bans.")
            error.headers = [("Retry-After", String((values[1] + 999) / 1000))]
            return .banned(untilMs: until, error: error)
        default:
            let weightOver = values[2] == 1
            let windowMs: Int64 = weightOver ? 60_000 : 300_000
            let retry = (windowMs - nowMs % windowMs + 999) / 1000
            var error = weightOver
                ? APIError(
                    status: 429, code: -1003,
                    msg: "Too much request weight used; current limit is \(limits.requestWeightPerMinute) request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")
                : APIError(
                    status: 429, code: -1003,
                    msg: "Too many requests; current limit is \(limits.rawRequestsPer5Minutes) requests per 5 MINUTE.")
            error.headers = [("Retry-After", String(retry))]
            return .limited(usedWeight: values[1], retryAfterSeconds: retry, error: error)
        }
    }

    /// Counts one new order for `userID` at `nowMs` (POST order, cancelReplace's new order).
    public func countOrder(userID: UInt64, nowMs: Int64) async throws -> OrderRateDecision {
        let tenSeconds = nowMs / 10_000
        let day = nowMs / 86_400_000
        let reply = try await redis.next().eval(
            Self.orderScript, keys: [RedisArgument("rl:orders10s:\(userID):\(tenSeconds)"), RedisArgument("rl:orders1d:\(userID):\(day)")],
            args: [RedisArgument(11_000), RedisArgument(86_400_000 + 1000), RedisArgument(limits.ordersPer10Seconds), RedisArgument(limits.ordersPerDay)]
        ).throwingOnError()
        let values = reply.integers
        guard values.count == 3 else { throw RouterFault("order-count script answered \(reply)") }
        switch values[0] {
        case 0: return .allowed(count10s: values[1], countDay: values[2])
        case -1:
            let retry = (10_000 - nowMs % 10_000 + 999) / 1000
            var error = APIError.tooManyOrders(limit: limits.ordersPer10Seconds, interval: "10 SECOND")
            error.headers = [("Retry-After", String(retry))]
            return .limited(count10s: values[1], countDay: values[2], retryAfterSeconds: retry, error: error)
        default:
            let retry = (86_400_000 - nowMs % 86_400_000 + 999) / 1000
            var error = APIError.tooManyOrders(limit: limits.ordersPerDay, interval: "1 DAY")
            error.headers = [("Retry-After", String(retry))]
            return .limited(count10s: values[1], countDay: values[2], retryAfterSeconds: retry, error: error)
        }
    }

    /// The current order counts of a user (GET rateLimit/order), without counting.
    public func orderCounts(userID: UInt64, nowMs: Int64) async throws -> (tenSeconds: Int64, day: Int64) {
        let replies = try await redis.next().pipeline([
            ["GET", RedisArgument("rl:orders10s:\(userID):\(nowMs / 10_000)")], ["GET", RedisArgument("rl:orders1d:\(userID):\(nowMs / 86_400_000)")],
        ])
        return (replies[0].decimalInteger ?? 0, replies[1].decimalInteger ?? 0)
    }
}

extension RedisReply {
    var integers: [Int64] {
        guard case .array(let items) = self else { return [] }
        return items.compactMap { if case .integer(let v) = $0 { return v } else { return nil } }
    }

    var decimalInteger: Int64? {
        if case .bulk(let bytes) = self { return Int64(String(decoding: bytes, as: UTF8.self)) }
        if case .integer(let v) = self { return v }
        return nil
    }
}
