import ExchangeProtocol

/// The parameters of a request: the query string's and the form body's, percent-decoded. A name
/// sent in both takes the query string's value (Binance's rule); a name sent twice in one of them
/// is -1101. Handlers read names through `string`/`decimal`/...; `checkAllRead` then refuses names
/// no handler read (-1104), as Binance does.
public struct RequestParameters: Sendable {
    private var values: [String: String] = [:]
    private(set) var read: Set<String> = []
    /// The payload a signature covers: raw query (without `signature`) followed by raw body (without `signature`).
    public private(set) var signaturePayload: [UInt8] = []
    public private(set) var signature: String?

    public init() {}

    /// Parses `rawQuery` and, when present, a form-encoded `rawBody`.
    public static func parse(rawQuery: String, rawBody: [UInt8]) -> Result<RequestParameters, APIError> {
        var parameters = RequestParameters()
        var fromQuery: [String: String] = [:]
        var fromBody: [String: String] = [:]
        var payload: [UInt8] = []
        for (source, isQuery) in [(Array(rawQuery.utf8), true), (rawBody, false)] {
            var kept: [[UInt8]] = []
            for pair in source.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
                let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = percentDecode(parts[0]), !name.isEmpty else { return .failure(.illegalChars("parameter name")) }
                guard let value = percentDecode(parts.count > 1 ? parts[1] : []) else { return .failure(.illegalChars(name)) }
                if name == "signature" {
                    if parameters.signature != nil && isQuery { return .failure(.duplicateParameter) }
                    if isQuery || parameters.signature == nil { parameters.signature = value }
                    continue
                }
                kept.append(Array(pair))
                if isQuery {
                    if fromQuery.updateValue(value, forKey: name) != nil { return .failure(.duplicateParameter) }
                } else {
                    if fromBody.updateValue(value, forKey: name) != nil { return .failure(.duplicateParameter) }
                }
            }
            // The signed payload keeps the bytes as sent; `signature` is dropped wherever it is.
            let joined = kept.joined(separator: [UInt8(ascii: "&")])
            payload += joined
        }
        parameters.signaturePayload = payload
        parameters.values = fromBody.merging(fromQuery) { _, query in query }
        return .success(parameters)
    }

    /// Every sent name (except `signature`).
    public var names: [String] { Array(values.keys) }
    public var count: Int { values.count }

    /// The value, marking the name read; nil when absent. An empty value is -1105 when `required`... callers decide.
    public mutating func raw(_ name: String) -> String? {
        read.insert(name)
        return values[name]
    }

    /// Marks a name as accepted by the endpoint without reading it (recvWindow, timestamp after the check).
    public mutating func accept(_ names: String...) { for name in names { read.insert(name) } }

    /// A present, non-empty string, or -1102.
    public mutating func required(_ name: String) -> Result<String, APIError> {
        guard let value = raw(name), !value.isEmpty else { return .failure(.mandatory(name)) }
        return .success(value)
    }

    /// nil when absent or empty.
    public mutating func optional(_ name: String) -> String? {
        guard let value = raw(name), !value.isEmpty else { return nil }
        return value
    }

    /// A DECIMAL parameter, nil when absent; -1100/-1111 as Binance when malformed.
    public mutating func decimal(_ name: String) -> Result<Fixed8?, APIError> {
        guard let text = optional(name) else { return .success(nil) }
        switch Fixed8.parse(text) {
        case .success(let value): return .success(value)
        case .failure(.tooMuchPrecision): return .failure(.tooMuchPrecision(name))
        case .failure: return .failure(.illegalChars(name, pattern: Fixed8.binancePattern))
        }
    }

    /// A LONG parameter, nil when absent; -1100 when not an integer.
    public mutating func long(_ name: String) -> Result<Int64?, APIError> {
        guard let text = optional(name) else { return .success(nil) }
        guard let value = Int64(text) else { return .failure(.illegalChars(name, pattern: "^-?[0-9]{1,20}$")) }
        return .success(value)
    }

    /// An ENUM parameter, nil when absent; `invalid` when not one of its values.
    public mutating func enumeration<E: RawRepresentable>(_ name: String, _ type: E.Type, invalid: APIError) -> Result<E?, APIError>
    where E.RawValue == String {
        guard let text = optional(name) else { return .success(nil) }
        guard let value = E(rawValue: text) else { return .failure(invalid) }
        return .success(value)
    }

    /// `true`/`false` (Binance's BOOLEAN), nil when absent.
    public mutating func boolean(_ name: String) -> Result<Bool?, APIError> {
        guard let text = optional(name) else { return .success(nil) }
        switch text.lowercased() {
        case "true": return .success(true)
        case "false": return .success(false)
        default: return .failure(.illegalChars(name, pattern: "^(true|false)$"))
        }
    }

    /// -1104 when the endpoint did not read every sent name.
    public func checkAllRead() -> APIError? {
        let unread = values.keys.filter { !read.contains($0) }
        guard !unread.isEmpty else { return nil }
        return .unreadParameters(read: values.count - unread.count, sent: values.count)
    }

    /// `%XX` and `+` (space) decoding; nil on a malformed escape or invalid UTF-8.
    static func percentDecode(_ bytes: some Collection<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                out.append(high << 4 | low)
            case UInt8(ascii: "+"): out.append(UInt8(ascii: " "))
            default: out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
