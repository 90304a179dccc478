import ExchangeProtocol

/// A `GET /api/v3/depth` body.
public struct DepthSnapshot: Sendable, Equatable {
    public var lastUpdateID: Int64
    /// Best first, as Binance sends them.
    public var bids: [PriceQuantity]
    public var asks: [PriceQuantity]

    public init(lastUpdateID: Int64, bids: [PriceQuantity], asks: [PriceQuantity]) {
        self.lastUpdateID = lastUpdateID
        self.bids = bids
        self.asks = asks
    }

    /// Parses `{"lastUpdateId":N,"bids":[["p","q"],..],"asks":[..]}` from bytes, the same way as
    /// stream frames (Fixed8 raw values, no Foundation).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<DepthSnapshot, FrameParseError> {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .failure(.unexpectedEnd) }
        var cursor = Cursor(position: base, end: base + bytes.count)
        var snapshot = DepthSnapshot(lastUpdateID: 0, bids: [], asks: [])
        var sawID = false
        do throws(FrameParseError) {
            cursor.skipWhitespace()
            try cursor.expect(UInt8(ascii: "{"))
            cursor.skipWhitespace()
            if try cursor.peek() != UInt8(ascii: "}") {
                while true {
                    cursor.skipWhitespace()
                    let key = try cursor.string()
                    cursor.skipWhitespace()
                    try cursor.expect(UInt8(ascii: ":"))
                    cursor.skipWhitespace()
                    if key.elementsEqual("lastUpdateId".utf8) {
                        snapshot.lastUpdateID = try cursor.integer()
                        sawID = true
                    } else if key.elementsEqual("bids".utf8) {
                        try cursor.levels(into: &snapshot.bids)
                    } else if key.elementsEqual("asks".utf8) {
                        try cursor.levels(into: &snapshot.asks)
                    } else {
                        try cursor.skipValue(depth: 1)
                    }
                    cursor.skipWhitespace()
                    let next = try cursor.next()
                    if next == UInt8(ascii: ",") { continue }
                    if next == UInt8(ascii: "}") { break }
                    throw .syntax
                }
            } else {
                cursor.position += 1
            }
            cursor.skipWhitespace()
            guard cursor.position == cursor.end else { throw .syntax }
        } catch {
            return .failure(error)
        }
        return sawID ? .success(snapshot) : .failure(.missingField)
    }

    public static func parse(_ text: String) -> Result<DepthSnapshot, FrameParseError> {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    /// The Binance JSON body of this snapshot, limited to `limit` levels per side.
    public func json(limit: Int = .max) -> String {
        var out = "{\"lastUpdateId\":\(lastUpdateID),\"bids\":["
        DepthSnapshot.appendLevels(bids.prefix(limit), to: &out)
        out += "],\"asks\":["
        DepthSnapshot.appendLevels(asks.prefix(limit), to: &out)
        out += "]}"
        return out
    }

    static func appendLevels(_ levels: ArraySlice<PriceQuantity>, to out: inout String) {
        var first = true
        for level in levels {
            if !first { out += "," }
            first = false
            out += "[\"\(Fixed8(raw: level.price))\",\"\(Fixed8(raw: level.quantity))\"]"
        }
    }
}
