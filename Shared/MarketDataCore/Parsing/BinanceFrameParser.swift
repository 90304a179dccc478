/// Parses Binance market-stream frames (raw `{"e":..}` or combined `{"stream":..,"data":{..}}`)
/// straight from bytes into `BinanceFrame`: decimals become Fixed8 raw Int64 without Double or
/// Foundation, unknown keys are skipped, and malformed input returns an error, never traps.
///
/// Known shapes: depthUpdate, trade, aggTrade, bookTicker (no "e" on spot), kline, and the
/// `{"result":..,"id":..}` replies to subscription requests.
public struct BinanceFrameParser: Sendable {
    /// Deepest nesting skipped in unknown values (Binance's frames nest at most 4 deep).
    public static let maxDepth = 16

    public init() {}

    /// Parses `text`'s UTF-8 bytes.
    public func parse(_ text: String, into frame: inout BinanceFrame) -> FrameParseError? {
        var text = text
        return text.withUTF8 { parse($0, into: &frame) }
    }

    /// Parses one frame. On success `frame` holds it (`kind` may be `.unknown` for a valid JSON
    /// object of another shape); on failure the error says why and `frame` is unspecified.
    public func parse(_ bytes: UnsafeBufferPointer<UInt8>, into frame: inout BinanceFrame) -> FrameParseError? {
        frame.reset()
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .unexpectedEnd }
        var cursor = Cursor(position: base, end: base + bytes.count)
        var seen = SeenKeys()
        do throws(FrameParseError) {
            cursor.skipWhitespace()
            try parseObject(&cursor, into: &frame, seen: &seen, depth: 0)
            cursor.skipWhitespace()
            guard cursor.position == cursor.end else { throw FrameParseError.syntax }
        } catch {
            return error
        }
        return classify(&frame, seen: seen)
    }

    // MARK: Classification

    private func classify(_ frame: inout BinanceFrame, seen: SeenKeys) -> FrameParseError? {
        switch seen.eventType {
        case .depthUpdate:
            guard seen.symbol, seen.firstUpdate, seen.finalUpdate else { return .missingField }
            frame.kind = .depthUpdate
        case .trade:
            guard seen.symbol, seen.tradeID, seen.price, seen.quantity else { return .missingField }
            frame.kind = .trade
        case .aggTrade:
            guard seen.symbol, seen.tradeID, seen.price, seen.quantity else { return .missingField }
            frame.kind = .aggTrade
        case .kline:
            guard seen.symbol, seen.kline else { return .missingField }
            frame.kind = .kline
            frame.price = frame.kline.close
        case .other:
            frame.kind = .unknown
        case .none:
            if seen.symbol && seen.finalUpdate && seen.bidString && seen.askString && seen.bidQuantity && seen.askQuantity {
                frame.kind = .bookTicker
            } else if seen.result {
                frame.kind = .control
            } else {
                frame.kind = .unknown
            }
        }
        return nil
    }

    // MARK: Objects

    private func parseObject(
        _ cursor: inout Cursor, into frame: inout BinanceFrame, seen: inout SeenKeys, depth: Int
    ) throws(FrameParseError) {
        try cursor.expect(UInt8(ascii: "{"))
        cursor.skipWhitespace()
        if try cursor.peek() == UInt8(ascii: "}") {
            cursor.position += 1
            return
        }
        while true {
            cursor.skipWhitespace()
            let key = try cursor.string()
            cursor.skipWhitespace()
            try cursor.expect(UInt8(ascii: ":"))
            cursor.skipWhitespace()
            try parseField(key, &cursor, into: &frame, seen: &seen, depth: depth)
            cursor.skipWhitespace()
            let next = try cursor.next()
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "}") { return }
            throw .syntax
        }
    }

    private func parseField(
        _ key: UnsafeBufferPointer<UInt8>, _ cursor: inout Cursor, into frame: inout BinanceFrame,
        seen: inout SeenKeys, depth: Int
    ) throws(FrameParseError) {
        if key.count == 1 {
            switch key[0] {
            case UInt8(ascii: "e"):
                let value = try cursor.string()
                seen.eventType = EventType(value)
            case UInt8(ascii: "E"): frame.eventTime = try cursor.integer()
            case UInt8(ascii: "s"):
                let value = try cursor.string()
                guard let symbol = SymbolKey(bytes: value) else { throw .symbolTooLong }
                frame.symbol = symbol
                seen.symbol = true
            case UInt8(ascii: "U"):
                frame.firstUpdateID = try cursor.integer()
                seen.firstUpdate = true
            case UInt8(ascii: "u"):
                frame.finalUpdateID = try cursor.integer()
                seen.finalUpdate = true
            case UInt8(ascii: "b"):
                // depth: levels; bookTicker: best bid price; trade: buyer order id.
                switch try cursor.peek() {
                case UInt8(ascii: "["): try cursor.levels(into: &frame.bids)
                case UInt8(ascii: "\""):
                    frame.bidPrice = try cursor.decimalString()
                    seen.bidString = true
                default: frame.buyerOrderID = try cursor.integer()
                }
            case UInt8(ascii: "a"):
                // depth: levels; bookTicker: best ask price; trade: seller order id; aggTrade: agg id.
                switch try cursor.peek() {
                case UInt8(ascii: "["): try cursor.levels(into: &frame.asks)
                case UInt8(ascii: "\""):
                    frame.askPrice = try cursor.decimalString()
                    seen.askString = true
                default:
                    let value = try cursor.integer()
                    frame.sellerOrderID = value
                    // aggTrade's id; a trade's "t" (before or after) is its trade id instead.
                    if !seen.hasT {
                        frame.tradeID = value
                        seen.tradeID = true
                    }
                }
            case UInt8(ascii: "B"):
                frame.bidQuantity = try cursor.decimalString()
                seen.bidQuantity = true
            case UInt8(ascii: "A"):
                frame.askQuantity = try cursor.decimalString()
                seen.askQuantity = true
            case UInt8(ascii: "t"):
                frame.tradeID = try cursor.integer()
                seen.tradeID = true
                seen.hasT = true
            case UInt8(ascii: "p"):
                frame.price = try cursor.decimalString()
                seen.price = true
            case UInt8(ascii: "q"):
                frame.quantity = try cursor.decimalString()
                seen.quantity = true
            case UInt8(ascii: "f"): frame.firstTradeID = try cursor.integer()
            case UInt8(ascii: "l"): frame.lastTradeID = try cursor.integer()
            case UInt8(ascii: "T"): frame.tradeTime = try cursor.integer()
            case UInt8(ascii: "m"): frame.buyerIsMaker = try cursor.boolean()
            case UInt8(ascii: "k"):
                guard depth < Self.maxDepth else { throw .tooDeep }
                try parseKline(&cursor, into: &frame.kline)
                seen.kline = true
            default: try cursor.skipValue(depth: depth + 1)
            }
            return
        }
        if bytesEqual(key, "data") {
            guard depth < Self.maxDepth, try cursor.peek() == UInt8(ascii: "{") else {
                try cursor.skipValue(depth: depth + 1)
                return
            }
            try parseObject(&cursor, into: &frame, seen: &seen, depth: depth + 1)
        } else if bytesEqual(key, "result") {
            seen.result = true
            try cursor.skipValue(depth: depth + 1)
        } else {
            // "stream" and anything else: the data object names the symbol itself.
            try cursor.skipValue(depth: depth + 1)
        }
    }

    private func parseKline(_ cursor: inout Cursor, into kline: inout KlineFields) throws(FrameParseError) {
        try cursor.expect(UInt8(ascii: "{"))
        cursor.skipWhitespace()
        if try cursor.peek() == UInt8(ascii: "}") {
            cursor.position += 1
            return
        }
        while true {
            cursor.skipWhitespace()
            let key = try cursor.string()
            cursor.skipWhitespace()
            try cursor.expect(UInt8(ascii: ":"))
            cursor.skipWhitespace()
            if key.count == 1 {
                switch key[0] {
                case UInt8(ascii: "t"): kline.openTime = try cursor.integer()
                case UInt8(ascii: "T"): kline.closeTime = try cursor.integer()
                case UInt8(ascii: "i"): kline.interval = KlineInterval.parse(try cursor.string())
                case UInt8(ascii: "f"): kline.firstTradeID = try cursor.integer()
                case UInt8(ascii: "L"): kline.lastTradeID = try cursor.integer()
                case UInt8(ascii: "o"): kline.open = try cursor.decimalString()
                case UInt8(ascii: "c"): kline.close = try cursor.decimalString()
                case UInt8(ascii: "h"): kline.high = try cursor.decimalString()
                case UInt8(ascii: "l"): kline.low = try cursor.decimalString()
                case UInt8(ascii: "v"): kline.volume = try cursor.decimalString()
                case UInt8(ascii: "n"): kline.tradeCount = try cursor.integer()
                case UInt8(ascii: "x"): kline.closed = try cursor.boolean()
                case UInt8(ascii: "q"): kline.quoteVolume = try cursor.decimalString()
                case UInt8(ascii: "V"): kline.takerBuyBaseVolume = try cursor.decimalString()
                case UInt8(ascii: "Q"): kline.takerBuyQuoteVolume = try cursor.decimalString()
                default: try cursor.skipValue(depth: 2)
                }
            } else {
                try cursor.skipValue(depth: 2)
            }
            cursor.skipWhitespace()
            let next = try cursor.next()
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "}") { return }
            throw .syntax
        }
    }
}

/// Which keys a frame had, to tell the shapes apart and to refuse frames missing their ids.
struct SeenKeys {
    var eventType: EventType? = nil
    var symbol = false
    var firstUpdate = false
    var finalUpdate = false
    var bidString = false
    var askString = false
    var bidQuantity = false
    var askQuantity = false
    var tradeID = false
    var hasT = false
    var price = false
    var quantity = false
    var kline = false
    var result = false
}

enum EventType {
    case depthUpdate, trade, aggTrade, kline, other

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        // By length first: the generic `elementsEqual` over String.UTF8View showed in profiles.
        switch bytes.count {
        case 11 where bytesEqual(bytes, "depthUpdate"): self = .depthUpdate
        case 8 where bytesEqual(bytes, "aggTrade"): self = .aggTrade
        case 5 where bytesEqual(bytes, "trade"): self = .trade
        case 5 where bytesEqual(bytes, "kline"): self = .kline
        default: self = .other
        }
    }
}

/// Whether `bytes` are exactly the ASCII `literal`.
@inline(__always) func bytesEqual(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    guard bytes.count == count, let base = bytes.baseAddress else { return count == 0 && bytes.count == 0 }
    let start = literal.utf8Start
    for index in 0..<count where base[index] != start[index] { return false }
    return true
}

/// A read position in a frame's bytes. Every read checks the end first.
struct Cursor {
    var position: UnsafePointer<UInt8>
    let end: UnsafePointer<UInt8>

    @inline(__always) mutating func skipWhitespace() {
        while position < end {
            let byte = position.pointee
            guard byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 else { return }
            position += 1
        }
    }

    @inline(__always) func peek() throws(FrameParseError) -> UInt8 {
        guard position < end else { throw .unexpectedEnd }
        return position.pointee
    }

    @inline(__always) mutating func next() throws(FrameParseError) -> UInt8 {
        guard position < end else { throw .unexpectedEnd }
        let byte = position.pointee
        position += 1
        return byte
    }

    @inline(__always) mutating func expect(_ byte: UInt8) throws(FrameParseError) {
        guard position < end else { throw .unexpectedEnd }
        guard position.pointee == byte else { throw .syntax }
        position += 1
    }

    /// A string's raw bytes between the quotes (escapes are skipped over, not decoded: Binance's
    /// keys, symbols and numbers never contain them).
    @inline(__always) mutating func string() throws(FrameParseError) -> UnsafeBufferPointer<UInt8> {
        try expect(UInt8(ascii: "\""))
        let start = position
        while position < end {
            let byte = position.pointee
            if byte == UInt8(ascii: "\"") {
                let result = UnsafeBufferPointer(start: start, count: position - start)
                position += 1
                return result
            }
            if byte == UInt8(ascii: "\\") {
                position += 1
                guard position < end else { throw .unexpectedEnd }
            } else if byte < 0x20 {
                throw .syntax
            }
            position += 1
        }
        throw .unexpectedEnd
    }

    /// A JSON integer (optionally negative), checked for overflow.
    @inline(__always) mutating func integer() throws(FrameParseError) -> Int64 {
        guard position < end else { throw .unexpectedEnd }
        var negative = false
        if position.pointee == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var value: Int64 = 0
        var digits = 0
        while position < end {
            let digit = position.pointee &- 0x30
            guard digit < 10 else { break }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { throw .badNumber }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw .badNumber }
        if position < end {
            let byte = position.pointee
            // A fraction or exponent is not an integer.
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { throw .badNumber }
        }
        return negative ? -value : value
    }

    @inline(__always) mutating func boolean() throws(FrameParseError) -> Bool {
        if try literal("true") { return true }
        if try literal("false") { return false }
        throw .syntax
    }

    private mutating func literal(_ word: StaticString) throws(FrameParseError) -> Bool {
        let count = word.utf8CodeUnitCount
        guard end - position >= count else {
            if position >= end { throw .unexpectedEnd }
            return false
        }
        let bytes = word.utf8Start
        for index in 0..<count where position[index] != bytes[index] { return false }
        position += count
        return true
    }

    /// A quoted decimal ("0.35130000") as Fixed8 raw units: at most 8 fraction digits that
    /// matter (further digits must be zeros), overflow-checked, optional leading "-".
    @inline(__always) mutating func decimalString() throws(FrameParseError) -> Int64 {
        try expect(UInt8(ascii: "\""))
        var negative = false
        if position < end && position.pointee == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var whole: Int64 = 0
        var wholeDigits = 0
        while position < end {
            let digit = position.pointee &- 0x30
            guard digit < 10 else { break }
            let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { throw .badDecimal }
            whole = sum
            wholeDigits += 1
            position += 1
        }
        var fraction: Int64 = 0
        var fractionDigits = 0
        if position < end && position.pointee == UInt8(ascii: ".") {
            position += 1
            while position < end {
                let digit = position.pointee &- 0x30
                guard digit < 10 else { break }
                if fractionDigits < 8 {
                    fraction = fraction * 10 + Int64(digit)
                } else if digit != 0 {
                    throw .badDecimal  // more precision than Fixed8 holds
                }
                fractionDigits += 1
                position += 1
            }
            guard fractionDigits > 0 else { throw .badDecimal }
        }
        guard wholeDigits > 0 else { throw .badDecimal }
        guard position < end else { throw .unexpectedEnd }
        guard position.pointee == UInt8(ascii: "\"") else { throw .badDecimal }
        position += 1
        var scale = fractionDigits < 8 ? 8 - fractionDigits : 0
        while scale > 0 {
            fraction *= 10
            scale -= 1
        }
        let (scaled, o1) = whole.multipliedReportingOverflow(by: 100_000_000)
        let (value, o2) = scaled.addingReportingOverflow(fraction)
        guard !o1, !o2 else { throw .badDecimal }
        return negative ? -value : value
    }

    /// `[["price","qty"],...]` appended to `levels`. Extra elements in a level are skipped.
    @inline(__always) mutating func levels(into levels: inout [PriceQuantity]) throws(FrameParseError) {
        try expect(UInt8(ascii: "["))
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            try expect(UInt8(ascii: "["))
            skipWhitespace()
            let price = try decimalString()
            skipWhitespace()
            try expect(UInt8(ascii: ","))
            skipWhitespace()
            let quantity = try decimalString()
            skipWhitespace()
            while try peek() == UInt8(ascii: ",") {
                position += 1
                skipWhitespace()
                try skipValue(depth: 4)
                skipWhitespace()
            }
            try expect(UInt8(ascii: "]"))
            levels.append(PriceQuantity(price: price, quantity: quantity))
            skipWhitespace()
            let next = try self.next()
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "]") { return }
            throw .syntax
        }
    }

    /// Skips any JSON value, refusing nesting deeper than `BinanceFrameParser.maxDepth`.
    mutating func skipValue(depth: Int) throws(FrameParseError) {
        guard depth <= BinanceFrameParser.maxDepth else { throw .tooDeep }
        let first = try peek()
        switch first {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                _ = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let next = try self.next()
                if next == UInt8(ascii: ",") { continue }
                if next == UInt8(ascii: "}") { return }
                throw .syntax
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let next = try self.next()
                if next == UInt8(ascii: ",") { continue }
                if next == UInt8(ascii: "]") { return }
                throw .syntax
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            _ = try boolean()
        case UInt8(ascii: "n"):
            guard try literal("null") else { throw .syntax }
        default:
            // A number: sign, digits, fraction, exponent.
            let start = position
            if position.pointee == UInt8(ascii: "-") { position += 1 }
            while position < end {
                let byte = position.pointee
                let isNumberByte = (byte &- 0x30) < 10 || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                    || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
                guard isNumberByte else { break }
                position += 1
            }
            guard position > start, (start.pointee &- 0x30) < 10 || start.pointee == UInt8(ascii: "-") else { throw .syntax }
        }
    }
}
