import ArgumentParser
import Foundation

/// A host and port a service listens on for clients (REST, WebSocket), resolved like every other
/// setting: flag, then `<PREFIX>_HOST`/`<PREFIX>_PORT` in the environment, then the default.
public struct ListenAddress: Sendable, Hashable {
    public var host: String
    public var port: Int

    /// `environmentPrefix` is e.g. `EXCHANGE_API`; the host defaults to loopback.
    public static func resolve(
        host: String?, port: Int?, environmentPrefix: String, defaultPort: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ListenAddress {
        let hostValue = host ?? environment["\(environmentPrefix)_HOST"] ?? "127.0.0.1"
        let portText = port.map(String.init) ?? environment["\(environmentPrefix)_PORT"] ?? String(defaultPort)
        guard let portValue = Int(portText), (0...65535).contains(portValue) else {
            throw ValidationError("bad \(environmentPrefix)_PORT \(portText)")
        }
        return ListenAddress(host: hostValue, port: portValue)
    }
}
