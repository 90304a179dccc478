import ArgumentParser
import ExchangeProtocol
import Foundation

/// `exchange admin ...`: operator administration. Symbols here; ledger subcommands live in their own files.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator administration.", subcommands: [AdminSymbolsCommand.self])
}

/// `exchange admin symbols ...`.
struct AdminSymbolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symbols", abstract: "The symbol catalogue (deploy/symbols.json).", subcommands: [AdminSymbolsImportCommand.self])
}

/// `exchange admin symbols import FILE --only A,B [--venue internal|binance] [--output deploy/symbols.json]`:
/// copies symbols from a Binance exchangeInfo answer (the raw JSON, or a capture with a prefix
/// before the first `{`) into the catalogue with every field and filter. Symbols already in the
/// output and not imported are kept; imported ones replace entries of the same name.
struct AdminSymbolsImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import symbols from a Binance exchangeInfo JSON.")

    @Argument(help: "exchangeInfo JSON file") var file: String
    @Option(help: "Comma-separated symbols to import (default: all)") var only: String?
    @Option(help: "Venue of the imported symbols: internal or binance") var venue: String = "internal"
    @Option(help: "Catalogue to write") var output: String = "deploy/symbols.json"

    func run() async throws {
        guard let venue = SymbolVenue(rawValue: venue) else { throw ValidationError("--venue must be internal or binance") }
        guard let raw = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let result = try SymbolImport.merge(
            exchangeInfo: raw, only: only.map { $0.split(separator: ",").map(String.init) }, venue: venue,
            existing: FileManager.default.contents(atPath: output))
        try result.json.write(to: URL(fileURLWithPath: output), options: .atomic)
        print("{\"output\":\"\(output)\",\"imported\":\(result.imported.count),\"symbols\":\(result.total)}")
    }
}

/// The import as a function of bytes, so it can be tested without files.
enum SymbolImport {
    struct Catalogue: Codable {
        var exchangeFilters: [SymbolFilter]?
        var symbols: [SymbolConfig]
    }

    static func merge(exchangeInfo raw: Data, only: [String]?, venue: SymbolVenue, existing: Data?) throws
        -> (json: Data, imported: [String], total: Int)
    {
        // Captures like ../shared/fixtures carry "URL -> time: " before the JSON.
        guard let start = raw.firstIndex(of: UInt8(ascii: "{")) else { throw ValidationError("no JSON object in the exchangeInfo file") }
        let info = try JSONDecoder().decode(Catalogue.self, from: raw[start...])
        var wanted = info.symbols
        if let only {
            let names = Set(only)
            wanted = info.symbols.filter { names.contains($0.symbol) }
            let missing = names.subtracting(wanted.map(\.symbol))
            guard missing.isEmpty else { throw ValidationError("not in the exchangeInfo: \(missing.sorted().joined(separator: ","))") }
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
