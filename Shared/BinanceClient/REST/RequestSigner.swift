import Crypto
import Foundation

/// How signed (TRADE/USER_DATA) requests are signed, as Binance documents it: the signature is
/// computed over the exact query string (and body) sent, and appended as `signature=`.
public enum RequestSigner: Sendable {
    /// HMAC-SHA256 with the API secret; the signature is lower-case hex.
    case hmacSHA256(secret: String)
    /// Ed25519 with the private key (32 raw bytes); the signature is base64 (percent-encoded in the query).
    case ed25519(privateKey: Curve25519.Signing.PrivateKey)

    /// An Ed25519 signer from the 32-byte raw private key.
    public static func ed25519(rawPrivateKey: [UInt8]) throws -> RequestSigner {
        .ed25519(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey))
    }

    /// The `signature` parameter's value (not yet percent-encoded) for `payload`.
    public func signature(of payload: String) throws -> String {
        switch self {
        case .hmacSHA256(let secret):
            let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            return mac.map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
        case .ed25519(let key):
            return try key.signature(for: Data(payload.utf8)).base64EncodedString()
        }
    }
}

/// Query-string building with Binance's percent-encoding (RFC 3986 unreserved characters kept).
public enum QueryString {
    public static func encode(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (byte < 16 ? "0" : "") + hex
            }
        }
        return out
    }
}
