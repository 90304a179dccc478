/// An infrastructure fault of the messaging layer (a business rejection is never thrown).
public struct MessagingError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case connectionFailed
        case timeout
        case deliveryFailed
        case protocolError
        case unknownTopic
        case invalidArgument
        case closed
        case backendError
    }

    public var code: Code
    public var reason: String
    public var file: String
    public var line: Int
    /// Whether the same call may succeed if tried again (e.g. a broker or Redis was briefly away).
    public var isRetriable: Bool

    public init(_ code: Code, _ reason: String, isRetriable: Bool = false, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.isRetriable = isRetriable
        self.file = file
        self.line = line
    }

    public var description: String { "MessagingError.\(code.rawValue): \(reason) (\(file):\(line))" }
}
