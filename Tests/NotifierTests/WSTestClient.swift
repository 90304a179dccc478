import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// A WebSocket client for the tests: collects every text message, sends what it is told, and
/// keeps the server's close frame.
final class WSTestClient: Sendable {
    private let received = Mutex<[String]>([])
    private let closeFrame = Mutex<(code: String, reason: String?)?>(nil)
    private let closed = Mutex(false)
    private let outgoing: AsyncStream<String>
    private let outgoingContinuation: AsyncStream<String>.Continuation

    init() {
        (outgoing, outgoingContinuation) = AsyncStream.makeStream(of: String.self)
    }

    func send(_ text: String) { outgoingContinuation.yield(text) }

    var messages: [String] { received.withLock { $0 } }
    var isClosed: Bool { closed.withLock { $0 } }
    var close: (code: String, reason: String?)? { closeFrame.withLock { $0 } }

    /// Waits (up to `timeout`) until `count` messages arrived; returns what arrived.
    @discardableResult
    func wait(for count: Int, timeout: Duration = .seconds(10)) async -> [String] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while received.withLock({ $0.count }) < count, !isClosed, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return messages
    }

    /// Waits until the server closed the connection.
    func waitClosed(timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !isClosed, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Connects to `url` and runs `body` while the connection lives; closes the client after it.
    static func with<T: Sendable>(_ url: String, _ body: @Sendable (WSTestClient) async throws -> T) async throws -> T {
        let client = WSTestClient()
        let logger = Logger(label: "test.ws")
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                let frame = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { inner in
                        inner.addTask {
                            for await text in client.outgoing { try await outbound.write(.text(text)) }
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            if case .text(let text) = message { client.received.withLock { $0.append(text) } }
                        }
                        inner.cancelAll()
                    }
                }
                if let frame { client.closeFrame.withLock { $0 = ("\(frame.closeCode)", frame.reason) } }
                client.closed.withLock { $0 = true }
                return nil
            }
            let result = try await body(client)
            client.outgoingContinuation.finish()
            // The close handshake ends the connection task.
            for try await _ in group {}
            return result
        }
    }
}
