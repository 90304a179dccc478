/// Binance's WebSocket limits, as values so tests and the benchmark can change them.
public struct ConnectionLimits: Sendable, Equatable {
    /// Incoming messages per second per connection (Binance: 5); beyond it the connection closes.
    public var messagesPerSecond: Int = 5
    /// Streams one connection may hold (Binance: 1024).
    public var streamsPerConnection: Int = 1024
    /// New connections per IP per `connectionWindowMs` (Binance: 300 per 5 minutes).
    public var connectionsPerWindow: Int = 300
    public var connectionWindowMs: Int64 = 5 * 60 * 1000
    /// Connection lifetime (Binance: 24 h).
    public var lifetime: Duration = .seconds(24 * 3600)
    /// Ping period (Binance: 20 s). swift-websocket closes a connection whose pong did not arrive
    /// by the next ping.
    public var pingInterval: Duration = .seconds(20)
    /// Frames queued for one connection before it counts as a slow consumer and is closed.
    public var outboundBuffer: Int = 4096

    public init() {}
}

/// Counts a connection's incoming messages per second (fixed one-second windows).
public struct MessageRateLimiter: Sendable {
    public let limit: Int
    private var windowStartMs: Int64 = .min / 2
    private var count = 0

    public init(limit: Int) { self.limit = limit }

    /// Records a message at `nowMs`; false when it is over the limit.
    public mutating func admit(nowMs: Int64) -> Bool {
        if nowMs - windowStartMs >= 1000 {
            windowStartMs = nowMs
            count = 0
        }
        count += 1
        return count <= limit
    }
}

/// Connection attempts per IP over a sliding window (Binance: 300 per 5 minutes per IP).
public struct ConnectionRateLimiter: Sendable {
    public let limit: Int
    public let windowMs: Int64
    private var attempts: [String: [Int64]] = [:]

    public init(limit: Int, windowMs: Int64) {
        self.limit = limit
        self.windowMs = windowMs
    }

    /// Records an attempt from `ip`; false when the IP is over its limit (the attempt is not counted).
    public mutating func admit(ip: String, nowMs: Int64) -> Bool {
        var times = attempts[ip, default: []]
        let cutoff = nowMs - windowMs
        if let firstKept = times.firstIndex(where: { $0 > cutoff }) {
            times.removeFirst(firstKept)
        } else {
            times.removeAll()
        }
        guard times.count < limit else {
            attempts[ip] = times
            return false
        }
        times.append(nowMs)
        attempts[ip] = times
        if attempts.count > 100_000 { attempts = attempts.filter { $0.value.last.map { $0 > cutoff } ?? false } }
        return true
    }
}
