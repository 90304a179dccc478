import Foundation

/// `exchange admin symbols import`: symbols copied from a Binance exchangeInfo answer into the
/// catalogue with every field and filter, as a function of bytes so it is tested without files.
public enum SymbolImport {
    public struct Catalogue: Codable {
        public var exchangeFilters: [SymbolFilter]?
        public var symbols: [SymbolConfig]
    }

    public static func merge(exchangeInfo raw: Data, only: [String]?, venue: SymbolVenue, existing: Data?) throws
        -> (json: Data, imported: [String], total: Int)
    {
        // Captures like ../shared/fixtures carry "URL -> time: " before the JSON and other records on
        // later lines: the answer is the first line holding a JSON object, from its first `{`.
        guard let start = raw.firstIndex(of: UInt8(ascii: "{")) else {
            throw SymbolCatalog.CatalogError("no JSON object in the exchangeInfo file")
        }
        let end = raw[start...].firstIndex(of: UInt8(ascii: "\n")) ?? raw.endIndex
        let info = try JSONDecoder().decode(Catalogue.self, from: raw[start..<end])
        var wanted = info.symbols
        if let only {
            let names = Set(only)
            wanted = info.symbols.filter { names.contains($0.symbol) }
            let missing = names.subtracting(wanted.map(\.symbol))
            guard missing.isEmpty else { throw SymbolCatalog.CatalogError("not in the exchangeInfo: \(missing.sorted().joined(separator: ","))") }
        }
        for index in wanted.indices { wanted[index].venue = venue }
        var catalogue = Catalogue(exchangeFilters: info.exchangeFilters ?? [], symbols: [])
        if let existing {
            let current = try JSONDecoder().decode(Catalogue.self, from: existing)
            let replaced = Set(wanted.map(\.symbol))
            catalogue.symbols = current.symbols.filter { !replaced.contains($0.symbol) }
            if let filters = current.exchangeFilters, !filters.isEmpty { catalogue.exchangeFilters = filters }
        }
        catalogue.symbols += wanted
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var json = try encoder.encode(catalogue)
        json.append(UInt8(ascii: "\n"))
        // The result must load as the services load it.
        _ = try SymbolCatalog(json: json)
        return (json, wanted.map(\.symbol), catalogue.symbols.count)
    }
}
