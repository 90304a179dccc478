/// An HTTP request as the API core sees it: the raw query string and body exactly as sent (the
/// signature covers those bytes), headers with lowercase names, and the client's address.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    /// Everything after `?`, still percent-encoded; empty when there is none.
    public var rawQuery: String
    public var rawBody: [UInt8]
    public var headers: [String: String]
    public var clientIP: String

    public init(method: String, path: String, rawQuery: String = "", rawBody: [UInt8] = [], headers: [String: String] = [:], clientIP: String = "127.0.0.1") {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.rawBody = rawBody
        self.headers = headers
        self.clientIP = clientIP
    }
}

/// An answer: status, headers (in order) and the JSON body.
public struct APIResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String

    public init(status: Int = 200, headers: [(String, String)] = [], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(error: APIError) {
        self.init(status: error.status, headers: error.headers, body: error.body)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
