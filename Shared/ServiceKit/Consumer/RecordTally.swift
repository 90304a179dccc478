import ExchangeProtocol
import Foundation

/// The processor a service runs until its domain core lands: it applies nothing but accounts for
/// every input (records per topic and payload kind), so the pipeline, snapshots, replay and
/// de-duplication are exercised end to end. Deterministic; state encodes as sorted JSON.
public struct RecordTally: EventProcessor, Equatable {
    /// Records seen per "topic/payload_kind".
    public private(set) var counts: [String: Int64] = [:]
    /// Highest `createdAtMs` seen (the processor's notion of time comes from inputs).
    public private(set) var lastCreatedAtMs: Int64 = 0

    public init() {}

    public init(state: [UInt8]) throws {
        let decoded = try JSONDecoder().decode(Stored.self, from: Data(state))
        counts = decoded.counts
        lastCreatedAtMs = decoded.lastCreatedAtMs
    }

    public mutating func apply(_ input: ProcessorInput) -> [ProcessorOutput] {
        counts["\(input.record.topicPartition.topic)/\(input.envelope.payloadKind)", default: 0] += 1
        lastCreatedAtMs = max(lastCreatedAtMs, input.envelope.createdAtMs)
        return []
    }

    public func encodeState() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(Stored(counts: counts, lastCreatedAtMs: lastCreatedAtMs))).map { [UInt8]($0) } ?? []
    }

    /// Total records applied.
    public var total: Int64 { counts.values.reduce(0, +) }

    private struct Stored: Codable {
        var counts: [String: Int64]
        var lastCreatedAtMs: Int64
    }
}
