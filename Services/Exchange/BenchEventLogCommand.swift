import ArgumentParser
import Foundation

/// Placeholder replaced below.
struct BenchEventLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eventlog", abstract: "Event-log benchmark.")
}
