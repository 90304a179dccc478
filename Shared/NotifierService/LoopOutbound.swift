import NIOCore
import NotifierCore
import Synchronization

/// The connections of one event loop that have frames waiting, written out by one task on that
/// loop however many of them there are.
///
/// One `eventLoop.execute` per connection per message made the fan-out's cost grow with the
/// connection count twice over (a closure, a lock on the loop's task queue and often a wake-up
/// each); here a message to 10,000 connections costs each loop one task, and every message that
/// arrives before the loop gets to it rides along in the same pass.
///
/// A market message reaches a loop as one `Broadcast`: its frame and the loop's share of the
/// stream's subscribers. The loop queues the frame on each of them itself, so the thread that
/// read the message from Redis touches neither those connections nor their locks, and each
/// loop has a frame buffer of its own: with one buffer shared by every connection of every
/// loop, its reference count bounced between the cores on every queue and write, and the
/// retains and releases were over a third of the notifier's CPU at 1,000 clients.
final class LoopOutbound: Sendable {
    /// One market message for this loop's subscribers of `stream`.
    struct Broadcast: Sendable {
        /// The raw frame (`ByteBuffer(webSocketText: text)`), this loop's own copy.
        let frame: ByteBuffer
        let text: String
        let stream: MarketStream
        let connections: [ClientConnection]
    }

    struct State {
        var ready: [ClientConnection] = []
        var broadcasts: [Broadcast] = []
        var scheduled = false
    }

    let eventLoop: any EventLoop
    private let state = Mutex(State())

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Event loops live as long as their group (the process, for the server's singleton group),
    /// so one entry per loop is kept for good.
    private static let registry = Mutex<[ObjectIdentifier: LoopOutbound]>([:])

    /// The scheduler of `eventLoop`.
    static func of(_ eventLoop: any EventLoop) -> LoopOutbound {
        registry.withLock { loops in
            if let existing = loops[ObjectIdentifier(eventLoop)] { return existing }
            let made = LoopOutbound(eventLoop: eventLoop)
            loops[ObjectIdentifier(eventLoop)] = made
            return made
        }
    }

    /// `connection` has frames to write (it asks once until its drain has run).
    func ready(_ connection: ClientConnection) {
        let schedule = state.withLock { s -> Bool in
            s.ready.append(connection)
            return Self.markScheduled(&s)
        }
        if schedule { eventLoop.execute { self.run() } }
    }

    /// Queues `broadcast.frame` (or its combined form) on each of `broadcast.connections`, on the loop.
    func broadcast(_ broadcast: Broadcast) {
        let schedule = state.withLock { s -> Bool in
            s.broadcasts.append(broadcast)
            return Self.markScheduled(&s)
        }
        if schedule { eventLoop.execute { self.run() } }
    }

    private static func markScheduled(_ s: inout State) -> Bool {
        guard !s.scheduled else { return false }
        s.scheduled = true
        return true
    }

    /// On the loop: queues the broadcasts, then every connection ready so far writes its queue
    /// with one flush. A connection made ready while this runs schedules the next pass.
    private func run() {
        let (ready, broadcasts) = state.withLock { s -> ([ClientConnection], [Broadcast]) in
            s.scheduled = false
            defer {
                s.ready = []
                s.broadcasts = []
            }
            return (s.ready, s.broadcasts)
        }
        var batch = ready
        for b in broadcasts {
            var combined = CombinedFrame(stream: b.stream, text: b.text)
            for connection in b.connections where connection.queueOnLoop(raw: b.frame, combined: { combined.frame() }) {
                batch.append(connection)
            }
        }
        for connection in batch { connection.drain() }
    }
}

/// A market message's combined-stream frame (`{"stream":..,"data":..}`), built on first use and
/// then shared by every combined subscriber it goes to.
struct CombinedFrame {
    let stream: MarketStream
    let text: String
    private var made: ByteBuffer?

    init(stream: MarketStream, text: String) {
        self.stream = stream
        self.text = text
    }

    mutating func frame() -> ByteBuffer {
        if let made { return made }
        let frame = ByteBuffer(webSocketText: MarketPayloads.combined(stream: stream.name, data: text))
        made = frame
        return frame
    }
}
