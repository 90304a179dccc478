import ArgumentParser
import ExchangeProtocol
import Foundation
import Messaging
import ServiceKit

/// `exchange topics`: lists the catalogue, or creates it on an event log.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "List the topic catalogue; with --create, create it on the event log.")

    @Option(help: "Event log: redis://HOST:PORT or kafka://HOST:PORT.")
    var eventLog: String = ProcessInfo.processInfo.environment["EXCHANGE_EVENT_LOG"] ?? "redis://127.0.0.1:\(DefaultPorts.eventLogRedis)"

    @Flag(help: "Create the topics (existing ones are left as they are) and show their end offsets.")
    var create = false

    func run() async throws {
        if !create {
            for topic in Topics.all {
                print("\(topic.name.padding(toLength: 18, withPad: " ", startingAt: 0)) key=\(topic.key.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) partitions=\(topic.defaultPartitions)  \(topic.summary)")
            }
            return
        }
        guard let endpoint = EventLogEndpoint(eventLog) else { throw ValidationError("bad --event-log \(eventLog)") }
        LoggingSetup.bootstrap(format: .text, level: .warning)
        let log = try await EventLogFactory.connect(endpoint, logger: .init(label: "exchange.topics"))
        try await ServiceRuntime.ensureTopics(log)
        for topic in Topics.all {
            let count = try await log.partitionCount(of: topic.name)
            let ends = try await log.endOffsets((0..<count).map { TopicPartition(topic.name, $0) })
            print("\(topic.name) partitions=\(count) records=\(ends.values.reduce(0, +))")
        }
        await log.shutdown()
    }
}
