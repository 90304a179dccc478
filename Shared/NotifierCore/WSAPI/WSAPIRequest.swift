import OrderRouterCore

/// One WebSocket API request (`/ws-api/v3`): `{"id":..,"method":"..","params":{..}}`.
public struct WSAPIRequest: Sendable, Equatable {
    /// The id as JSON text, echoed in the response ("null" when absent or unusable).
    public var id: String
    public var method: String
    /// Parameters in the order sent, values as text (numbers and booleans as written).
    public var params: [(String, String)]

    public static func == (a: WSAPIRequest, b: WSAPIRequest) -> Bool {
        a.id == b.id && a.method == b.method && a.params.count == b.params.count
            && zip(a.params, b.params).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// A request that cannot be served: the error to answer and the id to answer it with.
    public struct Failure: Error, Sendable {
        public var id: String
        public var error: APIError
    }

    /// A parameter's value.
    public func param(_ name: String) -> String? { params.first { $0.0 == name }?.1 }

    /// Parses a request; a malformed one is the error response to send (with whatever id was readable).
    public static func parse(_ text: String) -> Result<WSAPIRequest, Failure> {
        guard case .success(let value) = JSONValue.parse(text), case .object = value else {
            return .failure(Failure(id: "null", error: APIError(status: 400, code: -1135, msg: "Invalid JSON Request; JSON sent is not valid.")))
        }
        let id: String
        switch value["id"] {
        case .some(.int(let n)): id = String(n)
        case .some(.string(let s)):
            var w = JSONWriter()
            w.string(s)
            id = w.text
        case nil, .some(.null): id = "null"
        default:
            return .failure(Failure(id: "null", error: APIError(status: 400, code: -1102, msg: "Mandatory parameter 'id' was not sent, was empty/null, or malformed.")))
        }
        guard case .some(.string(let method)) = value["method"] else {
            return .failure(Failure(id: id, error: APIError(status: 400, code: -1102, msg: "Mandatory parameter 'method' was not sent, was empty/null, or malformed.")))
        }
        var params: [(String, String)] = []
        switch value["params"] {
        case nil, .some(.null): break
        case .some(.object(let members)):
            for (name, v) in members {
                switch v {
                case .string(let s): params.append((name, s))
                case .int(let n): params.append((name, String(n)))
                case .number(let s): params.append((name, s))
                case .bool(let b): params.append((name, b ? "true" : "false"))
                default:
                    return .failure(Failure(id: id, error: APIError(status: 400, code: -1100, msg: "Illegal characters found in parameter '\(name)'.")))
                }
            }
        default:
            return .failure(Failure(id: id, error: APIError(status: 400, code: -1135, msg: "Invalid 'params' in JSON request; expected an object.")))
        }
        return .success(WSAPIRequest(id: id, method: method, params: params))
    }

    /// The text a signature covers on the WebSocket API: every parameter but `signature`, sorted
    /// by name, as `name=value` joined with `&` — with `signature` appended last, the form the
    /// router's REST authenticator reads (it drops `signature` from the signed payload).
    public var signedQuery: String {
        let sorted = params.filter { $0.0 != "signature" }.sorted { $0.0 < $1.0 }
        var text = sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        if let signature = param("signature") {
            // Base64 '+' would read as a space after form decoding; the authenticator maps it back.
            text += (text.isEmpty ? "" : "&") + "signature=" + signature
        }
        return text
    }
}

/// Responses of the WebSocket API, in Binance's envelope.
public enum WSAPIResponse {
    /// The REQUEST_WEIGHT window reported in `rateLimits`.
    public struct Weight: Sendable, Equatable {
        public var limit: Int
        public var count: Int
        public init(limit: Int, count: Int) {
            self.limit = limit
            self.count = count
        }
    }

    /// `{"id":..,"status":200,"result":<json>,"rateLimits":[..]}`.
    public static func result(id: String, json: String, weight: Weight?) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.key("id"); w.raw(id)
        w.field("status", 200)
        w.key("result"); w.raw(json)
        if let weight { writeRateLimits(weight, to: &w) }
        w.objectEnd()
        return w.text
    }

    /// `{"id":..,"status":4xx,"error":{"code":..,"msg":".."},"rateLimits":[..]}`.
    public static func error(id: String, _ error: APIError, weight: Weight?) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.key("id"); w.raw(id)
        w.field("status", error.status)
        w.key("error")
        w.objectStart()
        w.field("code", error.code)
        w.field("msg", error.msg)
        w.objectEnd()
        if let weight { writeRateLimits(weight, to: &w) }
        w.objectEnd()
        return w.text
    }

    static func writeRateLimits(_ weight: Weight, to w: inout JSONWriter) {
        w.key("rateLimits")
        w.arrayStart()
        w.objectStart()
        w.field("rateLimitType", "REQUEST_WEIGHT")
        w.field("interval", "MINUTE")
        w.field("intervalNum", 1)
        w.field("limit", weight.limit)
        w.field("count", weight.count)
        w.objectEnd()
        w.arrayEnd()
    }

    /// session.logon / session.status / session.logout's result.
    public static func session(apiKey: String?, authorizedSince: Int64?, connectedSince: Int64, userDataStream: Bool, serverTime: Int64) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.key("apiKey")
        if let apiKey { w.string(apiKey) } else { w.null() }
        w.key("authorizedSince")
        if let authorizedSince { w.int(authorizedSince) } else { w.null() }
        w.field("connectedSince", connectedSince)
        w.field("returnRateLimits", true)
        w.field("serverTime", serverTime)
        w.field("userDataStream", userDataStream)
        w.objectEnd()
        return w.text
    }
}
