/// A refusal the API answers with Binance's `{"code":...,"msg":"..."}` and HTTP status.
///
/// A business rejection is data, not a thrown infrastructure fault: handlers return it.
public struct APIError: Error, Sendable, Equatable {
    public var status: Int
    public var code: Int
    public var msg: String
    /// Extra JSON members after `msg` (cancelReplace's `data`), already serialised; nil for none.
    public var dataJSON: String?
    /// Extra response headers (Retry-After).
    public var headers: [(String, String)] = []

    public init(status: Int = 400, code: Int, msg: String, dataJSON: String? = nil) {
        self.status = status
        self.code = code
        self.msg = msg
        self.dataJSON = dataJSON
    }

    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.msg == rhs.msg && lhs.dataJSON == rhs.dataJSON
    }

    /// The body Binance sends.
    public var body: String {
        var writer = JSONWriter()
        writer.objectStart()
        writer.key("code"); writer.int(code)
        writer.key("msg"); writer.string(msg)
        if let dataJSON { writer.key("data"); writer.raw(dataJSON) }
        writer.objectEnd()
        return writer.text
    }

    // MARK: Binance's codes (https://developers.binance.com/docs/binance-spot-api-docs/errors)

    public static let unknown = APIError(status: 500, code: -1000, msg: "An unknown error occurred while processing the request.")
    public static let unauthorized = APIError(status: 401, code: -1002, msg: "You are not authorized to execute this request.")
    /// A 5xx, as Binance sends it: the request was appended, so its execution status is unknown.
    public static let timeout = APIError(
        status: 503, code: -1007,
        msg: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.")
    public static func tooManyOrders(limit: Int, interval: String) -> APIError {
        APIError(status: 429, code: -1015, msg: "Too many new orders; current limit is \(limit) orders per \(interval).")
    }
    public static let unsupportedOperation = APIError(code: -1020, msg: "This operation is not supported.")
    public static let timestampAhead = APIError(code: -1021, msg: "Timestamp for this request was 1000ms ahead of the server's time.")
    public static let timestampOutside = APIError(code: -1021, msg: "Timestamp for this request is outside of the recvWindow.")
    public static let invalidSignature = APIError(code: -1022, msg: "Signature for this request is not valid.")
    public static func illegalChars(_ name: String, pattern: String) -> APIError {
        APIError(code: -1100, msg: "Illegal characters found in parameter '\(name)'; legal range is '\(pattern)'.")
    }
    public static func illegalChars(_ name: String) -> APIError {
        APIError(code: -1100, msg: "Illegal characters found in parameter '\(name)'.")
    }
    public static let duplicateParameter = APIError(code: -1101, msg: "Duplicate values for a parameter detected.")
    public static func mandatory(_ name: String) -> APIError {
        APIError(code: -1102, msg: "Mandatory parameter '\(name)' was not sent, was empty/null, or malformed.")
    }
    public static func eitherMandatory(_ a: String, _ b: String) -> APIError {
        APIError(code: -1102, msg: "Param '\(a)' or '\(b)' must be sent, but both were empty/null!")
    }
    public static let unknownParameter = APIError(code: -1103, msg: "An unknown parameter was sent.")
    public static func unreadParameters(read: Int, sent: Int) -> APIError {
        APIError(code: -1104, msg: "Not all sent parameters were read; read '\(read)' parameter(s) but was sent '\(sent)'.")
    }
    public static func emptyParameter(_ name: String) -> APIError {
        APIError(code: -1105, msg: "Parameter '\(name)' was empty.")
    }
    public static func notRequired(_ name: String) -> APIError {
        APIError(code: -1106, msg: "Parameter '\(name)' sent when not required.")
    }
    public static func tooMuchPrecision(_ name: String) -> APIError {
        APIError(code: -1111, msg: "Parameter '\(name)' has too much precision.")
    }
    public static let invalidTimeInForce = APIError(code: -1115, msg: "Invalid timeInForce.")
    public static let invalidOrderType = APIError(code: -1116, msg: "Invalid orderType.")
    public static let invalidSide = APIError(code: -1117, msg: "Invalid side.")
    public static let emptyNewClientOrderID = APIError(code: -1118, msg: "New client order ID was empty.")
    public static let invalidInterval = APIError(code: -1120, msg: "Invalid interval.")
    public static let invalidSymbol = APIError(code: -1121, msg: "Invalid symbol.")
    public static let invalidListenKey = APIError(code: -1125, msg: "This listenKey does not exist.")
    public static func invalidParameter(_ name: String) -> APIError {
        APIError(code: -1130, msg: "Invalid data sent for a parameter.")
    }
    public static let badRecvWindow = APIError(code: -1131, msg: "recvWindow must be less than 60000")
    public static func filterFailure(_ name: String) -> APIError { APIError(code: -1013, msg: "Filter failure: \(name)") }
    public static let orderTypeNotAllowed = APIError(code: -1013, msg: "This order type is not possible in this market.")
    public static let marketClosed = APIError(code: -1013, msg: "Market is closed.")
    public static let icebergNotAllowed = APIError(code: -1013, msg: "Iceberg orders are not supported for this symbol.")
    public static let quoteOrderQtyNotAllowed = APIError(code: -1013, msg: "Quote order qty market orders are not support for this symbol.")
    public static let unsupportedCombination = APIError(code: -1014, msg: "Unsupported order combination.")
    public static let tradingDisabled = APIError(code: -2010, msg: "This action is disabled on this account.")
    public static let unknownOrder = APIError(code: -2011, msg: "Unknown order sent.")
    public static let orderDoesNotExist = APIError(code: -2013, msg: "Order does not exist.")
    public static let badAPIKeyFormat = APIError(status: 401, code: -2014, msg: "API-key format invalid.")
    public static let rejectedAPIKey = APIError(status: 401, code: -2015, msg: "Invalid API-key, IP, or permissions for action.")
    public static func historyUnavailable(_ endpoint: String) -> APIError {
        APIError(
            code: -1020,
            msg: "This operation is not supported. \(endpoint) needs the order history store, which this exchange does not run yet.")
    }
}
