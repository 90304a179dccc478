import ArgumentParser
import ExchangeProtocol
import Foundation

/// `exchange admin ...`: operator commands. Ledger changes are appended to `orders.requests` and
/// answered by the ledger; nothing is changed behind the log's back. (Ledger subcommands:
/// AdminLedgerCommands.swift.)
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator commands (symbols, accounts, API keys, funding, settings, audit).",
        subcommands: [
            AdminSymbolsCommand.self, AdminAccountCommand.self, AdminApiKeyCommand.self, AdminDepositCommand.self,
            AdminWithdrawCommand.self, AdminAssetCommand.self, AdminTierCommand.self, AdminAuditCommand.self,
            AdminMasterKeyCommand.self,
        ])
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

