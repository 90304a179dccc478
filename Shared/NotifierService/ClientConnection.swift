import NIOCore
import NIOWebSocket
import NotifierCore
import Synchronization

/// One client's outbound side: a bounded queue of frames the fan-out fills without blocking and
/// the connection's writer drains in batches (one flush per batch). A client that lets `capacity` frames pile up is a slow
/// consumer: it is closed with a reason instead of holding unbounded memory.
public final class ClientConnection: Sendable {
    /// Why the notifier closes a connection.
    public enum CloseReason: Sendable, Hashable {
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
        /// Frames queued and not yet taken by the writer.
        var pending: [ByteBuffer] = []
        /// The writer, waiting for frames.
        var waiter: CheckedContinuation<[ByteBuffer]?, Never>?
        /// Attached: frames go straight onto the channel's event loop (see `attach`).
        var channel: (any Channel)?
        var drainScheduled = false
        /// Frames handed to the channel and not yet written to the socket.
        var inFlight = 0
    }

    /// Process-unique id (hub bookkeeping).
    public let id: Int
    /// Frames queued before the connection counts as a slow consumer.
    public let capacity: Int
    private let state: Mutex<State>
    private static let nextID = Atomic<Int>(1)
    /// A WebSocket API connection (its events are `{"event":..}` objects), not a stream one.
    public let isAPI: Bool

    public init(combined: Bool, capacity: Int, isAPI: Bool = false) {
        self.isAPI = isAPI
        self.capacity = max(1, capacity)
        id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
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
        send(buffer: ByteBuffer(string: text))
    }

    /// Queues a frame's bytes. The fan-out passes one buffer to every subscriber: NIO writes it
    /// without copying, so a message costs one render and one buffer however many clients get it.
    public func send(buffer: ByteBuffer) {
        enum Outcome { case queued, overflow, wake(CheckedContinuation<[ByteBuffer]?, Never>, [ByteBuffer]), closed }
        enum Drain { case none, schedule(any Channel) }
        var drain = Drain.none
        let outcome = state.withLock { s -> Outcome in
            guard s.closing == nil else { return .closed }
            guard s.pending.count + s.inFlight < capacity else { return .overflow }
            s.pending.append(buffer)
            if let channel = s.channel {
                if !s.drainScheduled {
                    s.drainScheduled = true
                    drain = .schedule(channel)
                }
                return .queued
            }
            guard let waiter = s.waiter else { return .queued }
            s.waiter = nil
            let batch = s.pending
            s.pending = []
            return .wake(waiter, batch)
        }
        if case .schedule(let channel) = drain {
            channel.eventLoop.execute { self.drain(channel) }
        }
        switch outcome {
        case .overflow: close(.slowConsumer)
        case .wake(let waiter, let batch): waiter.resume(returning: batch)
        case .queued, .closed: break
        }
    }

    /// Sends frames from now on straight from the fan-out onto `channel`'s event loop: whatever is
    /// queued when the loop gets to it goes out as one batch with one flush, with no task wake-up
    /// per frame. Frames handed to the channel count against `capacity` until written to the
    /// socket, so a client that stops reading is still cut off at the bound.
    /// Attach before the first frame is queued, so that all frames take the same path.
    public func attach(_ channel: any Channel) {
        state.withLock { $0.channel = channel }
    }

    /// Runs on the channel's event loop.
    private func drain(_ channel: any Channel) {
        let batch = state.withLock { s -> [ByteBuffer] in
            s.drainScheduled = false
            guard s.closing != .slowConsumer else { return [] }
            let batch = s.pending
            s.pending = []
            s.inFlight += batch.count
            return batch
        }
        guard !batch.isEmpty else { return }
        var last = channel.eventLoop.makeSucceededVoidFuture()
        for buffer in batch {
            last = channel.write(WebSocketFrame(fin: true, opcode: .text, data: buffer))
        }
        channel.flush()
        let count = batch.count
        last.whenComplete { _ in self.state.withLock { $0.inFlight -= count } }
    }

    /// Queues a market payload in the connection's current format.
    public func send(raw: ByteBuffer, combined combinedFrame: () -> ByteBuffer) {
        send(buffer: combined ? combinedFrame() : raw)
    }

    /// Everything queued, in order, waiting until there is something; nil once the connection is
    /// closing and the queue is drained (a slow consumer's queue is dropped at once). Once
    /// attached to a channel, only waits for the close.
    public func nextBatch() async -> [ByteBuffer]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<[ByteBuffer]?, Never>) in
                let ready = state.withLock { s -> [ByteBuffer]?? in
                    if s.closing == .slowConsumer { s.pending = []; return .some(nil) }
                    if s.channel != nil {
                        // Attached: the event loop writes every frame, in order; wait for the close.
                        if s.closing != nil { return .some(nil) }
                        s.waiter = c
                        return nil
                    }
                    if !s.pending.isEmpty {
                        let batch = s.pending
                        s.pending = []
                        return .some(batch)
                    }
                    if s.closing != nil { return .some(nil) }
                    s.waiter = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            close(.peerClosed)
        }
    }

    /// Marks the connection closing; the writer then drains the queue (unless the client is a
    /// slow consumer) and sends the close frame. The first reason wins.
    public func close(_ reason: CloseReason) {
        let waiter = state.withLock { s -> CheckedContinuation<[ByteBuffer]?, Never>? in
            guard s.closing == nil else { return nil }
            s.closing = reason
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }
}

/// A `Mutex` in a class, for state several tasks of one connection (or the server) share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R { try mutex.withLock(body) }
}
