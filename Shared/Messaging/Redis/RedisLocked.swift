import Foundation

/// A value guarded by an `NSLock` (used instead of `Synchronization.Mutex`, which needs macOS 15
/// while the package still supports macOS 14).
final class RedisLocked<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read or written inside `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
