import NotifierCore
import Synchronization

/// One client's outbound side: a bounded queue of frames the fan-out fills without blocking and
/// the connection's writer drains. A client that lets `capacity` frames pile up is a slow
/// consumer: it is closed with a reason instead of holding unbounded memory.
public final class ClientConnection: Sendable {
    /// Why the notifier closes a connection.
    public enum CloseReason: Sendable, Equatable {
        case slowConsumer
        case tooManyMessages
        case lifetime
        case serverShutdown
        case listenKeyExpired
        case pingTimeout
        /// The client closed its side; nothing more to send.
        case peerClosed
        /// The WebSocket API session ended by request.
        case sessionEnded

        /// Close code and reason text sent in the close frame.
        public var reason: String {
            switch self {
            case .slowConsumer: return "Slow consumer: outbound buffer full"
            case .tooManyMessages: return "Too many messages: more than 5 per second"
            case .lifetime: return "Connection lifetime of 24 hours reached"
            case .serverShutdown: return "Server shutdown"
            case .listenKeyExpired: return "listenKey expired"
            case .pingTimeout: return "Ping timeout"
            case .peerClosed: return "Closed by the client"
            case .sessionEnded: return "Session ended"
            }
        }
    }

    struct State {
        var combined: Bool
        var closing: CloseReason?
    }

    /// Process-unique id (hub bookkeeping).
    public let id: Int
    let continuation: AsyncStream<String>.Continuation
    /// The frames to write, in order; ends when the connection closes.
    public let frames: AsyncStream<String>
    private let state: Mutex<State>
    private static let nextID = Atomic<Int>(1)

    /// A WebSocket API connection (its events are `{"event":..}` objects), not a stream one.
    public let isAPI: Bool

    public init(combined: Bool, capacity: Int, isAPI: Bool = false) {
        self.isAPI = isAPI
        id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        (frames, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(max(1, capacity)))
        state = Mutex(State(combined: combined, closing: nil))
    }

    /// Whether market payloads go out wrapped as `{"stream","data"}`.
    public var combined: Bool {
        get { state.withLock { $0.combined } }
        set { state.withLock { $0.combined = newValue } }
    }

    /// Why the connection is closing, once it is.
    public var closing: CloseReason? { state.withLock { $0.closing } }

    /// Queues a frame; a full queue closes the connection as a slow consumer.
    public func send(_ text: String) {
        switch continuation.yield(text) {
        case .dropped:
            close(.slowConsumer)
        default:
            break
        }
    }

    /// Queues a market payload in the connection's current format.
    public func send(stream: String, data: String, combinedText: () -> String) {
        send(combined ? combinedText() : data)
    }

    /// Marks the connection closing and ends its queue; the writer then sends the close frame.
    /// The first reason wins.
    public func close(_ reason: CloseReason) {
        let first = state.withLock { s -> Bool in
            guard s.closing == nil else { return false }
            s.closing = reason
            return true
        }
        if first { continuation.finish() }
    }
}

/// A `Mutex` in a class, for state several tasks of one connection (or the server) share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R { try mutex.withLock(body) }
}
