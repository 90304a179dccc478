import Foundation
import ExchangeProtocol
import SwiftProtobuf
import Testing

@Suite("envelope round trips")
struct EnvelopeRoundTripTests {
    @Test(arguments: EnvelopeSamples.payloads.map(\.0))
    func everyMessageRoundTrips(kind: String) throws {
        let payload = EnvelopeSamples.payloads.first { $0.0 == kind }!.1
        let envelope = EnvelopeSamples.envelope(payload)
        #expect(envelope.payloadKind == kind)
        let bytes = EnvelopeCodec.encode(envelope)
        let decoded = try EnvelopeCodec.decode(bytes)
        #expect(decoded == envelope)
        #expect(decoded.payload == payload)
        // JSON (what `exchange tail` prints) round-trips too.
        let json = EnvelopeCodec.json(decoded)
        #expect(try Exchange_V1_Envelope(jsonString: json) == envelope)
    }

    /// Every field of every sample is non-default: protobuf JSON omits default values, so the keys
    /// printed for the payload are exactly the fields its .proto declares.
    @Test(arguments: EnvelopeSamples.payloads.map(\.0))
    func samplesSetEveryField(kind: String) throws {
        let payload = EnvelopeSamples.payloads.first { $0.0 == kind }!.1
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(EnvelopeCodec.json(EnvelopeSamples.envelope(payload)).utf8)) as? [String: Any])
        let envelopeKeys: Set<String> = ["schemaVersion", "eventId", "requestId", "replyTo", "createdAtMs", "emittedAtMs", "producer"]
        #expect(Set(object.keys).isSuperset(of: envelopeKeys))
        let inner = try #require(object.first { !envelopeKeys.contains($0.key) }?.value as? [String: Any])
        let messageName = kind.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        let declared = try ProtoContract.fieldCount(of: messageName)
        #expect(declared > 0)
        #expect(inner.count == declared, "\(kind): \(inner.count) of \(declared) fields set")
    }

    @Test func samplesCoverEveryPayloadCase() {
        #expect(Set(EnvelopeSamples.payloads.map(\.0)).count == 29)
    }

    @Test func refusesGarbageWrongVersionAndEmptyPayload() {
        #expect(throws: DecodeFailure.self) { try EnvelopeCodec.decode([0xff, 0xff, 0xff]) }
        var old = EnvelopeSamples.envelope(EnvelopeSamples.payloads[0].1)
        old.schemaVersion = 2
        #expect(throws: DecodeFailure.self) { try EnvelopeCodec.decode(EnvelopeCodec.encode(old)) }
        var empty = EnvelopeSamples.envelope(EnvelopeSamples.payloads[0].1)
        empty.payload = nil
        #expect(throws: DecodeFailure.self) { try EnvelopeCodec.decode(EnvelopeCodec.encode(empty)) }
    }

    @Test func topicCatalogueKeys() {
        #expect(Topics.ordersRequests.key == .user)
        #expect(Topics.ledgerEvents.key == .user)
        #expect(Topics.matchingCommands.key == .symbol)
        #expect(Topics.matchingEvents.key == .symbol)
        #expect(Topics.routingCommands.key == .symbol)
        #expect(Topics.all.filter { $0.name.hasPrefix("md.") }.allSatisfy { $0.key == .symbol })
        #expect(Set(Topics.all.map(\.name)).count == Topics.all.count)
        #expect(Topics.named("matching.events") == Topics.matchingEvents)
    }
}

/// Reads the .proto contract itself, so the tests follow the schema as it grows.
enum ProtoContract {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Shared/ExchangeProtocol/Protos/exchange/v1")

    /// Number of fields declared in `message <name> { ... }`.
    static func fieldCount(of name: String) throws -> Int {
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".proto") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            guard let start = text.range(of: "message \(name) {") else { continue }
            let body = text[start.upperBound...].prefix { $0 != "}" }
            return body.split(separator: "\n").filter { line in
                let code = (line.components(separatedBy: "//").first ?? "").trimmingCharacters(in: .whitespaces)
                return code.contains(" = ") && code.hasSuffix(";")
            }.count
        }
        return 0
    }
}
