import CRdKafka
import Foundation

/// A dedicated thread serving librdkafka's callbacks (delivery reports, logs, errors) with
/// `rd_kafka_poll`, so blocking waits never occupy the Swift cooperative pool.
///
/// `@unchecked Sendable`: `stopped` is guarded by `lock`; the handle is thread-safe.
final class KafkaPollLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    /// Starts polling `handle` every 50 ms until `stop()`. The thread keeps the handle alive.
    init(handle: RdKafkaHandle, name: String) {
        let thread = Thread { [self, handle] in
            while !self.isStopped {
                rd_kafka_poll(handle.rk, 50)
            }
            self.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Asks the thread to stop after its current poll (returns at once).
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    /// Stops the thread and waits until it has exited. Blocking: call off the cooperative pool.
    func stopAndWait() {
        stop()
        finished.wait()
        finished.signal()  // a second waiter (e.g. deinit after close) must not block
    }
}
