/// Why a decimal string was refused; the order-router maps each to Binance's error.
public enum Fixed8ParseError: Error, Hashable, Sendable {
    /// Not `^([0-9]{1,20})(\.[0-9]{1,20})?$` (Binance -1100 "Illegal characters found in parameter").
    case illegalCharacters
    /// Non-zero digits past the 8th decimal (Binance -1111 "Parameter '%s' has too much precision.").
    case tooMuchPrecision
    /// Larger than 92233720368.54775807 (Binance -1100's range refusal).
    case overflow
}

extension Fixed8 {
    /// The pattern Binance documents for DECIMAL parameters.
    public static let binancePattern = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"

    /// Parses a Binance DECIMAL parameter: 1-20 digits, optionally `.` and 1-20 digits, no sign,
    /// no exponent. Trailing zeros past 8 decimals are accepted ("0.1000000000" is 0.1); any other
    /// digit past the 8th is refused rather than rounded.
    public static func parse(_ text: some StringProtocol) -> Result<Fixed8, Fixed8ParseError> {
        parse(utf8: Array(text.utf8), allowSign: false)
    }

    /// Like `parse`, but also takes a leading `-` (internal amounts: adjustments, deltas).
    public static func parseSigned(_ text: some StringProtocol) -> Result<Fixed8, Fixed8ParseError> {
        parse(utf8: Array(text.utf8), allowSign: true)
    }

    /// `Fixed8("0.001")`: nil unless `parse` accepts the string.
    public init?(_ text: some StringProtocol) {
        guard case .success(let value) = Fixed8.parse(text) else { return nil }
        self = value
    }

    private static func parse(utf8 bytes: [UInt8], allowSign: Bool) -> Result<Fixed8, Fixed8ParseError> {
        var index = 0
        var negative = false
        if allowSign, bytes.first == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        let zero = UInt8(ascii: "0")
        let nine = UInt8(ascii: "9")
        var whole: UInt64 = 0
        var wholeDigits = 0
        var overflow = false
        while index < bytes.count, bytes[index] >= zero, bytes[index] <= nine {
            let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(UInt64(bytes[index] - zero))
            overflow = overflow || o1 || o2
            whole = next
            wholeDigits += 1
            index += 1
        }
        guard (1...20).contains(wholeDigits) else { return .failure(.illegalCharacters) }
        var fraction: UInt64 = 0
        var fractionDigits = 0
        var excessNonZero = false
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: ".") else { return .failure(.illegalCharacters) }
            index += 1
            while index < bytes.count, bytes[index] >= zero, bytes[index] <= nine {
                let digit = UInt64(bytes[index] - zero)
                if fractionDigits < 8 {
                    fraction = fraction * 10 + digit
                } else if digit != 0 {
                    excessNonZero = true
                }
                fractionDigits += 1
                index += 1
            }
            guard (1...20).contains(fractionDigits), index == bytes.count else { return .failure(.illegalCharacters) }
        }
        if excessNonZero { return .failure(.tooMuchPrecision) }
        for _ in 0..<Swift.max(0, 8 - fractionDigits) { fraction *= 10 }
        if overflow { return .failure(.overflow) }
        let limit = UInt64(Int64.max)
        let (scaled, o1) = whole.multipliedReportingOverflow(by: UInt64(Fixed8.scale))
        let (total, o2) = scaled.addingReportingOverflow(fraction)
        guard !o1, !o2, total <= limit else { return .failure(.overflow) }
        let raw = Int64(total)
        return .success(Fixed8(raw: negative ? -raw : raw))
    }
}

extension Fixed8: Codable {
    /// Encoded as Binance's string form, so JSON carries "0.00100000", never a float.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        switch Fixed8.parseSigned(text) {
        case .success(let value): self = value
        case .failure(let error):
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "bad decimal \(text): \(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
