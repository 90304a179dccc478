import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// Binance's REST API, public and signed: server-time offset for signed requests, request
/// weight tracked from `X-MBX-USED-WEIGHT-1M`, 429/418 honoured through `Retry-After` (calls fail
/// fast until then), retries with exponential backoff and jitter, and a circuit breaker.
public final class BinanceRESTClient: Sendable {
    public struct Configuration: Sendable {
        /// "https://api.binance.com" (or a replay / testnet base).
        public var baseURL: String
        public var apiKey: String?
        public var signer: RequestSigner?
        public var recvWindowMs: Int
        /// Attempts per call for retriable failures (1 = no retry).
        public var maxAttempts: Int
        public var requestTimeout: Duration
        public var backoff: ExponentialBackoff
        public var breaker: CircuitBreaker
        /// Longest Retry-After the client waits inside one call; longer ones fail the call.
        public var maxRetryAfterWait: Duration

        public init(
            baseURL: String = "https://api.binance.com", apiKey: String? = nil, signer: RequestSigner? = nil,
            recvWindowMs: Int = 5000, maxAttempts: Int = 4, requestTimeout: Duration = .seconds(10),
            backoff: ExponentialBackoff = ExponentialBackoff(), breaker: CircuitBreaker = CircuitBreaker(),
            maxRetryAfterWait: Duration = .seconds(5)
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.signer = signer
            self.recvWindowMs = recvWindowMs
            self.maxAttempts = maxAttempts
            self.requestTimeout = requestTimeout
            self.backoff = backoff
            self.breaker = breaker
            self.maxRetryAfterWait = maxRetryAfterWait
        }
    }

    /// What the client knows about its standing with Binance.
    public struct Status: Sendable {
        /// Last `X-MBX-USED-WEIGHT-1M` seen.
        public var usedWeight1m = 0
        /// serverTime - local time, ms (added to `timestamp` of signed requests).
        public var timeOffsetMs: Int64 = 0
        public var breaker: CircuitBreaker
        public var requests = 0
        public var rateLimitedResponses = 0
        public var retries = 0
    }

    let configuration: Configuration
    let http: SimpleHTTPClient
    let logger: Logger
    let status: Mutex<Status>

    public init(configuration: Configuration, http: SimpleHTTPClient = SimpleHTTPClient(), logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
        self.status = Mutex(Status(breaker: configuration.breaker))
    }

    public var currentStatus: Status { status.withLock { $0 } }

    // MARK: Public endpoints

    /// `GET /api/v3/depth` body bytes (weight 5..250 by limit).
    public func depth(symbol: String, limit: Int = 5000) async throws -> [UInt8] {
        try await send(.GET, "/api/v3/depth", [("symbol", symbol), ("limit", "\(limit)")]).body
    }

    /// `GET /api/v3/exchangeInfo` body bytes.
    public func exchangeInfo() async throws -> [UInt8] {
        try await send(.GET, "/api/v3/exchangeInfo", []).body
    }

    /// Measures the server-time offset with `GET /api/v3/time` (midpoint of the round trip).
    @discardableResult
    public func synchronizeTime() async throws -> Int64 {
        let before = Self.nowMs()
        let result = try await send(.GET, "/api/v3/time", [])
        let after = Self.nowMs()
        guard let object = try? JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any],
              let serverTime = (object["serverTime"] as? NSNumber)?.int64Value
        else { throw BinanceError(.invalidResponse, "no serverTime in \(result.bodyText.prefix(100))") }
        let offset = serverTime - (before + after) / 2
        status.withLock { $0.timeOffsetMs = offset }
        return offset
    }

    // MARK: Requests

    /// Sends a request; `signed` adds timestamp, recvWindow and signature (and the API key header).
    /// Retries transport failures, 5xx and 429 (after Retry-After) up to `maxAttempts`.
    public func send(_ method: HTTPMethod, _ path: String, _ parameters: [(String, String)], signed: Bool = false) async throws -> HTTPResult {
        var backoff = configuration.backoff
        var attempt = 0
        var resynchronizedTime = false
        while true {
            attempt += 1
            let clock = ContinuousClock()
            let allowed = status.withLock { $0.breaker.allow(now: clock.now) }
            guard allowed else { throw BinanceError(.circuitOpen, "circuit open after repeated failures or a Retry-After") }
            do {
                let result = try await once(method, path, parameters, signed: signed)
                status.withLock { $0.breaker.recordSuccess() }
                return result
            } catch let error as BinanceError {
                switch error.code {
                case .rateLimited, .ipBanned:
                    let wait = Duration.seconds(error.retryAfterSeconds ?? 1)
                    status.withLock {
                        $0.rateLimitedResponses += 1
                        $0.breaker.hold(until: clock.now + wait)
                    }
                    logger.warning("binance rate limit", metadata: ["http": "\(error.httpStatus)", "retry_after": "\(wait)"])
                    guard error.code == .rateLimited, attempt < configuration.maxAttempts, wait <= configuration.maxRetryAfterWait else { throw error }
                    try await Task.sleep(for: wait)
                    // The hold is over; let the retry through.
                    status.withLock { $0.breaker.recordSuccess() }
                case .api where error.apiCode == -1021 && signed && !resynchronizedTime:
                    // Timestamp outside recvWindow: measure the offset again and retry once.
                    resynchronizedTime = true
                    try await synchronizeTime()
                default:
                    status.withLock { $0.breaker.recordFailure(now: clock.now) }
                    guard error.isRetriable, attempt < configuration.maxAttempts else { throw error }
                    let delay = backoff.next(random: Double.random(in: 0...1))
                    status.withLock { $0.retries += 1 }
                    logger.debug("binance request failed, retrying", metadata: ["error": "\(error)", "delay": "\(delay)"])
                    try await Task.sleep(for: delay)
                }
            }
        }
    }

    private func once(_ method: HTTPMethod, _ path: String, _ parameters: [(String, String)], signed: Bool) async throws -> HTTPResult {
        var query = QueryString.encode(parameters)
        var headers: [(String, String)] = []
        if let apiKey = configuration.apiKey { headers.append(("X-MBX-APIKEY", apiKey)) }
        if signed {
            guard let signer = configuration.signer else { throw BinanceError(.invalidRequest, "signed request without credentials") }
            let offset = status.withLock { $0.timeOffsetMs }
            let extra = QueryString.encode([("recvWindow", "\(configuration.recvWindowMs)"), ("timestamp", "\(Self.nowMs() + offset)")])
            query = query.isEmpty ? extra : query + "&" + extra
            query += "&signature=" + QueryString.escape(try signer.signature(of: query))
        }
        let url = configuration.baseURL + path + (query.isEmpty ? "" : "?" + query)
        status.withLock { $0.requests += 1 }
        let result = try await http.execute(method: method, url: url, headers: headers, timeout: configuration.requestTimeout)
        if let weight = result.header("x-mbx-used-weight-1m").flatMap({ Int($0) }) {
            status.withLock { $0.usedWeight1m = weight }
        }
        switch result.status {
        case 200..<300:
            return result
        case 429, 418:
            throw BinanceError(
                result.status == 429 ? .rateLimited : .ipBanned, result.bodyText, httpStatus: result.status,
                apiCode: Self.apiCode(result.body), retryAfterSeconds: result.header("retry-after").flatMap { Int($0) })
        case 500...:
            throw BinanceError(.server, String(result.bodyText.prefix(200)), httpStatus: result.status)
        default:
            throw BinanceError(.api, String(result.bodyText.prefix(300)), httpStatus: result.status, apiCode: Self.apiCode(result.body))
        }
    }

    static func apiCode(_ body: [UInt8]) -> Int {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return 0 }
        return (object["code"] as? NSNumber)?.intValue ?? 0
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
