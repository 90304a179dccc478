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
    /// The envelope as the processor built it: all of it or, when `payloadField` holds the
    /// payload's bytes, its own fields (1-7) with no payload. The loop stamps it and the planners
    /// read its fields here; `envelope` is the whole envelope either way.
    public var storedEnvelope: Exchange_V1_Envelope
    /// The payload written directly as its envelope field (tag, length, message bytes), by a
    /// processor that encodes its hot outputs from its own values instead of building the
    /// protobuf message (matching's order updates, trades and book deltas). nil: the payload is
    /// in `storedEnvelope`.
    public var payloadField: [UInt8]?
    /// The envelope's protobuf bytes once the loop has stamped and encoded it (given to side-effect
    /// planners, so they need not encode it again).
    public var encoded: [UInt8]?
    /// The index of an earlier output of the same input whose envelope has the same payload (a
    /// copy of it for another topic): the loop then encodes only this envelope's own fields and
    /// reuses that output's payload bytes. Set it only when the payloads are equal.
    public var payloadOf: Int?
    /// Which payload the envelope carries, as far as the side-effect planners ask (reading
    /// `envelope.payload` copies the whole payload out of the envelope's storage, every time).
    public var kind: OutputKind

    /// `kind` is computed from the envelope unless given (it must then match the payload).
    public init(
        topic: String, key: String, envelope: Exchange_V1_Envelope, encoded: [UInt8]? = nil, payloadOf: Int? = nil,
        kind: OutputKind? = nil
    ) {
        self.topic = topic
        self.key = key
        self.kind = kind ?? OutputKind(envelope.payload)
        self.storedEnvelope = envelope
        self.encoded = encoded
        self.payloadOf = payloadOf
    }

    /// An output whose payload is already encoded: `header` holds the envelope's own fields (its
    /// payload, if any, is ignored), `payloadField` the payload as its envelope field, `kind` its kind.
    public init(topic: String, key: String, header: Exchange_V1_Envelope, payloadField: [UInt8], kind: OutputKind) {
        self.topic = topic
        self.key = key
        self.kind = kind
        var header = header
        if header.payload != nil { header.payload = nil }
        self.storedEnvelope = header
        self.payloadField = payloadField
    }

    /// The whole envelope (the payload decoded from `payloadField` when the processor wrote it
    /// directly). Setting it replaces `storedEnvelope` and drops `payloadField`.
    public var envelope: Exchange_V1_Envelope {
        get {
            guard let payloadField else { return storedEnvelope }
            var whole = storedEnvelope
            // The field alone is a valid envelope encoding holding just the payload.
            whole.payload = (try? Exchange_V1_Envelope(fastSerializedBytes: payloadField))?.payload
            return whole
        }
        set {
            storedEnvelope = newValue
            payloadField = nil
        }
    }
}

/// The payloads side-effect planners tell apart without reading them (`ProcessorOutput.kind`).
public enum OutputKind: UInt8, Sendable, Equatable {
    case orderUpdate, trade, orderRejected, bookDelta, other

    public init(_ payload: Exchange_V1_Envelope.OneOf_Payload?) {
        switch payload {
        case .orderUpdate?: self = .orderUpdate
        case .trade?: self = .trade
        case .orderRejected?: self = .orderRejected
        case .bookDelta?: self = .bookDelta
        default: self = .other
        }
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
        /// Per output: where its payload field starts in `encoded` (once encoded whole).
        var payloadStarts = [Int](repeating: -1, count: stamped.count)
        for index in stamped.indices {
            stamped[index].stamp(from: record, index: index, producer: producer)
            guard !stamped[index].isEffectOnly else { continue }
            if let source = stamped[index].payloadOf, source < index, payloadStarts[source] >= 0, let sourceBytes = stamped[source].encoded {
                stamped[index].encoded = stamped[index].storedEnvelope.fastSerializedBytes(payloadBytes: sourceBytes[payloadStarts[source]...])
            } else if let field = stamped[index].payloadField {
                let bytes = stamped[index].storedEnvelope.fastSerializedBytes(payloadBytes: field[...])
                stamped[index].encoded = bytes
                payloadStarts[index] = bytes.count - field.count
            } else {
                let (bytes, payloadStart) = stamped[index].storedEnvelope.fastSerializedBytesMarkingPayload()
                stamped[index].encoded = bytes
                payloadStarts[index] = payloadStart
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
        storedEnvelope.schemaVersion = exchangeSchemaVersion
        storedEnvelope.eventID = Exchange_V1_EventID(
            sourceTopic: record.topicPartition.topic, sourcePartition: record.topicPartition.partition,
            sourceOffset: record.offset, index: UInt32(index))
        if storedEnvelope.producer.isEmpty { storedEnvelope.producer = producer }
    }
}
