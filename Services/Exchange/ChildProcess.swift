import Foundation
import Logging
import ServiceKit
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
        var backoff = Backoff(initial: .seconds(1), cap: .seconds(30))
        var restarts = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            let status = try await runOnce()
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            // A child that stayed up a minute earned a fresh backoff.
            if ContinuousClock.now - started > .seconds(60) { backoff.reset() }
            let delay = backoff.next()
            restarts += 1
            logger.error("child exited; restarting", metadata: [
                "exchange.child": "\(name)", "exchange.status": "\(status)", "exchange.restarts": "\(restarts)",
                "exchange.retry_in": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
        }
    }

    /// Runs the process until it exits; returns its exit status.
    private func runOnce() async throws -> Int32 {
        let pid = try Spawn.launch(
            executable: executable, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
            logFile: logFile)
        logger.info("child started", metadata: ["exchange.child": "\(name)", "exchange.pid": "\(pid)"])
        let running = ExitFlag()
        let timeout = stopTimeout
        let name = self.name
        let logger = self.logger
        return await withGracefulShutdownHandler {
            let status = await Spawn.waitForExit(pid)
            running.markExited()
            return status
        } onGracefulShutdown: {
            kill(pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(timeout.components.seconds))) {
                // Checked under the flag: after the child is reaped its pid may belong to another process.
                if running.isRunning {
                    logger.warning("child ignored SIGTERM; killing", metadata: ["exchange.child": "\(name)"])
                    kill(pid, SIGKILL)
                }
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
