import ArgumentParser
import ExchangeProtocol
import Foundation
import MatchingEngine
import MatchingService
import ServiceKit

/// `matching`: one order book per internal symbol (`FastBook`), consuming funded orders, cancels
/// and amends from `matching.commands` and emitting order updates, trades and book deltas to
/// `matching.events`, with snapshots and replay through the consumer loop. Once a batch is
/// durable it publishes each request's outcome on the router's reply channel and refreshes the
/// changed books' depth snapshots in Redis.
@main
struct MatchingServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching", abstract: "Matching engine: consumes matching.commands, emits matching.events.")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("symbols"), help: "Symbol catalogue JSON, or 'none' to accept any symbol with Binance's default settings (EXCHANGE_SYMBOLS, default deploy/symbols.json)")
    var symbols: String?

    @Option(name: .customLong("depth-levels"), help: "Levels per side in the Redis depth snapshot (default 5000)")
    var depthLevels: Int = 5000

    @Option(name: .customLong("depth-interval-ms"), help: "At most one depth snapshot per symbol per this many ms (default 100)")
    var depthIntervalMs: Int64 = 100

    func validate() throws {
        guard depthLevels > 0 else { throw ValidationError("--depth-levels must be positive") }
        guard depthIntervalMs >= 0 else { throw ValidationError("--depth-interval-ms must not be negative") }
    }

    func run() async throws {
        let configuration = try options.resolve(service: "matching", defaultAdminPort: DefaultPorts.matchingAdmin)
        let path = symbols ?? ProcessInfo.processInfo.environment["EXCHANGE_SYMBOLS"] ?? "deploy/symbols.json"
        let catalog = path == "none" ? nil : try SymbolCatalog.load(path: path)
        try await StandardService.run(
            configuration, inputs: [Topics.matchingCommands], processor: MatchingProcessor<FastBook>.self,
            stateScope: .perPartition,
            planner: MatchingSideEffects<FastBook>(
                producer: configuration.instance, depthLevels: depthLevels, depthIntervalMs: depthIntervalMs),
            prepare: { $0.catalog = catalog })
    }
}
