/// Binance's acceptance rule for SIGNED requests: `timestamp` in milliseconds or microseconds,
/// `recvWindow` in milliseconds with up to three decimals (default 5000, at most 60000); accepted
/// when `timestamp < serverTime + 1000 ms` and `serverTime - timestamp <= recvWindow`. The rule is
/// checked when the request arrives and again just before an order is appended.
public struct TimestampRule: Sendable, Equatable {
    /// The request's timestamp, in microseconds.
    public var timestampMicros: Int64
    /// recvWindow in microseconds.
    public var recvWindowMicros: Int64

    public static let defaultRecvWindowMicros: Int64 = 5_000_000
    public static let maxRecvWindowMicros: Int64 = 60_000_000

    /// Parses the two parameters (-1102 without a timestamp, -1100 when malformed, -1131 past 60000).
    public static func parse(timestamp: String?, recvWindow: String?) -> Result<TimestampRule, APIError> {
        guard let timestamp, !timestamp.isEmpty else { return .failure(.mandatory("timestamp")) }
        guard timestamp.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), timestamp.utf8.count <= 18, let value = Int64(timestamp) else {
            return .failure(.illegalChars("timestamp", pattern: "^[0-9]{1,20}$"))
        }
        // 13 digits are milliseconds (until 2286); 16 digits are microseconds.
        let micros = timestamp.utf8.count >= 16 ? value : value * 1000
        var window = defaultRecvWindowMicros
        if let recvWindow, !recvWindow.isEmpty {
            guard let parsed = parseWindow(recvWindow) else {
                return .failure(.illegalChars("recvWindow", pattern: "^[0-9]{1,20}(\\.[0-9]{1,3})?$"))
            }
            guard parsed <= maxRecvWindowMicros else { return .failure(.badRecvWindow) }
            window = parsed
        }
        return .success(TimestampRule(timestampMicros: micros, recvWindowMicros: window))
    }

    /// nil when accepted at `nowMicros`, else -1021 with Binance's message.
    public func check(nowMicros: Int64) -> APIError? {
        if timestampMicros >= nowMicros + 1_000_000 { return .timestampAhead }
        if nowMicros - timestampMicros > recvWindowMicros { return .timestampOutside }
        return nil
    }

    /// `5000`, `5000.5`, `6000.346` → microseconds.
    static func parseWindow(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholeText = parts.first, !wholeText.isEmpty, wholeText.count <= 12,
              wholeText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let whole = Int64(wholeText) else { return nil }
        var micros = whole * 1000
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...3).contains(fraction.count), fraction.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let f = Int64(fraction) else { return nil }
            var scaled = f
            for _ in fraction.count..<3 { scaled *= 10 }
            micros += scaled
        }
        return micros
    }
}
