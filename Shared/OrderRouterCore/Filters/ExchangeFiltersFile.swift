import ExchangeProtocol
import Foundation

/// The optional top-level `exchangeFilters` of the symbol catalogue file (EXCHANGE_MAX_NUM_ORDERS,
/// EXCHANGE_MAX_NUM_ALGO_ORDERS), read beside `SymbolCatalog`, which ignores it.
public enum ExchangeFiltersFile {
    public static func parse(_ data: Data) throws -> [SymbolFilter] {
        struct File: Decodable { var exchangeFilters: [SymbolFilter]? }
        return try JSONDecoder().decode(File.self, from: data).exchangeFilters ?? []
    }

    public static func load(path: String) throws -> [SymbolFilter] {
        guard let data = FileManager.default.contents(atPath: path) else { throw RouterFault("cannot read \(path)") }
        return try parse(data)
    }
}
