import Foundation
import Messaging

#if canImport(Glibc)
import Glibc
#endif

/// A private redis-server for one test: a free loopback port, its own temp data dir, AOF with
/// `appendfsync always`, no RDB snapshots. It can be killed and started again on the same port and
/// data dir (reconnect and durability tests).
public final class RedisTestServer: @unchecked Sendable {
    // @unchecked Sendable: `process` is the only mutable state and is guarded by `lock`.
    public let port: Int
    public let directory: URL
    private let lock = NSLock()
    private var process: Process?

    private init(port: Int, directory: URL) {
        self.port = port
        self.directory = directory
    }

    /// Client settings for this server; a short connect timeout keeps failure tests quick.
    public var configuration: RedisConfiguration {
        RedisConfiguration(host: "127.0.0.1", port: port, connectTimeout: .seconds(1), commandTimeout: .seconds(5))
    }

    /// Starts a fresh server and waits until it answers PING.
    public static func start() async throws -> RedisTestServer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("redis-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let server = RedisTestServer(port: try LoopbackPort.free(), directory: directory)
        do {
            try await server.launch()
        } catch {
            await server.teardown()
            throw error
        }
        return server
    }

    /// A Redis Streams event log on a fresh server, stopped and deleted on teardown.
    public static func startEventLog() async throws -> TestBackend {
        let server = try await start()
        do {
            let log = try await RedisStreamsEventLog(configuration: RedisStreamsConfiguration(redis: server.configuration))
            return TestBackend(log: log, teardown: {
                await log.shutdown()
                await server.teardown()
            })
        } catch {
            await server.teardown()
            throw error
        }
    }

    /// Starts redis-server on this port and data dir (again, after `kill`/`stop`).
    public func launch() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--daemonize", "no", "--protected-mode", "no",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lock.withLock { self.process = process }
        RedisServerReaper.shared.register(pid: process.processIdentifier, directory: directory.path)
        try await waitForPing()
    }

    /// Sends SIGKILL (no shutdown, no final fsync) and waits for the process to exit.
    public func kill() async {
        await signal(SIGKILL)
    }

    /// Stops the server and removes its data dir. SIGKILL, because children of the test process
    /// inherit a signal mask that blocks SIGTERM; the data is disposable anyway.
    public func teardown() async {
        await kill()
        try? FileManager.default.removeItem(at: directory)
        RedisServerReaper.shared.forget(directory: directory.path)
    }

    private func signal(_ sig: Int32) async {
        guard let process = lock.withLock({ () -> Process? in
            defer { self.process = nil }
            return self.process
        }) else { return }
        if process.isRunning { Glibc.kill(process.processIdentifier, sig) }
        RedisServerReaper.shared.forget(pid: process.processIdentifier)
        for _ in 0..<1000 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private func waitForPing() async throws {
        var probe = configuration
        probe.connectTimeout = .milliseconds(200)
        probe.commandTimeout = .milliseconds(500)
        for _ in 0..<500 {
            if let connection = try? RedisConnection(configuration: probe),
               let reply = try? connection.command(["PING"]), reply == .status("PONG")
            {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw MessagingError(.connectionFailed, "redis-server on port \(port) did not answer PING")
    }
}

/// Kills servers and removes data dirs whose teardown never ran: the conformance suite tears
/// down in `defer { Task { ... } }`, which the test process may exit before running.
private final class RedisServerReaper: @unchecked Sendable {
    // @unchecked Sendable: `pids` and `directories` are only touched inside `lock`.
    static let shared = RedisServerReaper()
    private let lock = NSLock()
    private var pids: Set<Int32> = []
    private var directories: Set<String> = []

    private init() {
        atexit { RedisServerReaper.shared.reapAll() }
    }

    func register(pid: Int32, directory: String) {
        lock.withLock {
            pids.insert(pid)
            directories.insert(directory)
        }
    }

    func forget(pid: Int32) {
        _ = lock.withLock { pids.remove(pid) }
    }

    func forget(directory: String) {
        _ = lock.withLock { directories.remove(directory) }
    }

    private func reapAll() {
        let (pids, directories) = lock.withLock { (self.pids, self.directories) }
        for pid in pids {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        for directory in directories {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
