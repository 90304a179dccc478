import ExchangeProtocol
import Logging
import Messaging

/// Something a service does outside the event log once the outputs that justify it are durable:
/// answering a router, refreshing a projection. Best effort and not part of the replayed state;
/// a crash and replay may repeat it, so every effect is idempotent or recognisable.
public enum SideEffect: Sendable, Equatable {
    /// Redis PUBLISH.
    case publish(channel: String, message: [UInt8])
    /// Redis SET.
    case set(key: String, value: [UInt8])
    /// Redis SET with EX (expires after `seconds`).
    case setExpiring(key: String, value: [UInt8], seconds: Int)
    /// Redis DEL.
    case delete(key: String)
    /// Redis HSET of one field.
    case hashSet(key: String, field: String, value: [UInt8])
    /// Redis HDEL of one field.
    case hashDelete(key: String, field: String)
    /// A sorted-set entry replaced: ZREMRANGEBYSCORE score score, ZADD score member, then only the
    /// `keep` highest scores are kept (idempotent: a replay writes the same entry again).
    case sortedSetPut(key: String, score: Int64, member: [UInt8], keep: Int)
}

/// Decides the side effects of a consumer loop's batches. The loop calls `plan` after every poll,
/// once that poll's outputs are durable (also with no outputs, so rate-limited work can flush).
public protocol SideEffectPlanner<Processor>: Sendable {
    associatedtype Processor: EventProcessor
    /// `outputs` carry their stamped event ids; `processors` are the states after the batch (one,
    /// or one per owned partition).
    mutating func plan(durable outputs: [ProcessorOutput], processors: [Processor], nowMs: Int64) -> [SideEffect]
    /// The effects of the last `plan` could not be applied; keep what must be redone.
    mutating func failed(_ effects: [SideEffect])
}

/// Applies side effects.
public protocol SideEffectSink: Sendable {
    func apply(_ effects: [SideEffect]) async throws
}

/// Applies side effects to Redis in one pipeline.
public final class RedisSideEffectSink: SideEffectSink {
    let client: RedisClient

    public init(endpoint: RedisEndpoint, logger: Logger) {
        client = RedisClient(configuration: RedisConfiguration(host: endpoint.host, port: endpoint.port), label: "side-effects", logger: logger)
    }

    public func apply(_ effects: [SideEffect]) async throws {
        guard !effects.isEmpty else { return }
        let commands: [[RedisArgument]] = effects.flatMap { effect -> [[RedisArgument]] in
            switch effect {
            case .publish(let channel, let message): [["PUBLISH", .string(channel), .bytes(message)]]
            case .set(let key, let value): [["SET", .string(key), .bytes(value)]]
            case .setExpiring(let key, let value, let seconds): [["SET", .string(key), .bytes(value), "EX", .string(String(seconds))]]
            case .delete(let key): [["DEL", .string(key)]]
            case .hashSet(let key, let field, let value): [["HSET", .string(key), .string(field), .bytes(value)]]
            case .hashDelete(let key, let field): [["HDEL", .string(key), .string(field)]]
            case .sortedSetPut(let key, let score, let member, let keep):
                [["ZREMRANGEBYSCORE", .string(key), .string(String(score)), .string(String(score))],
                 ["ZADD", .string(key), .string(String(score)), .bytes(member)],
                 ["ZREMRANGEBYRANK", .string(key), "0", .string(String(-(keep + 1)))]]
            }
        }
        for reply in try await client.pipeline(commands) { _ = try reply.throwingOnError() }
    }

    public func close() async { await client.close() }
}

/// The outcome of each request: groups a batch's order updates, trades and rejections by
/// (`reply_to`, `request_id`) and input record, and publishes one `RequestOutcome` per group on
/// the request's reply channel. Outputs without `reply_to` (no router waits) publish nothing.
public struct ReplyPlanner: Sendable {
    let producer: String
    let includes: @Sendable (Exchange_V1_Envelope.OneOf_Payload) -> Bool

    /// `includes` picks the payloads a requester waits for (default: order updates, trades and
    /// order rejections, matching's outcome of an order request).
    public init(producer: String, includes: @escaping @Sendable (Exchange_V1_Envelope.OneOf_Payload) -> Bool = ReplyPlanner.orderOutcome) {
        self.producer = producer
        self.includes = includes
    }

    public static func orderOutcome(_ payload: Exchange_V1_Envelope.OneOf_Payload) -> Bool {
        switch payload {
        case .orderUpdate, .trade, .orderRejected: return true
        default: return false
        }
    }

    public func plan(_ outputs: [ProcessorOutput]) -> [SideEffect] {
        var effects: [SideEffect] = []
        var current: (channel: String, key: RecordKey, requestID: String, events: [ProcessorOutput])?
        func close(_ open: (channel: String, key: RecordKey, requestID: String, events: [ProcessorOutput])) {
            effects.append(.publish(channel: open.channel, message: outcome(requestID: open.requestID, events: open.events)))
        }
        for output in outputs {
            let envelope = output.envelope
            guard !envelope.replyTo.isEmpty, let payload = envelope.payload, includes(payload) else { continue }
            let key = RecordKey(envelope)
            if let open = current, open.channel == envelope.replyTo, open.key == key, open.requestID == envelope.requestID {
                current!.events.append(output)
                continue
            }
            if let open = current { close(open) }
            current = (envelope.replyTo, key, envelope.requestID, [output])
        }
        if let open = current { close(open) }
        return effects
    }

    /// The `RequestOutcome` bytes. Events the loop already encoded are spliced in as they are
    /// (a repeated message field is its tag, length and bytes), which is what the protobuf
    /// encoder would write, without encoding every envelope a second time.
    func outcome(requestID: String, events: [ProcessorOutput]) -> [UInt8] {
        var bytes: [UInt8] = []
        func field(_ number: UInt64, _ payload: [UInt8]) {
            guard !payload.isEmpty else { return }  // proto3 omits empty strings
            varint(number << 3 | 2)
            varint(UInt64(payload.count))
            bytes += payload
        }
        func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                bytes.append(UInt8(v & 0x7f) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        field(1, Array(requestID.utf8))
        field(2, Array(producer.utf8))
        for event in events {
            let encoded = event.encoded ?? EnvelopeCodec.encode(event.envelope)
            varint(3 << 3 | 2)
            varint(UInt64(encoded.count))
            bytes += encoded
        }
        return bytes
    }

    /// The input record an output came from (its event id without the index).
    struct RecordKey: Equatable {
        var topic: String
        var partition: Int32
        var offset: Int64
        init(_ envelope: Exchange_V1_Envelope) {
            topic = envelope.eventID.sourceTopic
            partition = envelope.eventID.sourcePartition
            offset = envelope.eventID.sourceOffset
        }
    }
}
