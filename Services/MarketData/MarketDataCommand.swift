import ArgumentParser
import ExchangeProtocol
import ServiceKit

/// `market-data`: upstream Binance ingestion and aggregates. Until ingestion lands (issue 7) it
/// consumes `matching.events` with the tallying processor, snapshots and exposes health/metrics.
@main
struct MarketDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market-data", abstract: "Market data: ingestion workers and aggregates, publishes md.* topics.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "market-data", defaultAdminPort: DefaultPorts.marketDataAdmin)
        try await StandardService.run(configuration, inputs: [Topics.matchingEvents], processor: RecordTally.self)
    }
}
