import Messaging

/// A started event-log backend and how to stop it.
public struct TestBackend: Sendable {
    public let log: any EventLog
    public let teardown: @Sendable () async -> Void

    public init(log: any EventLog, teardown: @escaping @Sendable () async -> Void) {
        self.log = log
        self.teardown = teardown
    }

    /// Runs `body` with the backend and tears it down afterwards, also when `body` throws.
    public func use<T>(_ body: (any EventLog) async throws -> T) async throws -> T {
        do {
            let result = try await body(log)
            await teardown()
            return result
        } catch {
            await teardown()
            throw error
        }
    }
}

/// Polls until `count` records arrived or `deadline` passed (bounded, never hangs a test).
public func drain(_ consumer: any EventConsumer, count: Int, within deadline: Duration = .seconds(20)) async throws -> [ConsumedRecord] {
    var records: [ConsumedRecord] = []
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: deadline)
    while records.count < count && clock.now < end {
        records += try await consumer.poll(maxRecords: count - records.count, timeout: .milliseconds(200))
    }
    return records
}

/// A topic name no other test uses.
public func uniqueTopic(_ base: String) -> String {
    "\(base).\(UInt32.random(in: 0...UInt32.max))"
}
