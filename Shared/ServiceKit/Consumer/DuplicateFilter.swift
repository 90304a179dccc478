import ExchangeProtocol
import Foundation

/// Drops inputs a crash-and-replay upstream re-emitted. Outputs of one source partition reach one
/// destination partition in source order, so per (destination partition, source partition) the
/// highest (offset, index) seen is a complete memory of what was applied.
public struct DuplicateFilter: Sendable, Equatable, Codable {
    private var watermarks: [String: [Int64]] = [:]

    public init() {}

    /// True when the input is new (and remembers it), false when it was already applied.
    /// Inputs without an event id (requests that start a flow) are always new.
    public mutating func admit(_ envelope: Exchange_V1_Envelope, at destination: TopicPartition) -> Bool {
        guard envelope.hasEventID else { return true }
        let id = envelope.eventID
        let key = "\(destination.topic):\(destination.partition)|\(id.sourceTopic):\(id.sourcePartition)"
        let mark = [id.sourceOffset, Int64(id.index)]
        if let last = watermarks[key], !last.lexicographicallyPrecedes(mark) {
            return false
        }
        watermarks[key] = mark
        return true
    }

    /// Number of (destination, source) pairs tracked.
    public var count: Int { watermarks.count }
}
