import ArgumentParser
import ExchangeProtocol
import ServiceKit

/// `ledger`: accounts, journal, reservations, settlement. Until the ledger core lands (issue 4)
/// it consumes its inputs with the tallying processor, snapshots and exposes health/metrics.
@main
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Wallet and ledger: consumes orders.requests and matching.events.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "ledger", defaultAdminPort: DefaultPorts.ledgerAdmin)
        try await StandardService.run(
            configuration, inputs: [Topics.ordersRequests, Topics.matchingEvents], processor: RecordTally.self)
    }
}
