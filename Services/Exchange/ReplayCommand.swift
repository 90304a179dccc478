import ArgumentParser
import BinanceReplay
import Foundation
import Logging
import MarketDataCore

/// `exchange replay`: serves a recorded Binance session over Binance-compatible REST and
/// WebSocket on loopback, so market-data ingestion runs offline.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Serve a recorded Binance capture over Binance-compatible REST and WebSocket.")

    @Option(name: .customLong("ws-capture"), help: "Combined-stream capture (fixtures format).")
    var wsCapture: String = "../shared/fixtures/binance/spot-ws-2021-10-12.txt"

    @Option(name: .customLong("rest-capture"), help: "REST capture(s): depth snapshots, exchangeInfo.")
    var restCapture: [String] = ["../shared/fixtures/binance/spot-rest-2021-10-12.txt"]

    @Option(help: "Replay speed: 1 real time, 10 ten times faster, 0 as fast as possible.")
    var speed: Double = 1

    @Option(help: "Host to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Port (0 picks a free one; printed on start).")
    var port: Int = 9443

    @Option(name: .customLong("inject-gap"), help: "SYMBOL[:N]: leave out that symbol's N-th depth diff (default 5) on the first connection.")
    var injectGap: String?

    @Option(name: .customLong("drop-after"), help: "Close the first connection after this many frames.")
    var dropAfter: Int?

    @Option(name: .customLong("stale-snapshots"), help: "The first N depth requests per symbol get a stale snapshot.")
    var staleSnapshots: Int = 0

    @Option(name: .customLong("rate-limit-first"), help: "Answer the first N REST requests with 429.")
    var rateLimitFirst: Int = 0

    func run() async throws {
        let capture = try loadCapture(ws: wsCapture, rest: restCapture)
        var faults = ReplayFaults(dropConnectionAfter: dropAfter, staleSnapshots: staleSnapshots, rateLimitFirst: rateLimitFirst)
        if let injectGap {
            let parts = injectGap.split(separator: ":")
            faults.gapSymbol = parts.first.map { $0.uppercased() }
            if parts.count > 1, let frame = Int(parts[1]) { faults.gapFrame = frame }
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let server = BinanceReplayServer(
            capture: capture, configuration: .init(host: host, port: port, speed: speed, faults: faults),
            logger: Logger(label: "replay"))
        let host = self.host
        try await server.run { port in
            writeLine("{\"rest\":\"http://\(host):\(port)\",\"ws\":\"ws://\(host):\(port)\",\"frames\":\(capture.frames.count)}")
        }
    }
}

/// Reads capture files (the fixtures' formats).
func loadCapture(ws: String, rest: [String]) throws -> BinanceCapture {
    let wsText = try String(contentsOfFile: ws, encoding: .utf8)
    let restTexts = try rest.map { try String(contentsOfFile: $0, encoding: .utf8) }
    return try BinanceCapture.parse(webSocket: wsText, rest: restTexts, file: ws)
}
