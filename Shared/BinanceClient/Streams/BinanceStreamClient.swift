import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOSSL

/// Receives what a combined-stream connection delivers. Called from the connection's task, one
/// call at a time, in order.
public protocol BinanceStreamHandler: Sendable {
    /// A connection is open (numbered from 1); everything buffered for an earlier one is stale.
    func connected(number: Int)
    /// One text frame as received.
    func received(_ text: String)
    /// The connection ended (error, server close, or the 24 h rollover); a new one follows.
    func disconnected(number: Int, reason: String)
}

/// A Binance combined-stream WebSocket (`/stream?streams=a/b/c`) that stays up: reconnects with
/// exponential backoff and jitter, pings the server (and answers its pings), and opens a new
/// connection before Binance's 24 h limit cuts the old one.
public struct BinanceStreamClient: Sendable {
    public struct Configuration: Sendable {
        /// "wss://stream.binance.com:9443" (or a replay's "ws://127.0.0.1:PORT").
        public var baseURL: String
        public var streams: [String]
        /// Reconnect before this age (Binance closes connections after 24 h).
        public var maxConnectionAge: Duration
        /// Client pings (Binance pings every 20 s and expects pongs within a minute; the library answers those).
        public var pingInterval: Duration
        public var backoff: ExponentialBackoff
        /// Largest frame accepted (a 5000-level depth frame is ~250 KB).
        public var maxFrameSize: Int

        public init(
            baseURL: String = "wss://stream.binance.com:9443", streams: [String], maxConnectionAge: Duration = .seconds(23 * 3600 + 50 * 60),
            pingInterval: Duration = .seconds(30), backoff: ExponentialBackoff = ExponentialBackoff(base: .milliseconds(100), cap: .seconds(30)),
            maxFrameSize: Int = 1 << 22
        ) {
            self.baseURL = baseURL
            self.streams = streams
            self.maxConnectionAge = maxConnectionAge
            self.pingInterval = pingInterval
            self.backoff = backoff
            self.maxFrameSize = maxFrameSize
        }

        /// The combined-stream URL.
        public var url: String {
            baseURL + "/stream?streams=" + streams.joined(separator: "/")
        }
    }

    public let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects and reconnects until the task is cancelled.
    public func run(handler: some BinanceStreamHandler) async throws {
        var backoff = configuration.backoff
        var number = 0
        let clock = ContinuousClock()
        while !Task.isCancelled {
            number += 1
            let connectionNumber = number
            let started = clock.now
            var reason = "closed by server"
            do {
                let tls: TLSConfiguration? = configuration.baseURL.hasPrefix("wss") ? .makeClientConfiguration() : nil
                let frameSize = configuration.maxFrameSize
                let maxAge = configuration.maxConnectionAge
                let logger = self.logger
                try await WebSocketClient.connect(
                    url: configuration.url,
                    configuration: .init(maxFrameSize: frameSize, autoPing: .enabled(timePeriod: configuration.pingInterval)),
                    tlsConfiguration: tls,
                    logger: logger
                ) { inbound, outbound, _ in
                    handler.connected(number: connectionNumber)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            // The 24 h rollover: close cleanly and let the loop open a new connection.
                            try await Task.sleep(for: maxAge)
                            logger.info("binance stream rollover", metadata: ["exchange.connection": "\(connectionNumber)"])
                            try await outbound.close(.normalClosure, reason: "rollover")
                        }
                        for try await message in inbound.messages(maxSize: frameSize) {
                            if case .text(let text) = message { handler.received(text) }
                        }
                        group.cancelAll()
                    }
                }
            } catch is CancellationError {
                reason = "cancelled"
            } catch {
                reason = "\(error)"
            }
            handler.disconnected(number: connectionNumber, reason: reason)
            if Task.isCancelled { break }
            // A connection that lived a while resets the backoff: this failure is new.
            if clock.now - started > .seconds(60) { backoff.reset() }
            let delay = backoff.next(random: Double.random(in: 0.5...1))
            logger.warning("binance stream disconnected, reconnecting", metadata: [
                "exchange.connection": "\(connectionNumber)", "reason": "\(reason)", "exchange.retry_in": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
        }
    }
}
