import OrderRouterCore

/// A live method a market-stream client sent (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS,
/// SET_PROPERTY, GET_PROPERTY), or the error reply it earns, by Binance's rules.
public enum StreamControl: Equatable, Sendable {
    case subscribe(id: String, streams: [MarketStream])
    case unsubscribe(id: String, streams: [MarketStream])
    case list(id: String)
    case setCombined(id: String, Bool)
    case getCombined(id: String)
    /// Reply with this error and keep the connection.
    case error(id: String, code: Int, msg: String)

    static let methods = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"

    /// Reads one text message. `id` values are JSON text ("1", "\"abc\"", "null") so replies echo
    /// them exactly: Binance takes a 64-bit signed integer, an alphanumeric string of at most 36
    /// characters, or null.
    public static func parse(_ text: String) -> StreamControl {
        let value: JSONValue
        switch JSONValue.parse(text) {
        case .success(let v): value = v
        case .failure(let e):
            return .error(id: "null", code: 3, msg: "Invalid JSON: \(e.message) at line \(e.line) column \(e.column)")
        }
        guard case .object = value else {
            return .error(id: "null", code: 2, msg: "Invalid request: expected an object")
        }
        guard let id = requestID(value["id"]) else {
            return .error(id: "null", code: 2, msg: "Invalid request: request ID must be an unsigned integer")
        }
        guard let methodValue = value["method"] else {
            return .error(id: id, code: 2, msg: "Invalid request: missing field `method`")
        }
        guard case .string(let method) = methodValue else {
            return .error(id: id, code: 2, msg: "Invalid request: invalid type for `method`, expected one of \(methods)")
        }
        let params: [JSONValue]
        switch value["params"] {
        case nil, .some(.null): params = []
        case .some(.array(let items)): params = items
        default: return .error(id: id, code: 2, msg: "Invalid request: invalid type for `params`, expected a sequence")
        }
        switch method {
        case "SUBSCRIBE", "UNSUBSCRIBE":
            var streams: [MarketStream] = []
            for p in params {
                guard case .string(let name) = p, let stream = MarketStream(name: name) else {
                    return .error(id: id, code: 2, msg: "Invalid request: invalid stream")
                }
                streams.append(stream)
            }
            return method == "SUBSCRIBE" ? .subscribe(id: id, streams: streams) : .unsubscribe(id: id, streams: streams)
        case "LIST_SUBSCRIPTIONS":
            return .list(id: id)
        case "SET_PROPERTY":
            guard params.count <= 2 else { return .error(id: id, code: 2, msg: "Invalid request: too many parameters") }
            guard let first = params.first, case .string(let name) = first else {
                return .error(id: id, code: 2, msg: "Invalid request: property name must be a string")
            }
            guard name == "combined" else { return .error(id: id, code: 0, msg: "Unknown property") }
            guard params.count == 2, case .bool(let flag) = params[1] else {
                return .error(id: id, code: 1, msg: "Invalid value type: expected Boolean")
            }
            return .setCombined(id: id, flag)
        case "GET_PROPERTY":
            guard params.count <= 1 else { return .error(id: id, code: 2, msg: "Invalid request: too many parameters") }
            guard let first = params.first, case .string(let name) = first else {
                return .error(id: id, code: 2, msg: "Invalid request: property name must be a string")
            }
            guard name == "combined" else { return .error(id: id, code: 0, msg: "Unknown property") }
            return .getCombined(id: id)
        default:
            return .error(id: id, code: 2, msg: "Invalid request: unknown variant `\(method)`, expected one of \(methods)")
        }
    }

    /// The id as JSON text when Binance accepts it: 64-bit signed integer, a string of at most 36
    /// letters, digits, `-` and `_` (a UUID fits: binance-sdk-spot sends `uuid4()`), or null.
    static func requestID(_ value: JSONValue?) -> String? {
        switch value {
        case .some(.null): return "null"
        case .some(.int(let n)): return String(n)
        case .some(.string(let s)):
            guard s.utf8.count <= 36, s.utf8.allSatisfy({
                ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95
            })
            else { return nil }
            var w = JSONWriter()
            w.string(s)
            return w.text
        default:
            return nil
        }
    }

    /// A success reply: `{"result":<json>,"id":<id>}`.
    public static func result(_ json: String, id: String) -> String { "{\"result\":\(json),\"id\":\(id)}" }

    /// An error reply: `{"error":{"code":N,"msg":"..."},"id":<id>}`.
    public static func errorReply(code: Int, msg: String, id: String) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.key("error")
        w.objectStart()
        w.field("code", code)
        w.field("msg", msg)
        w.objectEnd()
        w.key("id")
        w.raw(id)
        w.objectEnd()
        return w.text
    }

    /// LIST_SUBSCRIPTIONS' result: the names, in subscription order.
    public static func list(_ streams: [MarketStream]) -> String {
        var w = JSONWriter()
        w.arrayStart()
        for s in streams { w.string(s.name) }
        w.arrayEnd()
        return w.text
    }
}
