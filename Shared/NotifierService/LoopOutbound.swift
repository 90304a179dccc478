import NIOCore
import Synchronization

/// The connections of one event loop that have frames waiting, written out by one task on that
/// loop however many of them there are.
///
/// One `eventLoop.execute` per connection per message made the fan-out's cost grow with the
/// connection count twice over (a closure, a lock on the loop's task queue and often a wake-up
/// each); here a message to 10,000 connections costs each loop one task, and every message that
/// arrives before the loop gets to it rides along in the same pass.
final class LoopOutbound: Sendable {
    struct State {
        var ready: [ClientConnection] = []
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
            guard !s.scheduled else { return false }
            s.scheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.run() } }
    }

    /// On the loop: every connection ready so far writes its queue with one flush. A connection
    /// made ready while this runs schedules the next pass.
    private func run() {
        let batch = state.withLock { s -> [ClientConnection] in
            s.scheduled = false
            let batch = s.ready
            s.ready = []
            return batch
        }
        for connection in batch { connection.drain() }
    }
}
