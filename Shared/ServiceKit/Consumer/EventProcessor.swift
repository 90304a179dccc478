import ExchangeProtocol
import Messaging

/// A decoded input record.
public struct ProcessorInput: Sendable {
    public var record: ConsumedRecord
    public var envelope: Exchange_V1_Envelope

    public init(record: ConsumedRecord, envelope: Exchange_V1_Envelope) {
        self.record = record
        self.envelope = envelope
    }
}

/// A record a processor wants appended. The loop stamps its deterministic event id.
public struct ProcessorOutput: Sendable {
    public var topic: String
    public var key: String
    public var envelope: Exchange_V1_Envelope
    /// The envelope's protobuf bytes once the loop has stamped and encoded it (given to side-effect
    /// planners, so they need not encode it again).
    public var encoded: [UInt8]?

    public init(topic: String, key: String, envelope: Exchange_V1_Envelope, encoded: [UInt8]? = nil) {
        self.topic = topic
        self.key = key
        self.envelope = envelope
        self.encoded = encoded
    }
}

extension ProcessorOutput {
    /// An output that is not appended to any topic: it only reaches the side-effect planner, in
    /// order with the appended ones (e.g. an input the service projects into Redis but does not
    /// re-emit). It takes an index in the event-id numbering like any output.
    public static func effectOnly(key: String, envelope: Exchange_V1_Envelope) -> ProcessorOutput {
        ProcessorOutput(topic: "", key: key, envelope: envelope)
    }

    public var isEffectOnly: Bool { topic.isEmpty }
}

/// A stateful service's core: a deterministic function of its input log. It keeps state in
/// memory, turns each input into outputs, and serializes its state for snapshots. No I/O, no clock:
/// times come from the inputs.
public protocol EventProcessor: Sendable {
    /// A fresh state (no snapshot yet).
    init()
    /// Restores the state `encodeState()` produced.
    init(state: [UInt8]) throws
    /// Applies one input and returns what to append, in order.
    mutating func apply(_ input: ProcessorInput) -> [ProcessorOutput]
    /// The whole state, byte-exact: equal states encode equally.
    func encodeState() -> [UInt8]
}

extension ProcessorOutput {
    /// The envelope as the consumer loop appends it: the schema version, the deterministic event
    /// id of output number `index` caused by `record`, and `producer` unless the processor named one.
    public func stampedEnvelope(from record: ConsumedRecord, index: Int, producer: String) -> Exchange_V1_Envelope {
        var out = envelope
        out.schemaVersion = exchangeSchemaVersion
        out.eventID = Exchange_V1_EventID(
            sourceTopic: record.topicPartition.topic, sourcePartition: record.topicPartition.partition,
            sourceOffset: record.offset, index: UInt32(index))
        if out.producer.isEmpty { out.producer = producer }
        return out
    }
}
