import ExchangeProtocol

/// Writes JSON text in exactly the member order the caller gives, so responses match Binance's
/// byte for byte (Foundation's encoders do not promise an order).
public struct JSONWriter: Sendable {
    public private(set) var text: String = ""
    private var needsComma: [Bool] = [false]

    public init() { text.reserveCapacity(256) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { text.append(",") }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func objectStart() { separator(); text.append("{"); needsComma.append(false) }
    public mutating func objectEnd() { text.append("}"); needsComma.removeLast() }
    public mutating func arrayStart() { separator(); text.append("["); needsComma.append(false) }
    public mutating func arrayEnd() { text.append("]"); needsComma.removeLast() }

    /// A member name; the value written next belongs to it.
    public mutating func key(_ name: String) {
        separator()
        appendQuoted(name)
        text.append(":")
        // The value that follows needs no comma; the member after it does (its value sets it).
        needsComma[needsComma.count - 1] = false
    }

    private mutating func valueSeparator() { separator() }

    public mutating func string(_ value: String) { valueSeparator(); appendQuoted(value) }
    public mutating func int(_ value: some BinaryInteger) { valueSeparator(); text.append(String(value)) }
    public mutating func bool(_ value: Bool) { valueSeparator(); text.append(value ? "true" : "false") }
    public mutating func null() { valueSeparator(); text.append("null") }
    /// A decimal as Binance prints it: a string with 8 decimals.
    public mutating func decimal(_ value: Fixed8) { string(value.description) }
    /// Already serialised JSON.
    public mutating func raw(_ json: String) { valueSeparator(); text.append(json) }

    public mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    public mutating func field(_ name: String, _ value: Int64) { key(name); int(value) }
    public mutating func field(_ name: String, _ value: Int) { key(name); int(value) }
    public mutating func field(_ name: String, _ value: UInt64) { key(name); int(value) }
    public mutating func field(_ name: String, _ value: Bool) { key(name); bool(value) }
    public mutating func field(_ name: String, decimal value: Fixed8) { key(name); decimal(value) }

    private mutating func appendQuoted(_ value: String) {
        text.append("\"")
        // Nearly every string (symbols, ids, decimals) needs no escape: appended whole.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            text.append(value)
            text.append("\"")
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text.append("\\\"")
            case "\\": text.append("\\\\")
            case "\n": text.append("\\n")
            case "\r": text.append("\\r")
            case "\t": text.append("\\t")
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text.append("\"")
    }
}
