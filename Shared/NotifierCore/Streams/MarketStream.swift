import ExchangeProtocol

/// One Binance market stream a client can subscribe to, parsed from its name.
///
/// Symbols in names are lowercase on Binance; the parse accepts any case (clients such as
/// binance-connector lowercase them anyway) and `name` is always Binance's canonical spelling,
/// which is what LIST_SUBSCRIPTIONS returns and what combined payloads carry in `stream`.
public enum MarketStream: Hashable, Sendable {
    case trade(symbol: String)
    case aggTrade(symbol: String)
    /// `<s>@depth` (1000 ms windows) or `<s>@depth@100ms`.
    case depthDiff(symbol: String, fast: Bool)
    /// `<s>@depth<5|10|20>[@100ms]`: the top levels of the notifier's local book.
    case partialDepth(symbol: String, levels: Int, fast: Bool)
    case bookTicker(symbol: String)
    case kline(symbol: String, interval: String)
    case miniTicker(symbol: String)
    case ticker(symbol: String)
    case avgPrice(symbol: String)
    /// `!miniTicker@arr`: the mini tickers of every symbol that changed in the last second.
    case allMiniTickers

    /// Binance's 16 kline intervals, exactly as they appear in stream names.
    public static let klineIntervals: Set<String> = [
        "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
    ]

    /// Parses a stream name; nil when it is not one of the streams served here.
    public init?(name: String) {
        if name == "!miniTicker@arr" { self = .allMiniTickers; return }
        let parts = name.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, let first = parts.first, !first.isEmpty,
              first.utf8.allSatisfy({ Self.isSymbolByte($0) })
        else { return nil }
        let symbol = first.uppercased()
        let kind = String(parts[1])
        let speed = parts.count == 3 ? String(parts[2]) : nil
        if let speed {
            // Only depth streams take a speed suffix; "1000ms" is Binance's spelled-out default.
            guard speed == "100ms" || speed == "1000ms" else { return nil }
        }
        let fast = speed == "100ms"
        switch kind {
        case "trade" where speed == nil: self = .trade(symbol: symbol)
        case "aggTrade" where speed == nil: self = .aggTrade(symbol: symbol)
        case "depth": self = .depthDiff(symbol: symbol, fast: fast)
        case "depth5": self = .partialDepth(symbol: symbol, levels: 5, fast: fast)
        case "depth10": self = .partialDepth(symbol: symbol, levels: 10, fast: fast)
        case "depth20": self = .partialDepth(symbol: symbol, levels: 20, fast: fast)
        case "bookTicker" where speed == nil: self = .bookTicker(symbol: symbol)
        case "miniTicker" where speed == nil: self = .miniTicker(symbol: symbol)
        case "ticker" where speed == nil: self = .ticker(symbol: symbol)
        case "avgPrice" where speed == nil: self = .avgPrice(symbol: symbol)
        default:
            guard speed == nil, kind.hasPrefix("kline_") else { return nil }
            let interval = String(kind.dropFirst("kline_".count))
            guard Self.klineIntervals.contains(interval) else { return nil }
            self = .kline(symbol: symbol, interval: interval)
        }
    }

    private static func isSymbolByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    /// The symbol (uppercase) the stream is about; nil for all-market streams.
    public var symbol: String? {
        switch self {
        case .trade(let s), .aggTrade(let s), .depthDiff(let s, _), .partialDepth(let s, _, _), .bookTicker(let s),
             .kline(let s, _), .miniTicker(let s), .ticker(let s), .avgPrice(let s):
            return s
        case .allMiniTickers:
            return nil
        }
    }

    /// Binance's canonical name (lowercase symbol).
    public var name: String {
        switch self {
        case .trade(let s): return "\(s.lowercased())@trade"
        case .aggTrade(let s): return "\(s.lowercased())@aggTrade"
        case .depthDiff(let s, let fast): return "\(s.lowercased())@depth\(fast ? "@100ms" : "")"
        case .partialDepth(let s, let n, let fast): return "\(s.lowercased())@depth\(n)\(fast ? "@100ms" : "")"
        case .bookTicker(let s): return "\(s.lowercased())@bookTicker"
        case .kline(let s, let i): return "\(s.lowercased())@kline_\(i)"
        case .miniTicker(let s): return "\(s.lowercased())@miniTicker"
        case .ticker(let s): return "\(s.lowercased())@ticker"
        case .avgPrice(let s): return "\(s.lowercased())@avgPrice"
        case .allMiniTickers: return "!miniTicker@arr"
        }
    }

    /// The md topic whose Pub/Sub channel (`md.<kind>.<SYMBOL>`) carries this stream's source records.
    public var topic: String {
        switch self {
        case .trade, .aggTrade: return Topics.mdTrades.name
        case .depthDiff, .partialDepth: return Topics.mdDepth.name
        case .bookTicker, .kline, .miniTicker, .ticker, .avgPrice, .allMiniTickers: return Topics.mdTickers.name
        }
    }

    /// The Redis channels the stream needs; `!miniTicker@arr` needs every symbol's ticker channel.
    public func channels(allSymbols: [String]) -> [String] {
        if let symbol { return [RedisNames.marketDataChannel(topic: topic, symbol: symbol)] }
        return allSymbols.map { RedisNames.marketDataChannel(topic: Topics.mdTickers.name, symbol: $0) }
    }
}
