import ArgumentParser
import ExchangeProtocol
import Foundation
import SwiftProtobuf

/// `exchange bench codec`: envelope encode and decode rate per payload type, through
/// `EnvelopeCodec` (the direct codec) and, for comparison, through SwiftProtobuf's own paths.
struct BenchCodecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec", abstract: "Encode+decode messages/s for every exchange.v1 payload type.")

    @Option(help: "Messages per payload type per measurement.")
    var iterations: Int = 200_000

    func run() async throws {
        var results: [[String: Any]] = []
        for (kind, payload) in EnvelopeSamples.payloads {
            let envelope = EnvelopeSamples.envelope(payload)
            let bytes = EnvelopeCodec.encode(envelope)
            // Warm up, then time encode and decode separately.
            for _ in 0..<1_000 { _ = EnvelopeCodec.encode(envelope) }
            let clock = ContinuousClock()
            var sink = 0
            let encodeTime = clock.measure {
                for _ in 0..<iterations { sink &+= EnvelopeCodec.encode(envelope).count }
            }
            let decodeTime = try clock.measure {
                for _ in 0..<iterations { sink &+= try EnvelopeCodec.decode(bytes).requestID.utf8.count }
            }
            let referenceEncode = try clock.measure {
                for _ in 0..<iterations { sink &+= (try envelope.serializedBytes() as [UInt8]).count }
            }
            let referenceDecode = try clock.measure {
                for _ in 0..<iterations { sink &+= try Exchange_V1_Envelope(serializedBytes: bytes).requestID.utf8.count }
            }
            precondition(sink != 0)
            let encodeRate = Double(iterations) / encodeTime.seconds
            let decodeRate = Double(iterations) / decodeTime.seconds
            results.append([
                "payload": kind, "bytes": bytes.count,
                "encode_msgs_per_s": Int(encodeRate), "decode_msgs_per_s": Int(decodeRate),
                "roundtrip_msgs_per_s": Int(1 / (1 / encodeRate + 1 / decodeRate)),
                "swiftprotobuf_encode_msgs_per_s": Int(Double(iterations) / referenceEncode.seconds),
                "swiftprotobuf_decode_msgs_per_s": Int(Double(iterations) / referenceDecode.seconds),
            ])
        }
        try printJSON(["benchmark": "codec", "iterations_per_type": iterations, "results": results])
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Prints a JSON document (sorted keys) on standard output.
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    writeLine(String(decoding: data, as: UTF8.self))
}

/// Writes a line to standard output unbuffered (scripts read the mock's address while it runs).
func writeLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
