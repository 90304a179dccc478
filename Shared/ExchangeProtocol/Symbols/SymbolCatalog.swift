import Foundation

/// Where a symbol's orders go.
public enum SymbolVenue: String, Sendable, Codable {
    /// Matched on our own book by the `matching` service.
    case `internal`
    /// Routed to Binance with the house account.
    case binance
}

/// One symbol as the operator configures it: Binance's exchangeInfo `symbols[]` entry (same field
/// names, so an exchangeInfo answer can be served from it) plus `venue`. The exchangeInfo fields
/// the matching service does not need live in `info` (flattened into the same JSON object).
public struct SymbolConfig: Sendable, Codable, Equatable {
    public var symbol: String
    public var status: String
    public var baseAsset: String
    public var quoteAsset: String
    public var venue: SymbolVenue
    public var defaultSelfTradePreventionMode: SelfTradePreventionMode
    public var allowedSelfTradePreventionModes: [SelfTradePreventionMode]
    /// Every other exchangeInfo field (precisions, order types, flags, filters, permissions).
    public var info: SymbolExchangeInfo

    public init(
        symbol: String, status: String = "TRADING", baseAsset: String, quoteAsset: String, venue: SymbolVenue = .internal,
        defaultSelfTradePreventionMode: SelfTradePreventionMode = .expireMaker,
        allowedSelfTradePreventionModes: [SelfTradePreventionMode] = [.expireTaker, .expireMaker, .expireBoth],
        info: SymbolExchangeInfo = SymbolExchangeInfo()
    ) {
        self.symbol = symbol
        self.status = status
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
        self.venue = venue
        self.defaultSelfTradePreventionMode = defaultSelfTradePreventionMode
        self.allowedSelfTradePreventionModes = allowedSelfTradePreventionModes
        self.info = info
    }

    enum CodingKeys: String, CodingKey {
        case symbol, status, baseAsset, quoteAsset, venue, defaultSelfTradePreventionMode, allowedSelfTradePreventionModes
    }

    /// Defaults where a field is absent: venue internal, status TRADING, and Binance's current
    /// defaults for self-trade prevention (EXPIRE_MAKER; EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            symbol: try c.decode(String.self, forKey: .symbol),
            status: try c.decodeIfPresent(String.self, forKey: .status) ?? "TRADING",
            baseAsset: try c.decode(String.self, forKey: .baseAsset),
            quoteAsset: try c.decode(String.self, forKey: .quoteAsset),
            venue: try c.decodeIfPresent(SymbolVenue.self, forKey: .venue) ?? .internal,
            defaultSelfTradePreventionMode: try c.decodeIfPresent(SelfTradePreventionMode.self, forKey: .defaultSelfTradePreventionMode) ?? .expireMaker,
            allowedSelfTradePreventionModes: try c.decodeIfPresent([SelfTradePreventionMode].self, forKey: .allowedSelfTradePreventionModes)
                ?? [.expireTaker, .expireMaker, .expireBoth],
            info: try SymbolExchangeInfo(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(status, forKey: .status)
        try c.encode(baseAsset, forKey: .baseAsset)
        try c.encode(quoteAsset, forKey: .quoteAsset)
        try c.encode(venue, forKey: .venue)
        try c.encode(defaultSelfTradePreventionMode, forKey: .defaultSelfTradePreventionMode)
        try c.encode(allowedSelfTradePreventionModes, forKey: .allowedSelfTradePreventionModes)
        try info.encode(to: encoder)
    }
}

/// The operator's symbol list (`deploy/symbols.json`): `{"symbols": [SymbolConfig, ...]}`.
public struct SymbolCatalog: Sendable, Equatable {
    public private(set) var symbols: [String: SymbolConfig]

    public init(_ symbols: [SymbolConfig]) {
        self.symbols = Dictionary(symbols.map { ($0.symbol, $0) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(symbol: String) -> SymbolConfig? { symbols[symbol] }

    /// Parses the catalogue; refuses duplicates, empty names and a default STP mode that is not allowed.
    public init(json: Data) throws {
        struct File: Decodable { var symbols: [SymbolConfig] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: json) } catch {
            throw CatalogError("symbol catalogue is not valid: \(error)")
        }
        var seen: Set<String> = []
        for config in file.symbols {
            guard !config.symbol.isEmpty, !config.baseAsset.isEmpty, !config.quoteAsset.isEmpty else {
                throw CatalogError("symbol catalogue: an entry lacks symbol, baseAsset or quoteAsset")
            }
            guard seen.insert(config.symbol).inserted else { throw CatalogError("symbol catalogue: \(config.symbol) listed twice") }
            guard config.allowedSelfTradePreventionModes.contains(config.defaultSelfTradePreventionMode) else {
                throw CatalogError("symbol catalogue: \(config.symbol)'s defaultSelfTradePreventionMode is not among its allowed modes")
            }
        }
        self.init(file.symbols)
    }

    public static func load(path: String) throws -> SymbolCatalog {
        guard let data = FileManager.default.contents(atPath: path) else { throw CatalogError("cannot read symbol catalogue \(path)") }
        return try SymbolCatalog(json: data)
    }

    public struct CatalogError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}
