import ArgumentParser
import ExchangeProtocol
import ServiceKit

/// `matching`: one order book per internal symbol. Until the matching core lands (issue 3) it
/// consumes `matching.commands` with the tallying processor, snapshots and exposes health/metrics.
@main
struct MatchingServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching", abstract: "Matching engine: consumes matching.commands, emits matching.events.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "matching", defaultAdminPort: DefaultPorts.matchingAdmin)
        try await StandardService.run(configuration, inputs: [Topics.matchingCommands], processor: RecordTally.self)
    }
}
