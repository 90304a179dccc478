import ExchangeProtocol
import Foundation
import Messaging
import ServiceKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The repository's root (tests run real executables and read `deploy/` files from it).
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A product built next to the test bundle (`swift build --build-tests` builds them all).
public func builtExecutable(_ name: String) throws -> String {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [directory.appendingPathComponent(name).path, repositoryRoot.appendingPathComponent(".build/debug/\(name)").path]
    where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    throw NotBuilt(name: name)
}

public struct NotBuilt: Error, CustomStringConvertible {
    public var name: String
    public var description: String { "\(name) is not built; run `swift build --build-tests` first" }
}

/// A service executable as a child process with a clean signal state.
public final class ChildService: Sendable {
    public let executable: String
    public let arguments: [String]
    public let environment: [String: String]
    public let logFile: String
    private let pid = Mutex<pid_t?>(nil)

    public init(executable: String, arguments: [String], environment: [String: String], logFile: String) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logFile = logFile
    }

    public func start() throws {
        let started = try Spawn.launch(
            executable: executable, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new }, logFile: logFile)
        pid.withLock { $0 = started }
    }

    public func kill() async {
        guard let running = pid.withLock({ $0.take() }) else { return }
        Glibc.kill(running, SIGKILL)
        _ = await Spawn.waitForExit(running)
    }

    /// SIGTERM, then SIGKILL after 20 s; the exit status.
    public func stop() async -> Int32 {
        guard let running = pid.withLock({ $0.take() }) else { return -1 }
        Glibc.kill(running, SIGTERM)
        return await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await Spawn.waitForExit(running) }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = await group.next()!
            if first == nil {
                Glibc.kill(running, SIGKILL)
                return await group.next()! ?? -9
            }
            group.cancelAll()
            return first!
        }
    }
}

/// Collects the `RequestOutcome`s published on a reply channel, by request id.
public final class ReplyCollector: Sendable {
    private let subscriber: RedisSubscriber
    public let channel: String
    private let outcomes = Mutex<[String: [Exchange_V1_RequestOutcome]]>([:])
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    public init(configuration: RedisConfiguration, channel: String) {
        self.channel = channel
        subscriber = RedisSubscriber(configuration: configuration, channels: [channel], bufferSize: 100_000)
        let consuming = Task { [subscriber, self] in
            for await message in subscriber {
                if let outcome = try? Exchange_V1_RequestOutcome(serializedBytes: message.payload) {
                    self.outcomes.withLock { $0[outcome.requestID, default: []].append(outcome) }
                }
            }
        }
        task.withLock { $0 = consuming }
    }

    /// Publishes a probe until it comes back, so nothing the service publishes later is missed.
    /// False if the subscription never came up.
    @discardableResult
    public func waitUntilSubscribed(_ configuration: RedisConfiguration) async throws -> Bool {
        let client = RedisClient(configuration: configuration)
        var probe = Exchange_V1_RequestOutcome()
        probe.requestID = "probe"
        let end = ContinuousClock.now + .seconds(10)
        while !ids.contains("probe") && ContinuousClock.now < end {
            _ = try await client.send(["PUBLISH", .string(channel), .bytes(EnvelopeCodec.encode(message: probe))])
            try await Task.sleep(for: .milliseconds(50))
        }
        await client.close()
        return ids.contains("probe")
    }

    public var ids: Set<String> { outcomes.withLock { Set($0.keys) } }

    public func outcomes(of requestID: String) -> [Exchange_V1_RequestOutcome] { outcomes.withLock { $0[requestID] ?? [] } }

    public func waitFor(_ wanted: Set<String>, within limit: Duration) async -> Set<String> {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if ids.isSuperset(of: wanted) { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return ids
    }

    public func close() {
        subscriber.close()
        task.withLock { $0?.cancel() }
    }
}

/// An event log on `backend` for tests that run service executables: Redis Streams on `redis`, or
/// a fresh three-broker librdkafka mock cluster (kept alive by this value). `url` is what a
/// service takes as `--event-log`.
public struct ServiceTestLog: Sendable {
    public let log: any EventLog
    public let url: String
    private let cluster: KafkaMockCluster?

    public init(_ backend: BackendKind, redis: RedisTestServer) async throws {
        switch backend {
        case .redis:
            log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: redis.configuration))
            url = "redis://127.0.0.1:\(redis.port)"
            cluster = nil
        case .kafkaMock:
            let mock = try KafkaMockCluster(brokers: 3)
            log = try KafkaEventLog(configuration: KafkaMockTestCluster.configuration(mock), mockCluster: mock)
            url = "kafka://\(mock.bootstrapServers)"
            cluster = mock
        }
    }

    public func shutdown() async {
        await log.shutdown()
        withExtendedLifetime(cluster) {}
    }
}
