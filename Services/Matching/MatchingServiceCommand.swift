import ArgumentParser
import ExchangeProtocol
import MatchingEngine
import ServiceKit

/// `matching`: one order book per internal symbol (`FastBook`), consuming funded orders, cancels
/// and amends from `matching.commands` and emitting order updates, trades and book deltas to
/// `matching.events`, with snapshots and replay through the consumer loop.
@main
struct MatchingServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching", abstract: "Matching engine: consumes matching.commands, emits matching.events.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "matching", defaultAdminPort: DefaultPorts.matchingAdmin)
        try await StandardService.run(
            configuration, inputs: [Topics.matchingCommands], processor: MatchingProcessor<FastBook>.self)
    }
}
