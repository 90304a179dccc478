import ExchangeProtocol
import MarketDataCore
import Messaging

/// Turns engine records into envelopes on their `md.*` topics (key = symbol, partition by
/// murmur2 as every producer in the exchange computes it) and appends them in one batch.
public struct MarketDataPublisher: Sendable {
    public let producerName: String
    let partitions: [String: Int32]

    /// `partitions`: the partition count of each md topic on the log.
    public init(producerName: String, partitions: [String: Int32]) {
        self.producerName = producerName
        self.partitions = partitions
    }

    /// Reads the partition counts of the md topics from the log.
    public static func make(producerName: String, eventLog: any EventLog) async throws -> MarketDataPublisher {
        var counts: [String: Int32] = [:]
        for topic in [Topics.mdDepth, Topics.mdTrades, Topics.mdTickers] {
            counts[topic.name] = try await eventLog.partitionCount(of: topic.name)
        }
        return MarketDataPublisher(producerName: producerName, partitions: counts)
    }

    /// The envelope of a record.
    public func envelope(_ record: MarketDataRecord, nowMs: Int64) -> Exchange_V1_Envelope {
        Exchange_V1_Envelope(payload: record.payload, createdAtMs: nowMs, emittedAtMs: nowMs, producer: producerName)
    }

    /// Encodes records into log records (appending to `out`, which keeps its capacity).
    public func encode(_ records: [MarketDataRecord], nowMs: Int64, into out: inout [OutgoingRecord]) {
        // A batch names few symbols: their key bytes and partitions are computed once per batch
        // (and the key arrays shared by the records).
        var keys: [String: (key: [UInt8], partitions: [String: Int32])] = [:]
        for record in records {
            let value: [UInt8]
            switch record.body {
            case .depthDiff(let diff): value = diff.envelopeBytes(createdAtMs: nowMs, emittedAtMs: nowMs, producer: producerName)
            case .message: value = EnvelopeCodec.encode(envelope(record, nowMs: nowMs))
            }
            var entry = keys[record.symbol] ?? (Array(record.symbol.utf8), [:])
            let partition: Int32
            if let known = entry.partitions[record.topic] {
                partition = known
            } else {
                partition = Murmur2.partition(for: entry.key, partitionCount: partitions[record.topic] ?? 8)
                entry.partitions[record.topic] = partition
                keys[record.symbol] = entry
            }
            out.append(OutgoingRecord(topic: record.topic, key: entry.key, value: value, partition: partition))
        }
    }
}
