import Messaging

/// The event-log backends the conformance suite runs against.
enum BackendKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case redis
    case kafkaMock

    var description: String { rawValue }

    /// A fresh backend on loopback (its own redis-server, or its own librdkafka mock cluster).
    func start() async throws -> TestBackend {
        switch self {
        case .redis: return try await RedisTestServer.startEventLog()
        case .kafkaMock: return try await KafkaMockTestCluster.startEventLog()
        }
    }
}

/// A started backend and how to stop it.
struct TestBackend: Sendable {
    let log: any EventLog
    let teardown: @Sendable () async -> Void
}

/// Polls until `count` records arrived or `deadline` passed (bounded, never hangs a test).
func drain(_ consumer: any EventConsumer, count: Int, within deadline: Duration = .seconds(20)) async throws -> [ConsumedRecord] {
    var records: [ConsumedRecord] = []
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: deadline)
    while records.count < count && clock.now < end {
        records += try await consumer.poll(maxRecords: count - records.count, timeout: .milliseconds(200))
    }
    return records
}

/// A topic name no other test uses.
func uniqueTopic(_ base: String) -> String {
    "\(base).\(UInt32.random(in: 0...UInt32.max))"
}
