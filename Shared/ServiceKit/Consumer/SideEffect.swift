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

/// Applies side effects to Redis as `MULTI`/`EXEC` transactions of at most `chunkSize` commands,
/// in one round trip each. The event log's Redis runs with `appendfsync always`; a transaction
/// costs one fsync however many writes it holds, where a plain pipeline of a batch's projection
/// writes paid one per 16 KB the server read (measured: the ledger service was bound by fsyncs).
public final class RedisSideEffectSink: SideEffectSink {
    let client: RedisClient
    /// Commands per transaction: bounds how long one `EXEC` holds the server.
    static let chunkSize = 5_000

    public init(endpoint: RedisEndpoint, logger: Logger) {
        client = RedisClient(configuration: RedisConfiguration(host: endpoint.host, port: endpoint.port), label: "side-effects", logger: logger)
    }

    public func apply(_ planned: [SideEffect]) async throws {
        guard !planned.isEmpty else { return }
        let effects = Self.coalesced(planned)
        var start = 0
        while start < effects.count {
            let end = min(effects.count, start + Self.chunkSize)
            try await client.pipelineCheckingErrors(Self.transaction(effects[start..<end]))
            start = end
        }
    }

    /// What a key or hash field ends up holding is decided by the last write to it, so earlier
    /// writes to the same key (`SET`, `SET EX`, `DEL`) or the same hash field (`HSET`, `HDEL`) in one
    /// call are dropped: a batch's order report NEW then FILLED, or a balance locked then settled,
    /// costs Redis one write each. Publishes and sorted-set puts all stay; the order of what stays
    /// is kept. Transactions of one call run in order, so a reader sees the keys the call has not
    /// reached yet at their values from before it, as before.
    static func coalesced(_ effects: [SideEffect]) -> [SideEffect] {
        enum Slot: Hashable {
            case key(String)
            case field(String, String)
        }
        var seen = Set<Slot>(minimumCapacity: effects.count)
        var keep = [Bool](repeating: true, count: effects.count)
        var dropped = 0
        for index in effects.indices.reversed() {
            let slot: Slot
            switch effects[index] {
            case .set(let key, _), .setExpiring(let key, _, _), .delete(let key): slot = .key(key)
            case .hashSet(let key, let field, _), .hashDelete(let key, let field): slot = .field(key, field)
            case .publish, .sortedSetPut: continue
            }
            if !seen.insert(slot).inserted {
                keep[index] = false
                dropped += 1
            }
        }
        if dropped == 0 { return effects }
        var out: [SideEffect] = []
        out.reserveCapacity(effects.count - dropped)
        for index in effects.indices where keep[index] { out.append(effects[index]) }
        return out
    }

    /// The effects as one `MULTI` ... `EXEC`, in order. Runs of adjacent writes that one command can
    /// do become one: `HSET`s of one hash (a balance change's assets) and `SET`s without expiry
    /// (`MSET`), which leaves every key with the value the last effect gave it.
    static func transaction(_ effects: ArraySlice<SideEffect>) -> RESPWriter {
        var w = RESPWriter(reservingCapacity: effects.count * 96)
        w.command("MULTI")
        var i = effects.startIndex
        while i < effects.endIndex {
            switch effects[i] {
            case .hashSet(let key, _, _):
                var end = i + 1
                while end < effects.endIndex, case .hashSet(key, _, _) = effects[end] { end += 1 }
                w.command(arguments: 2 + 2 * (end - i))
                w.argument("HSET")
                w.argument(key)
                for case .hashSet(_, let field, let value) in effects[i..<end] {
                    w.argument(field)
                    w.argument(value)
                }
                i = end
                continue
            case .set:
                var end = i + 1
                while end < effects.endIndex, case .set = effects[end] { end += 1 }
                if end - i == 1 {
                    w.command(arguments: 3)
                    w.argument("SET")
                } else {
                    w.command(arguments: 1 + 2 * (end - i))
                    w.argument("MSET")
                }
                for case .set(let key, let value) in effects[i..<end] {
                    w.argument(key)
                    w.argument(value)
                }
                i = end
                continue
            case .publish(let channel, let message):
                w.command(arguments: 3)
                w.argument("PUBLISH")
                w.argument(channel)
                w.argument(message)
            case .setExpiring(let key, let value, let seconds):
                w.command(arguments: 5)
                w.argument("SET")
                w.argument(key)
                w.argument(value)
                w.argument("EX")
                w.argument(seconds)
            case .delete(let key):
                w.command(arguments: 2)
                w.argument("DEL")
                w.argument(key)
            case .hashDelete(let key, let field):
                w.command(arguments: 3)
                w.argument("HDEL")
                w.argument(key)
                w.argument(field)
            case .sortedSetPut(let key, let score, let member, let keep):
                w.command(arguments: 4)
                w.argument("ZREMRANGEBYSCORE")
                w.argument(key)
                w.argument(score)
                w.argument(score)
                w.command(arguments: 4)
                w.argument("ZADD")
                w.argument(key)
                w.argument(score)
                w.argument(member)
                w.command(arguments: 4)
                w.argument("ZREMRANGEBYRANK")
                w.argument(key)
                w.argument("0")
                w.argument(-(keep + 1))
            }
            i += 1
        }
        w.command("EXEC")
        return w
    }

    public func close() async { await client.close() }
}

/// The outcome of each request: groups a batch's order updates, trades and rejections by
/// (`reply_to`, `request_id`) and input record, and publishes one `RequestOutcome` per group on
/// the request's reply channel. Outputs without `reply_to` (no router waits) publish nothing.
public struct ReplyPlanner: Sendable {
    let producer: String
    /// nil: the default, matching's order outcomes, told apart by `ProcessorOutput.kind`.
    let includes: (@Sendable (Exchange_V1_Envelope.OneOf_Payload) -> Bool)?

    /// `includes` picks the payloads a requester waits for (default: order updates, trades and
    /// order rejections, matching's outcome of an order request).
    public init(producer: String, includes: (@Sendable (Exchange_V1_Envelope.OneOf_Payload) -> Bool)? = nil) {
        self.producer = producer
        self.includes = includes
    }

    func included(_ output: ProcessorOutput) -> Bool {
        guard let includes else {
            switch output.kind {
            case .orderUpdate, .trade, .orderRejected: return true
            case .bookDelta, .other: return false
            }
        }
        guard let payload = output.envelope.payload else { return false }
        return includes(payload)
    }

    public func plan(_ outputs: [ProcessorOutput]) -> [SideEffect] {
        var effects: [SideEffect] = []
        var current: (channel: String, key: RecordKey, requestID: String, events: [ProcessorOutput])?
        func close(_ open: (channel: String, key: RecordKey, requestID: String, events: [ProcessorOutput])) {
            effects.append(.publish(channel: open.channel, message: outcome(requestID: open.requestID, events: open.events)))
        }
        for output in outputs {
            // The cheap test first: most outputs of a batch (copies for other topics, book deltas)
            // are not replies.
            guard included(output) else { continue }
            let replyTo = output.storedEnvelope.replyTo
            guard !replyTo.isEmpty else { continue }
            let key = RecordKey(output.storedEnvelope)
            let requestID = output.storedEnvelope.requestID
            if let open = current, open.channel == replyTo, open.key == key, open.requestID == requestID {
                current!.events.append(output)
                continue
            }
            if let open = current { close(open) }
            current = (replyTo, key, requestID, [output])
        }
        if let open = current { close(open) }
        return effects
    }

    /// The `RequestOutcome` bytes. Events the loop already encoded are spliced in as they are
    /// (a repeated message field is its tag, length and bytes), which is what the protobuf
    /// encoder would write, without encoding every envelope a second time.
    func outcome(requestID: String, events: [ProcessorOutput]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + requestID.utf8.count + producer.utf8.count + events.reduce(0) { $0 + 4 + ($1.encoded?.count ?? 256) })
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
