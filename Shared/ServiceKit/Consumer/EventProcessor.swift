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
    /// The index of an earlier output of the same input whose envelope has the same payload (a
    /// copy of it for another topic): the loop then encodes only this envelope's own fields and
    /// reuses that output's payload bytes. Set it only when the payloads are equal.
    public var payloadOf: Int?

    public init(topic: String, key: String, envelope: Exchange_V1_Envelope, encoded: [UInt8]? = nil, payloadOf: Int? = nil) {
        self.topic = topic
        self.key = key
        self.envelope = envelope
        self.encoded = encoded
        self.payloadOf = payloadOf
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

    /// Stamps (`stampedEnvelope`) and encodes the outputs of one input, as the consumer loop appends
    /// them: `encoded` set on every output but effect-only ones. An output with `payloadOf` is
    /// encoded as its own fields (an envelope without payload) followed by the earlier output's
    /// payload field, which is what the protobuf encoder writes: the envelope's fields 1-7 come
    /// first and the payload (fields 10 and up) last (tested against the encoder).
    public static func stampAndEncode(_ outputs: consuming [ProcessorOutput], from record: ConsumedRecord, producer: String) -> [ProcessorOutput] {
        // Stamped in place: the outputs are this call's own (consumed), so each envelope's storage
        // is usually referenced once and its setters do not copy it.
        var stamped = consume outputs
        /// Per output: its payload field's bytes, once a later copy needed them.
        var payloads = [ArraySlice<UInt8>?](repeating: nil, count: stamped.count)
        for index in stamped.indices {
            stamped[index].stamp(from: record, index: index, producer: producer)
            guard !stamped[index].isEffectOnly else { continue }
            if let source = stamped[index].payloadOf, source < index, let sourceBytes = stamped[source].encoded {
                if payloads[source] == nil {
                    payloads[source] = sourceBytes[EnvelopeCodec.encodeHeader(stamped[source].envelope).count...]
                }
                stamped[index].encoded = EnvelopeCodec.encodeHeader(stamped[index].envelope) + payloads[source]!
            } else {
                stamped[index].encoded = EnvelopeCodec.encode(stamped[index].envelope)
            }
        }
        return stamped
    }
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
        var out = self
        out.stamp(from: record, index: index, producer: producer)
        return out.envelope
    }

    /// Stamps `envelope` in place (see `stampedEnvelope`).
    public mutating func stamp(from record: ConsumedRecord, index: Int, producer: String) {
        envelope.schemaVersion = exchangeSchemaVersion
        envelope.eventID = Exchange_V1_EventID(
            sourceTopic: record.topicPartition.topic, sourcePartition: record.topicPartition.partition,
            sourceOffset: record.offset, index: UInt32(index))
        if envelope.producer.isEmpty { envelope.producer = producer }
    }
}
