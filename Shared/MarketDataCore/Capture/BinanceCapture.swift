/// A recorded Binance session in the fixture formats of `shared/fixtures/binance/README.md`:
/// a combined-stream WebSocket capture (`<unix seconds>: <frame>` lines after the URL line) and
/// REST captures (`<url> -> <unix seconds>: <body>` lines).
public struct BinanceCapture: Sendable {
    /// One recorded WebSocket frame.
    public struct Frame: Sendable {
        /// Receive time in microseconds since the epoch.
        public var timeMicros: Int64
        /// The stream name ("nknusdt@depth@100ms").
        public var stream: String
        /// The frame as recorded: `{"stream":..,"data":..}`.
        public var combined: String
        /// The `data` object alone, what a `/ws/<stream>` connection receives.
        public var data: String
    }

    /// One recorded REST response.
    public struct RestResponse: Sendable {
        public var url: String
        /// The request path with query ("/api/v3/depth?symbol=NKNUSDT&limit=1000").
        public var pathAndQuery: String
        public var timeMicros: Int64
        public var body: String
    }

    public var streamURL: String
    public var frames: [Frame]
    public var rest: [RestResponse]

    public init(streamURL: String, frames: [Frame], rest: [RestResponse]) {
        self.streamURL = streamURL
        self.frames = frames
        self.rest = rest
    }

    public enum LoadError: Error, CustomStringConvertible {
        case malformedLine(file: String, line: Int)
        public var description: String {
            switch self {
            case .malformedLine(let file, let line): return "\(file):\(line): not a capture line"
            }
        }
    }

    /// Parses the text of a WebSocket capture and any number of REST captures.
    public static func parse(webSocket wsText: String, rest restTexts: [String], file: String = "capture") throws -> BinanceCapture {
        var lines = wsText.split(separator: "\n", omittingEmptySubsequences: true)
        var streamURL = ""
        if let first = lines.first, !first.hasPrefix("{"), first.contains("://") {
            streamURL = String(first.split(separator: " ").first ?? "")
            lines.removeFirst()
        }
        var frames: [Frame] = []
        frames.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            guard let separator = line.range(of: ": ") else { throw LoadError.malformedLine(file: file, line: index + 2) }
            let time = parseMicros(line[..<separator.lowerBound])
            let combined = String(line[separator.upperBound...])
            guard let (stream, data) = splitCombined(combined) else { throw LoadError.malformedLine(file: file, line: index + 2) }
            frames.append(Frame(timeMicros: time, stream: stream, combined: combined, data: data))
        }
        var rest: [RestResponse] = []
        for text in restTexts {
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                guard let arrow = line.range(of: " -> "),
                      let colon = line[arrow.upperBound...].range(of: ": ")
                else { throw LoadError.malformedLine(file: file, line: index + 1) }
                let url = String(line[..<arrow.lowerBound])
                var path = url
                if let scheme = url.range(of: "://"), let slash = url[scheme.upperBound...].firstIndex(of: "/") {
                    path = String(url[slash...])
                }
                rest.append(RestResponse(
                    url: url, pathAndQuery: path, timeMicros: parseMicros(line[arrow.upperBound..<colon.lowerBound]),
                    body: String(line[colon.upperBound...])))
            }
        }
        return BinanceCapture(streamURL: streamURL, frames: frames, rest: rest)
    }

    /// The recorded `/api/v3/depth` body of `symbol` (upper case), if any.
    public func depthSnapshotBody(symbol: String) -> String? {
        rest.first { $0.pathAndQuery.hasPrefix("/api/v3/depth?") && $0.pathAndQuery.contains("symbol=\(symbol)&") || $0.pathAndQuery.hasSuffix("symbol=\(symbol)") }?.body
    }

    /// The recorded body of a path without query ("/api/v3/exchangeInfo"), if any.
    public func body(path: String) -> String? {
        rest.first { $0.pathAndQuery == path || $0.pathAndQuery.hasPrefix(path + "?") }?.body
    }

    /// "1633998512.0633569" -> microseconds, without floating point.
    static func parseMicros(_ text: Substring) -> Int64 {
        let parts = text.split(separator: ".", maxSplits: 1)
        let seconds = Int64(parts.first ?? "0") ?? 0
        var micros: Int64 = 0
        if parts.count == 2 {
            var digits = String(parts[1].prefix(6))
            while digits.count < 6 { digits += "0" }
            micros = Int64(digits) ?? 0
        }
        return seconds * 1_000_000 + micros
    }

    /// `{"stream":"x","data":{...}}` -> ("x", "{...}") by position (the recorded shape).
    static func splitCombined(_ frame: String) -> (String, String)? {
        guard frame.hasPrefix("{\"stream\":\""),
              let streamEnd = frame.range(of: "\",\"data\":"),
              frame.hasSuffix("}")
        else { return nil }
        let stream = String(frame[frame.index(frame.startIndex, offsetBy: 11)..<streamEnd.lowerBound])
        let data = String(frame[streamEnd.upperBound..<frame.index(before: frame.endIndex)])
        return (stream, data)
    }
}
