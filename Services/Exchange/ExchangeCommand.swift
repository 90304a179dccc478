import ArgumentParser

/// The operator CLI.
@main
struct ExchangeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange",
        abstract: "Operator CLI of the Binance-compatible exchange.",
        subcommands: [UpCommand.self, AdminCommand.self, TailCommand.self, TopicsCommand.self, KafkaMockCommand.self, ReplayCommand.self, BenchCommand.self])
}

/// `exchange bench ...`: benchmarks that print JSON.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks; each prints one JSON document.",
        subcommands: [BenchCodecCommand.self, BenchRouterCommand.self, BenchAPICommand.self, BenchEventLogCommand.self, BenchMatchingCommand.self, BenchMatchingServiceCommand.self, BenchLedgerCommand.self, BenchLedgerServiceCommand.self, BenchIngestCommand.self, BenchWSCommand.self])
}
