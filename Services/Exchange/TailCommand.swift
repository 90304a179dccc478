import ArgumentParser
import ExchangeProtocol
import Foundation
import Messaging
import ServiceKit

/// `exchange tail TOPIC`: decodes a topic's records to JSON lines, one per record.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Print a topic's records as JSON lines (decoded with the exchange.v1 schema).")

    @Argument(help: "Topic name, e.g. orders.requests.")
    var topic: String

    @Option(help: "Event log: redis://HOST:PORT or kafka://HOST:PORT.")
    var eventLog: String = ProcessInfo.processInfo.environment["EXCHANGE_EVENT_LOG"] ?? "redis://127.0.0.1:\(DefaultPorts.eventLogRedis)"

    @Option(help: "Start this many records before the end of each partition (default: from the beginning).")
    var last: Int64?

    @Flag(help: "Keep waiting for new records.")
    var follow = false

    @Option(help: "Stop after this many records.")
    var limit: Int?

    func run() async throws {
        guard let endpoint = EventLogEndpoint(eventLog) else { throw ValidationError("bad --event-log \(eventLog)") }
        LoggingSetup.bootstrap(format: .text, level: .warning)
        let log = try await EventLogFactory.connect(endpoint, logger: .init(label: "exchange.tail"))
        let count = try await log.partitionCount(of: topic)
        let partitions = (0..<count).map { TopicPartition(topic, $0) }
        let ends = try await log.endOffsets(partitions)
        var starts: [TopicPartition: Int64] = [:]
        for tp in partitions { starts[tp] = last.map { max(0, ends[tp, default: 0] - $0) } ?? 0 }
        let consumer = try await log.makeConsumer(ConsumerConfiguration(
            groupID: "exchange-tail-\(UUID().uuidString)", topics: [topic], partitions: .explicit(partitions),
            onAssign: { [starts] _ in starts }))
        var printed = 0
        var remaining = partitions.reduce(Int64(0)) { $0 + ends[$1, default: 0] - starts[$1, default: 0] }
        while follow || remaining > 0 {
            if let limit, printed >= limit { break }
            for record in try await consumer.poll(maxRecords: 500, timeout: .milliseconds(500)) {
                print(Self.line(record))
                printed += 1
                remaining -= 1
                if let limit, printed >= limit { break }
            }
        }
        await consumer.close()
        await log.shutdown()
    }

    /// `{"topic":..,"partition":..,"offset":..,"timestamp":..,"key":..,"envelope":{...}}`, or an
    /// `"error"` with the raw bytes in base64 when the record does not decode.
    static func line(_ record: ConsumedRecord) -> String {
        let key = String(decoding: record.key, as: UTF8.self)
        let head = "{\"topic\":\(quote(record.topicPartition.topic)),\"partition\":\(record.topicPartition.partition),\"offset\":\(record.offset),\"timestamp\":\(record.timestampMs),\"key\":\(quote(key)),"
        do {
            let envelope = try EnvelopeCodec.decode(record.value)
            let json = EnvelopeCodec.json(envelope)
            return head + "\"envelope\":\(json)}"
        } catch {
            return head + "\"error\":\(quote(error.reason)),\"raw\":\(quote(Data(record.value).base64EncodedString()))}"
        }
    }

    static func quote(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
