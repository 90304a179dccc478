/// An infrastructure fault inside the router (Redis answered something unexpected, a projection
/// does not decode). Answered as -1000 and logged; never a business rejection.
public struct RouterFault: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var file: String
    public var line: Int
    public var isRetriable: Bool

    public init(_ description: String, isRetriable: Bool = false, file: String = #fileID, line: Int = #line) {
        self.description = description
        self.file = file
        self.line = line
        self.isRetriable = isRetriable
    }
}
