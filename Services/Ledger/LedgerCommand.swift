import ArgumentParser
import ExchangeProtocol
import Foundation
import LedgerService
import ServiceKit

/// `ledger`: accounts, journal, reservations, settlement. Consumes `orders.requests` (its users'
/// partitions, where matching also writes each user's order reports and trades); forwards funded orders to `matching.commands` (or
/// `routing.commands` for `venue: binance` symbols), emits `ledger.events`, and keeps the Redis
/// projections the order-router reads.
@main
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Wallet and ledger: consumes orders.requests (requests, and matching's reports and trades per user).")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("symbols"), help: "Symbol catalogue JSON, or 'none' (EXCHANGE_SYMBOLS, default deploy/symbols.json)")
    var symbols: String?

    @Option(name: .customLong("audit-interval-ms"), help: "Write the ledger audit to Redis at most this often (default 1000)")
    var auditIntervalMs: Int64 = 1000

    func validate() throws {
        guard auditIntervalMs >= 0 else { throw ValidationError("--audit-interval-ms must not be negative") }
    }

    func run() async throws {
        let configuration = try options.resolve(service: "ledger", defaultAdminPort: DefaultPorts.ledgerAdmin)
        let path = symbols ?? ProcessInfo.processInfo.environment["EXCHANGE_SYMBOLS"] ?? "deploy/symbols.json"
        let catalog = path == "none" ? nil : try SymbolCatalog.load(path: path)
        try await StandardService.run(
            configuration, inputs: [Topics.ordersRequests], processor: LedgerProcessor.self, stateScope: .perPartition,
            planner: LedgerSideEffects(instance: configuration.instance, auditIntervalMs: auditIntervalMs),
            prepare: { $0.adopt(catalog: catalog) })
    }
}
