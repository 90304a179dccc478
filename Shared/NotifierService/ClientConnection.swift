import NIOCore
import NIOWebSocket
import NotifierCore
import Synchronization

/// One client's outbound side: a bounded queue of encoded frames the fan-out fills without
/// blocking and the channel's event loop drains in batches (one flush per batch). A client that
/// lets `capacity` frames pile up is a slow consumer: it is closed with a reason instead of
/// holding unbounded memory.
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
        /// Encoded frames queued and not yet handed to the channel.
        var pending: [ByteBuffer] = []
        /// Waiting for the close (see `waitClosed`).
        var closeWaiter: CheckedContinuation<Void, Never>?
        /// Attached: frames go onto the channel's event loop (see `attach`).
        var channel: (any Channel)?
        var outbound: LoopOutbound?
        /// Where frames enter the pipeline: the context of the channel's `WebSocketFrameEncoder`,
        /// looked up on the loop by the first drain.
        var encoder: NIOLoopBoundBox<ChannelHandlerContext?>?
        /// In the loop's ready list: the next frame needs no new notice.
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

    /// Queues a text frame; a full queue closes the connection as a slow consumer.
    public func send(_ text: String) {
        send(frame: ByteBuffer(webSocketText: text))
    }

    /// Queues an encoded frame (`ByteBuffer(webSocketText:)`). The fan-out passes one buffer to
    /// every subscriber: NIO writes it without copying, so a message costs one render and one
    /// buffer however many clients get it.
    public func send(frame: ByteBuffer) {
        queue { _ in frame }?.ready(self)
    }

    /// Queues a market payload's frame in the connection's current format.
    public func send(raw: ByteBuffer, combined combinedFrame: () -> ByteBuffer) {
        queue { $0 ? combinedFrame() : raw }?.ready(self)
    }

    /// On the connection's event loop (`LoopOutbound`'s broadcast): queues a market payload's
    /// frame in the connection's current format. True when the caller must `drain` it (it was
    /// not waiting for a drain already).
    func queueOnLoop(raw: ByteBuffer, combined combinedFrame: () -> ByteBuffer) -> Bool {
        queue { $0 ? combinedFrame() : raw } != nil
    }

    /// Queues the frame `frame(combined)` gives for the connection's current format; a full queue
    /// closes the connection as a slow consumer. Returns the loop to tell when the connection
    /// became ready to drain (attached and not already waiting for a drain), else nil.
    private func queue(_ frame: (_ combined: Bool) -> ByteBuffer) -> LoopOutbound? {
        enum Outcome { case queued, drain(LoopOutbound), overflow, closed }
        let outcome = state.withLock { s -> Outcome in
            guard s.closing == nil else { return .closed }
            guard s.pending.count + s.inFlight < capacity else { return .overflow }
            s.pending.append(frame(s.combined))
            guard let outbound = s.outbound, !s.drainScheduled else { return .queued }
            s.drainScheduled = true
            return .drain(outbound)
        }
        switch outcome {
        case .drain(let outbound): return outbound
        case .overflow: close(.slowConsumer)
        case .queued, .closed: break
        }
        return nil
    }

    /// The loop that writes this connection's frames (nil until `attach`).
    var outbound: LoopOutbound? { state.withLock { $0.outbound } }

    /// Sends frames from now on onto `channel`'s event loop, where whatever is queued when the
    /// loop gets to it goes out as one batch with one flush (`LoopOutbound`: one task per loop
    /// for all its connections, no task wake-up per frame). Frames handed to the channel count
    /// against `capacity` until written to the socket, so a client that stops reading is still
    /// cut off at the bound. Frames queued before are sent first.
    ///
    /// The frames are written at the channel's `WebSocketFrameEncoder` (already encoded, they
    /// skip it); they are whole frames, so they interleave safely with the WebSocket handler's
    /// own pings, pongs and close, which take the same path on the same loop. (No extension such
    /// as permessage-deflate is negotiated, which would have to see every frame.)
    public func attach(_ channel: any Channel) {
        let outbound = LoopOutbound.of(channel.eventLoop)
        let notify = state.withLock { s -> Bool in
            s.channel = channel
            s.outbound = outbound
            s.encoder = NIOLoopBoundBox.makeEmptyBox(valueType: ChannelHandlerContext.self, eventLoop: channel.eventLoop)
            guard !s.pending.isEmpty, !s.drainScheduled else { return false }
            s.drainScheduled = true
            return true
        }
        if notify { outbound.ready(self) }
    }

    /// On the channel's event loop (from `LoopOutbound`): writes everything queued, one flush.
    func drain() {
        let taken = state.withLock { s -> (batch: [ByteBuffer], channel: any Channel, encoder: NIOLoopBoundBox<ChannelHandlerContext?>)? in
            s.drainScheduled = false
            guard s.closing != .slowConsumer, let channel = s.channel, let encoder = s.encoder, !s.pending.isEmpty else {
                return nil
            }
            let batch = s.pending
            s.pending = []
            s.inFlight += batch.count
            return (batch, channel, encoder)
        }
        guard let (batch, channel, encoder) = taken else { return }
        let count = batch.count
        if encoder.value == nil {
            encoder.value = try? channel.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        }
        guard let context = encoder.value else {
            // The WebSocket handlers are gone: the channel is closing, nothing can be sent.
            state.withLock { $0.inFlight -= count }
            return
        }
        let written = channel.eventLoop.makePromise(of: Void.self)
        for (index, frame) in batch.enumerated() {
            // Writes complete in order: the last one's promise stands for the batch.
            context.write(NIOAny(frame), promise: index == count - 1 ? written : nil)
        }
        context.flush()
        written.futureResult.whenComplete { _ in self.state.withLock { $0.inFlight -= count } }
    }

    /// Returns once the connection is closing (at once if it is). Frames are written by the
    /// event loop, not by the caller. Cancelling the waiting task closes the connection.
    public func waitClosed() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let closed = state.withLock { s -> Bool in
                    if s.closing != nil { return true }
                    s.closeWaiter = c
                    return false
                }
                if closed { c.resume() }
            }
        } onCancel: {
            close(.peerClosed)
        }
    }

    /// Marks the connection closing: nothing more is queued, what is queued is still written
    /// (unless the client is a slow consumer), and `waitClosed` returns so the server sends the
    /// close frame. The first reason wins.
    public func close(_ reason: CloseReason) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.closing == nil else { return nil }
            s.closing = reason
            // A slow consumer's queue is dropped at once; any other close still writes it.
            if reason == .slowConsumer { s.pending = [] }
            defer { s.closeWaiter = nil }
            return s.closeWaiter
        }
        waiter?.resume()
    }
}

/// A `Mutex` in a class, for state several tasks of one connection (or the server) share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R { try mutex.withLock(body) }
}
