import Crypto
import Foundation
import _CryptoExtras

/// How a key signs requests, as Binance offers them.
public enum SignatureScheme: Sendable, Equatable {
    /// HMAC-SHA256 with the shared secret; the signature is hex (either case).
    case hmacSHA256(secret: [UInt8])
    /// Ed25519 over the payload; the signature is base64 (case-sensitive).
    case ed25519(Curve25519.Signing.PublicKey)
    /// RSASSA-PKCS1-v1_5 with SHA-256; the signature is base64 (case-sensitive).
    case rsa(_RSA.Signing.PublicKey)

    public static func == (lhs: SignatureScheme, rhs: SignatureScheme) -> Bool {
        switch (lhs, rhs) {
        case (.hmacSHA256(let a), .hmacSHA256(let b)): return a == b
        case (.ed25519(let a), .ed25519(let b)): return a.rawRepresentation == b.rawRepresentation
        case (.rsa(let a), .rsa(let b)): return a.derRepresentation == b.derRepresentation
        default: return false
        }
    }

    /// An Ed25519 public key from PEM (SubjectPublicKeyInfo, as Binance's key generator writes it).
    public static func ed25519(pem: String) throws -> SignatureScheme {
        .ed25519(try Curve25519.Signing.PublicKey(pemRepresentation: pem))
    }

    /// An RSA public key from PEM (SubjectPublicKeyInfo or PKCS#1).
    public static func rsa(pem: String) throws -> SignatureScheme {
        .rsa(try _RSA.Signing.PublicKey(unsafePEMRepresentation: pem))
    }
}

/// Verifies request signatures exactly as Binance does: the payload is the query string as sent
/// (percent-encoded, without the `signature` parameter) immediately followed by the request body
/// as sent; HMAC signatures are hex and compared case-insensitively, Ed25519 and RSA signatures
/// are base64 and must match exactly (a URL-decoded `+` is part of base64, so it is taken as sent).
public enum SignatureVerifier {
    /// Whether `signature` (already percent-decoded) signs `payload` under `scheme`.
    public static func verify(signature: String, payload: [UInt8], scheme: SignatureScheme) -> Bool {
        switch scheme {
        case .hmacSHA256(let secret):
            guard signature.utf8.count == 64, let given = Hex.decode(signature.lowercased()) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: payload, using: SymmetricKey(data: secret))
        case .ed25519(let key):
            guard let raw = Data(base64Encoded: signature) else { return false }
            return key.isValidSignature(raw, for: payload)
        case .rsa(let key):
            guard let raw = Data(base64Encoded: signature) else { return false }
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raw), for: payload, padding: .insecurePKCS1v1_5)
        }
    }

    /// HMAC-SHA256 of `payload`, lowercase hex (what a client sends; for tests and the benchmark).
    public static func hmacHex(payload: [UInt8], secret: [UInt8]) -> String {
        Hex.encode(Array(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: secret))))
    }
}
