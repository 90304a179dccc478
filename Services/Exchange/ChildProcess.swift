import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// One child process of `exchange up`: started, restarted with capped exponential backoff when it
/// dies, stopped with SIGTERM (then SIGKILL after `stopTimeout`) on graceful shutdown. Output goes
/// to a log file under the data directory.
struct ChildProcess: Service {
    let name: String
    let executable: String
    let arguments: [String]
    let environment: [String: String]
    let logFile: String
    let logger: Logger
    var stopTimeout: Duration = .seconds(10)

    func run() async throws {
        var delay = Duration.seconds(1)
        var restarts = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            let status = try await runOnce()
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            // A child that stayed up a minute earned a fresh backoff.
            if ContinuousClock.now - started > .seconds(60) { delay = .seconds(1) }
            restarts += 1
            logger.error("child exited; restarting", metadata: [
                "exchange.child": "\(name)", "exchange.status": "\(status)", "exchange.restarts": "\(restarts)",
                "exchange.retry_in": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }

    /// Runs the process until it exits; returns its termination status.
    private func runOnce() async throws -> Int32 {
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        output.seekToEndOfFile()
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let exited = AsyncStream.makeStream(of: Int32.self)
        let running = ExitFlag()
        process.terminationHandler = { finished in
            running.markExited()
            exited.continuation.yield(finished.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()
        logger.info("child started", metadata: ["exchange.child": "\(name)", "exchange.pid": "\(process.processIdentifier)"])
        let pid = process.processIdentifier
        return await withGracefulShutdownHandler {
            var status: Int32 = -1
            for await value in exited.stream { status = value }
            return status
        } onGracefulShutdown: {
            kill(pid, SIGTERM)
            let deadline = DispatchTime.now() + .seconds(Int(stopTimeout.components.seconds))
            DispatchQueue.global().asyncAfter(deadline: deadline) {
                if running.isRunning { kill(pid, SIGKILL) }
            }
        }
    }
}

/// Whether a child is still running, shared with the SIGKILL timer (which must not signal a pid
/// the system may already have reused).
final class ExitFlag: Sendable {
    private let exited = Mutex(false)
    func markExited() { exited.withLock { $0 = true } }
    var isRunning: Bool { !exited.withLock { $0 } }
}
