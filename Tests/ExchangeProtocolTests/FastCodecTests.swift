import ExchangeProtocol
import Foundation
import SwiftProtobuf
import Testing
@Suite("direct protobuf codec")
struct FastCodecTests {
    /// Every sample envelope, and a RequestOutcome holding all of them (the one message that is
    /// not a payload).
    static func samples() -> [any FastProtoMessage] {
        let envelopes = EnvelopeSamples.payloads.map { EnvelopeSamples.envelope($0.1) }
        var outcome = Exchange_V1_RequestOutcome()
        outcome.requestID = "req-9"
        outcome.producer = "matching-0"
        outcome.events = envelopes
        return envelopes + [outcome]
    }

    /// The top-level fields of a message's encoding, each as its raw bytes (key and value).
    static func fields(_ bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        func varint() -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
        }
        while i < bytes.count {
            let start = i
            let key = varint()
            switch key & 7 {
            case 0: _ = varint()
            case 2: i += Int(varint())
            default: Issue.record("wire type \(key & 7) in our own encoding")
            }
            out.append(Array(bytes[start..<i]))
        }
        return out
    }

    func checkSame<M: FastProtoMessage>(_ message: M) throws {
        let reference: [UInt8] = try message.serializedBytes()
        #expect(message.fastSerializedBytes() == reference, "\(M.protoMessageName) encodes differently")
        // The direct decoder takes what our encoders write without falling back.
        let direct = try reference.withUnsafeBytes { raw in
            var reader = ProtoReader(raw)
            return try M.fastDecode(&reader, end: raw.count)
        }
        #expect(direct.isEqualTo(message: message), "\(M.protoMessageName) decodes differently")
    }

    @Test("every sample: identical bytes to SwiftProtobuf, and the direct decoder reads them back without falling back")
    func samplesMatch() throws {
        for sample in Self.samples() { try checkSame(sample) }
        // Each payload message alone too, and the default (empty) message.
        for (_, payload) in EnvelopeSamples.payloads {
            let inner = try #require(Mirror(reflecting: payload).children.first?.value as? any FastProtoMessage)
            try checkSame(inner)
        }
        try checkSame(Exchange_V1_Envelope())
        try checkSame(Exchange_V1_OrderUpdate())
    }

    func checkSubsets<M: FastProtoMessage>(_ message: M, rng: inout SplitMix64) throws {
        let fields = Self.fields(try message.serializedBytes())
        for _ in 0..<20 {
            let kept = fields.filter { _ in rng.next() % 2 == 0 }
            let bytes = kept.flatMap { $0 }
            let partial = try M(serializedBytes: bytes)
            try checkSame(partial)
        }
    }

    @Test("random subsets of every message's fields (defaults left out) encode and decode as SwiftProtobuf does")
    func fieldSubsets() throws {
        var rng = SplitMix64(seed: 7)
        for (_, payload) in EnvelopeSamples.payloads {
            let inner = try #require(Mirror(reflecting: payload).children.first?.value as? any FastProtoMessage)
            try checkSubsets(inner, rng: &rng)
        }
        for sample in Self.samples() { try checkSubsets(sample, rng: &rng) }
    }

    func outcome<M: FastProtoMessage>(_ type: M.Type, _ bytes: [UInt8]) -> (direct: Result<M, Error>, reference: Result<M, Error>) {
        (Result { try M(fastSerializedBytes: bytes) }, Result { try M(serializedBytes: bytes) })
    }

    @Test("corrupted, truncated and extended encodings: decoding gives exactly SwiftProtobuf's result (value or failure)")
    func corruptedInput() throws {
        var rng = SplitMix64(seed: 99)
        var fellBack = 0
        for sample in Self.samples() {
            let reference: [UInt8] = try sample.serializedBytes()
            for round in 0..<300 {
                var bytes = reference
                switch round % 4 {
                case 0:  // flip bytes
                    for _ in 0..<(1 + Int(rng.next() % 3)) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
                case 1:  // truncate
                    bytes.removeLast(1 + Int(rng.next() % UInt64(bytes.count)))
                case 2:  // an unknown field (number 90-99, varint) appended
                    let number = 90 + rng.next() % 10
                    let key = number << 3
                    bytes += [UInt8(key & 0x7F) | 0x80, UInt8(key >> 7), 0x05]
                default:  // a field repeated
                    let fields = Self.fields(reference)
                    bytes += fields[Int(rng.next() % UInt64(fields.count))]
                }
                func compare<M: FastProtoMessage>(_ type: M.Type) {
                    let (direct, ref) = outcome(M.self, bytes)
                    switch (direct, ref) {
                    case (.success(let a), .success(let b)):
                        #expect(a.isEqualTo(message: b), "\(M.protoMessageName) round \(round)")
                        #expect(a.fastSerializedBytes() == (try? b.serializedBytes() as [UInt8]), "\(M.protoMessageName) re-encodes differently")
                        if !a.unknownFields.data.isEmpty { fellBack += 1 }
                    case (.failure, .failure):
                        break
                    default:
                        Issue.record("\(M.protoMessageName) round \(round): direct \(direct), SwiftProtobuf \(ref)")
                    }
                }
                func open<M: FastProtoMessage>(_ m: M) { compare(M.self) }
                open(sample)
            }
        }
        // Unknown fields only survive through the fallback; some rounds must have taken it.
        #expect(fellBack > 0)
    }

    @Test("EnvelopeCodec uses the direct path both ways and still refuses what it refused")
    func codecEntryPoints() throws {
        let envelope = EnvelopeSamples.envelope(EnvelopeSamples.payloads[0].1)
        let bytes = EnvelopeCodec.encode(envelope)
        #expect(bytes == (try envelope.serializedBytes() as [UInt8]))
        #expect(try EnvelopeCodec.decode(bytes) == envelope)
        var wrongVersion = envelope
        wrongVersion.schemaVersion = 2
        #expect(throws: DecodeFailure.self) { try EnvelopeCodec.decode(EnvelopeCodec.encode(wrongVersion)) }
        #expect(throws: DecodeFailure.self) { try EnvelopeCodec.decode([0xFF, 0xFF]) }
        let outcome = Exchange_V1_RequestOutcome.with { $0.requestID = "r"; $0.events = [envelope] }
        #expect(try Exchange_V1_RequestOutcome(fastSerializedBytes: EnvelopeCodec.encode(message: outcome)) == outcome)
    }
}
