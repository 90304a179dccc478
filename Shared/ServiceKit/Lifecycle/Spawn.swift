import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts child processes with posix_spawn, so that they begin with a clean signal state: every
/// signal at its default disposition and none blocked. (A process that uses swift-service-lifecycle
/// ignores SIGINT/SIGTERM and its threads block signals; Foundation's `Process` passes both on,
/// and a child started that way would never see the SIGTERM that asks it to stop.) Children get a
/// process group of their own, so a Ctrl-C in the terminal reaches only the supervisor, which then
/// stops them in order. Used by `exchange up` and by tests that crash services on purpose.
public enum Spawn {
    /// Starts `executable` with `arguments`, the environment `environment`, stdin from /dev/null
    /// and stdout+stderr appended to `logFile`. Returns the pid.
    public static func launch(executable: String, arguments: [String], environment: [String: String], logFile: String) throws -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigemptyset(&allSignals)
        for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&allSignals, Int32(signal)) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, argv, envp)
        guard result == 0 else {
            throw SpawnError(reason: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits (on a thread of its own, off the cooperative pool) until `pid` exits; returns its
    /// exit code, or 128 + the signal that killed it.
    public static func waitForExit(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let signaled = (status & 0x7f) != 0
                continuation.resume(returning: signaled ? 128 + (status & 0x7f) : (status >> 8) & 0xff)
            }
            thread.name = "wait-\(pid)"
            thread.start()
        }
    }
}

/// A child could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
