/// An infrastructure fault talking to Binance (a business rejection is `BinanceError` with code
/// `.api` and Binance's own code/message).
public struct BinanceError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// Connect, TLS or socket failure.
        case transport
        case timeout
        /// HTTP 429: request weight or order rate exceeded; back off for `retryAfterSeconds`.
        case rateLimited
        /// HTTP 418: the IP is banned for `retryAfterSeconds` after ignoring 429s.
        case ipBanned
        /// The circuit breaker is open: too many consecutive failures, calls fail fast.
        case circuitOpen
        /// 5xx from Binance (status unknown for writes).
        case server
        /// A 4xx with Binance's `{"code":..,"msg":..}`.
        case api
        case invalidResponse
        case invalidRequest
    }

    public var code: Code
    public var reason: String
    public var httpStatus: Int
    /// Binance's error code (-1121 ...) when the body had one.
    public var apiCode: Int
    public var retryAfterSeconds: Int?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ reason: String, httpStatus: Int = 0, apiCode: Int = 0, retryAfterSeconds: Int? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.reason = reason
        self.httpStatus = httpStatus
        self.apiCode = apiCode
        self.retryAfterSeconds = retryAfterSeconds
        self.file = file
        self.line = line
    }

    /// Whether repeating the same request later can succeed.
    public var isRetriable: Bool {
        switch code {
        case .transport, .timeout, .rateLimited, .server, .circuitOpen: return true
        case .ipBanned, .api, .invalidResponse, .invalidRequest: return false
        }
    }

    public var description: String {
        "BinanceError(\(code.rawValue), \(reason)\(httpStatus != 0 ? ", http \(httpStatus)" : "")\(apiCode != 0 ? ", code \(apiCode)" : ""), \(file):\(line))"
    }
}
