import ExchangeProtocol
import ExchangeSecurity
import Synchronization

/// What an endpoint requires, as Binance labels it.
public enum SecurityType: Sendable {
    case none
    /// API key only (listenKey management).
    case userStream
    /// API key and signature.
    case userData
    /// API key and signature, and the key's TRADE permission.
    case trade

    var isSigned: Bool { self == .userData || self == .trade }
}

/// The authenticated caller.
public struct Caller: Sendable {
    public var userID: UInt64
    public var apiKey: String
    public var key: Exchange_V1_ApiKeyAdmin
    public var timestamp: TimestampRule?
}

/// Checks X-MBX-APIKEY, the signature, the timestamp, the key's permission and IP allowlist.
/// Opened keys (a sealed HMAC secret decrypted, a PEM parsed) are cached by the exact record
/// bytes, so a changed or deleted key takes effect on the next request.
public final class Authenticator: Sendable {
    let store: ProjectionStore
    let masterKey: MasterKey?
    private let cache = Mutex<[String: (record: Exchange_V1_ApiKeyAdmin, scheme: SignatureScheme)]>([:])

    public init(store: ProjectionStore, masterKey: MasterKey?) {
        self.store = store
        self.masterKey = masterKey
    }

    /// The caller, or Binance's error. `parameters` must already hold the request's parameters.
    /// `prefetched` is the `apikey:` record when the caller already read it (`.some(nil)`: absent).
    public func authenticate(
        _ request: APIRequest, parameters: inout RequestParameters, security: SecurityType, nowMicros: Int64,
        prefetched: Exchange_V1_ApiKeyAdmin?? = nil
    ) async throws -> Result<Caller, APIError> {
        guard let apiKey = request.headers["x-mbx-apikey"], Self.isWellFormed(apiKey) else { return .failure(.badAPIKeyFormat) }
        var timestamp: TimestampRule?
        if security.isSigned {
            // Binance checks parameters before the key: a missing timestamp or signature is -1102.
            switch TimestampRule.parse(timestamp: parameters.raw("timestamp"), recvWindow: parameters.raw("recvWindow")) {
            case .success(let rule): timestamp = rule
            case .failure(let error): return .failure(error)
            }
            guard let signature = parameters.signature, !signature.isEmpty else { return .failure(.mandatory("signature")) }
            guard let record = try await record(apiKey, prefetched) else { return .failure(.rejectedAPIKey) }
            guard let scheme = try scheme(for: record, apiKey: apiKey) else { return .failure(.rejectedAPIKey) }
            // A base64 `+` sent unencoded arrives as a space after form decoding.
            let given = scheme.isHMAC ? signature : signature.replacingSpaces()
            guard SignatureVerifier.verify(signature: given, payload: parameters.signaturePayload, scheme: scheme) else {
                return .failure(.invalidSignature)
            }
            if let error = timestamp!.check(nowMicros: nowMicros) { return .failure(error) }
            return authorize(record, apiKey: apiKey, request: request, security: security, timestamp: timestamp)
        }
        guard let record = try await record(apiKey, prefetched) else { return .failure(.rejectedAPIKey) }
        return authorize(record, apiKey: apiKey, request: request, security: security, timestamp: nil)
    }

    private func record(_ apiKey: String, _ prefetched: Exchange_V1_ApiKeyAdmin??) async throws -> Exchange_V1_ApiKeyAdmin? {
        if let prefetched { return prefetched }
        return try await store.apiKey(apiKey)
    }

    private func authorize(
        _ record: Exchange_V1_ApiKeyAdmin, apiKey: String, request: APIRequest, security: SecurityType, timestamp: TimestampRule?
    ) -> Result<Caller, APIError> {
        if security == .trade && !record.permitTrade { return .failure(.rejectedAPIKey) }
        if !record.ipAllowlist.isEmpty && !record.ipAllowlist.contains(request.clientIP) { return .failure(.rejectedAPIKey) }
        return .success(Caller(userID: record.userID, apiKey: apiKey, key: record, timestamp: timestamp))
    }

    /// Binance's keys are 64 letters and digits; any 1-128 letters and digits are taken here.
    static func isWellFormed(_ key: String) -> Bool {
        let utf8 = key.utf8
        return (1...128).contains(utf8.count) && utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }

    private func scheme(for record: Exchange_V1_ApiKeyAdmin, apiKey: String) throws -> SignatureScheme? {
        if let cached = cache.withLock({ $0[apiKey] }), cached.record == record { return cached.scheme }
        let scheme: SignatureScheme
        switch record.keyType {
        case .hmac:
            guard let masterKey else { throw RouterFault("an HMAC key is used but no master key is configured (EXCHANGE_MASTER_KEY)") }
            guard let secret = try? SecretBox.open(Array(record.encryptedSecret), apiKey: apiKey, with: masterKey) else { return nil }
            scheme = .hmacSHA256(secret: secret)
        case .ed25519:
            guard let parsed = try? SignatureScheme.ed25519(pem: record.publicKeyPem) else { return nil }
            scheme = parsed
        case .rsa:
            guard let parsed = try? SignatureScheme.rsa(pem: record.publicKeyPem) else { return nil }
            scheme = parsed
        default: return nil
        }
        cache.withLock { $0[apiKey] = (record, scheme) }
        return scheme
    }
}

extension SignatureScheme {
    var isHMAC: Bool { if case .hmacSHA256 = self { return true } else { return false } }
}

extension String {
    func replacingSpaces() -> String { String(map { $0 == " " ? "+" : $0 }) }
}
