import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Logging
import Messaging
import Synchronization

/// How one router instance is set up.
public struct RouterConfiguration: Sendable {
    /// Instance name: `producer` of its envelopes and the name of its reply channel.
    public var instance: String
    /// Order-id node (0...1023), unique among running routers.
    public var nodeID: UInt64
    public var limits: RateLimits
    /// How long RESULT/FULL and cancels wait for the outcome before -1007.
    public var outcomeTimeout: Duration

    public init(instance: String, nodeID: UInt64, limits: RateLimits = RateLimits(), outcomeTimeout: Duration = .seconds(10)) {
        self.instance = instance
        self.nodeID = nodeID
        self.limits = limits
        self.outcomeTimeout = outcomeTimeout
    }

    /// A node id derived from the instance name when none is configured: the trailing number of
    /// `order-router-3` (so `--instance` alone keeps instances apart), else a hash of the name.
    public static func nodeID(forInstance instance: String) -> UInt64 {
        let digits = instance.reversed().prefix { $0.isNumber }
        if !digits.isEmpty, let n = UInt64(String(digits.reversed())), n < 1024 { return n }
        var hash: UInt64 = 1_469_598_103_934_665_603
        for byte in instance.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return hash % 1024
    }
}

/// The Binance Spot REST API: every request goes through `handle`, which routes, counts rate
/// limits, authenticates, validates and answers with Binance's exact JSON.
public final class OrderRouterAPI: Sendable {
    public let configuration: RouterConfiguration
    let symbols: [String: SymbolRules]
    let symbolOrder: [String]
    let exchangeRules: ExchangeRules
    let store: ProjectionStore
    let market: MarketStore
    let limiter: RateLimiter
    let authenticator: Authenticator
    public let waiter: OutcomeWaiter
    let producer: any EventProducer
    let ids: Mutex<OrderIDGenerator>
    let requestCounter = Atomic<UInt64>(0)
    let clock: @Sendable () -> Int64
    let logger: Logger

    /// - Parameter clockMicros: wall clock in Unix microseconds (tests pass a fixed one).
    public init(
        configuration: RouterConfiguration, catalog: SymbolCatalog, exchangeFilters: [SymbolFilter] = [], redis: RedisPool,
        producer: any EventProducer, masterKey: MasterKey?, logger: Logger,
        clockMicros: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000_000) }
    ) throws {
        self.configuration = configuration
        var rules: [String: SymbolRules] = [:]
        for (name, config) in catalog.symbols { rules[name] = try SymbolRules(config) }
        self.symbols = rules
        self.symbolOrder = catalog.symbols.keys.sorted()
        self.exchangeRules = ExchangeRules(filters: exchangeFilters)
        self.store = ProjectionStore(redis: redis)
        self.market = MarketStore(redis: redis)
        self.limiter = RateLimiter(limits: configuration.limits, redis: redis)
        self.authenticator = Authenticator(store: store, masterKey: masterKey)
        self.waiter = OutcomeWaiter()
        self.producer = producer
        self.ids = Mutex(OrderIDGenerator(node: configuration.nodeID))
        self.clock = clockMicros
        self.logger = logger
    }

    public var replyChannel: String { RedisNames.replyChannel(instance: configuration.instance) }

    // MARK: Routing

    struct Route: Sendable {
        var security: SecurityType
        /// Binance's weight; may depend on the parameters (depth's limit, openOrders' symbol).
        var weight: @Sendable (inout RequestParameters) -> Int
        var countsOrder: Bool = false
        /// Returns the body; throws `APIError` for a refusal (turned back into data by `handle`, the
        /// only place that sees it), any other error for a fault.
        var handler: @Sendable (OrderRouterAPI, inout Call) async throws -> String
    }

    /// One request in flight.
    struct Call: Sendable {
        var request: APIRequest
        var parameters: RequestParameters
        var caller: Caller?
        var nowMicros: Int64
        var nowMs: Int64 { nowMicros / 1000 }
        var extraHeaders: [(String, String)] = []
        var userID: UInt64 { caller!.userID }

        /// -1104 when parameters were sent that the endpoint does not read.
        mutating func finish() throws(APIError) {
            parameters.accept("timestamp", "recvWindow")
            if let error = parameters.checkAllRead() { throw error }
        }
    }

    static func fixed(_ weight: Int) -> @Sendable (inout RequestParameters) -> Int { { _ in weight } }

    static let routes: [String: Route] = [
        "GET /api/v3/ping": Route(security: .none, weight: fixed(1)) { api, call in try api.ping(&call) },
        "GET /api/v3/time": Route(security: .none, weight: fixed(1)) { api, call in try api.time(&call) },
        "GET /api/v3/exchangeInfo": Route(security: .none, weight: fixed(20)) { api, call in try api.exchangeInfo(&call) },
        "GET /api/v3/depth": Route(security: .none, weight: { p in
            let limit = Int(p.optional("limit") ?? "100") ?? 100
            switch limit {
            case ...100: return 5
            case 101...500: return 25
            case 501...1000: return 50
            default: return 250
            }
        }) { api, call in try await api.depth(&call) },
        "GET /api/v3/trades": Route(security: .none, weight: fixed(25)) { api, call in try await api.trades(&call) },
        "GET /api/v3/historicalTrades": Route(security: .none, weight: fixed(25)) { api, call in try await api.historicalTrades(&call) },
        "GET /api/v3/aggTrades": Route(security: .none, weight: fixed(4)) { api, call in try await api.aggTrades(&call) },
        "GET /api/v3/klines": Route(security: .none, weight: fixed(2)) { api, call in try await api.klines(&call) },
        "GET /api/v3/uiKlines": Route(security: .none, weight: fixed(2)) { api, call in try await api.klines(&call) },
        "GET /api/v3/avgPrice": Route(security: .none, weight: fixed(2)) { api, call in try await api.avgPrice(&call) },
        "GET /api/v3/ticker/24hr": Route(security: .none, weight: { p in
            tickerWeight(&p, single: 2, perSymbol: { n in n <= 20 ? 2 : n <= 100 ? 40 : 80 }, all: 80)
        }) { api, call in try await api.ticker24h(&call) },
        "GET /api/v3/ticker/tradingDay": Route(security: .none, weight: { p in
            tickerWeight(&p, single: 4, perSymbol: { n in min(4 * n, 200) }, all: 4)
        }) { api, call in try await api.tradingDayTicker(&call) },
        "GET /api/v3/ticker": Route(security: .none, weight: { p in
            tickerWeight(&p, single: 4, perSymbol: { n in min(4 * n, 200) }, all: 4)
        }) { api, call in try await api.rollingTicker(&call) },
        "GET /api/v3/ticker/price": Route(security: .none, weight: { p in
            tickerWeight(&p, single: 2, perSymbol: { _ in 4 }, all: 4)
        }) { api, call in try await api.priceTicker(&call) },
        "GET /api/v3/ticker/bookTicker": Route(security: .none, weight: { p in
            tickerWeight(&p, single: 2, perSymbol: { _ in 4 }, all: 4)
        }) { api, call in try await api.bookTicker(&call) },
        "POST /api/v3/order": Route(security: .trade, weight: fixed(1), countsOrder: true) { api, call in try await api.newOrder(&call, test: false) },
        "POST /api/v3/order/test": Route(security: .trade, weight: { p in
            p.optional("computeCommissionRates")?.lowercased() == "true" ? 20 : 1
        }) { api, call in try await api.newOrder(&call, test: true) },
        "GET /api/v3/order": Route(security: .userData, weight: fixed(4)) { api, call in try await api.queryOrder(&call) },
        "DELETE /api/v3/order": Route(security: .trade, weight: fixed(1)) { api, call in try await api.cancelOrder(&call) },
        "DELETE /api/v3/openOrders": Route(security: .trade, weight: fixed(1)) { api, call in try await api.cancelOpenOrders(&call) },
        "GET /api/v3/openOrders": Route(security: .userData, weight: { p in p.optional("symbol") == nil ? 80 : 6 }) { api, call in
            try await api.openOrders(&call)
        },
        "POST /api/v3/order/cancelReplace": Route(security: .trade, weight: fixed(1), countsOrder: true) { api, call in
            try await api.cancelReplace(&call)
        },
        "PUT /api/v3/order/amend/keepPriority": Route(security: .trade, weight: fixed(4)) { api, call in try await api.amend(&call) },
        "GET /api/v3/rateLimit/order": Route(security: .userData, weight: fixed(40)) { api, call in try await api.orderRateLimit(&call) },
        "GET /api/v3/account": Route(security: .userData, weight: fixed(20)) { api, call in try await api.account(&call) },
        "GET /api/v3/account/commission": Route(security: .userData, weight: fixed(20)) { api, call in try await api.commission(&call) },
        "POST /api/v3/userDataStream": Route(security: .userStream, weight: fixed(2)) { api, call in try await api.createListenKey(&call) },
        "PUT /api/v3/userDataStream": Route(security: .userStream, weight: fixed(2)) { api, call in try await api.keepAliveListenKey(&call) },
        "DELETE /api/v3/userDataStream": Route(security: .userStream, weight: fixed(2)) { api, call in try await api.closeListenKey(&call) },
        "GET /api/v3/allOrders": Route(security: .userData, weight: fixed(20)) { _, _ in throw APIError.historyUnavailable("GET /api/v3/allOrders") },
        "GET /api/v3/myTrades": Route(security: .userData, weight: fixed(20)) { _, _ in throw APIError.historyUnavailable("GET /api/v3/myTrades") },
    ]

    /// Answers one request. Never throws: infrastructure faults become -1000 (HTTP 500) and are logged.
    public func handle(_ request: APIRequest) async -> APIResponse {
        guard let route = Self.routes["\(request.method) \(request.path)"] else {
            return APIResponse(status: 404, headers: [("Content-Type", "application/json;charset=UTF-8")],
                               body: APIError(status: 404, code: -1000, msg: "Unknown endpoint \(request.method) \(request.path).").body)
        }
        let nowMicros = clock()
        var headers: [(String, String)] = [("Content-Type", "application/json;charset=UTF-8")]
        do {
            let parsed = RequestParameters.parse(rawQuery: request.rawQuery, rawBody: request.rawBody)
            var parameters = (try? parsed.get()) ?? RequestParameters()
            var probe = parameters
            let weight = route.weight(&probe)
            // The API-key record is fetched in the same round trip as the IP counts.
            let apiKeyHeader = route.security == .none ? nil : request.headers["x-mbx-apikey"].flatMap { Authenticator.isWellFormed($0) ? $0 : nil }
            let (decision, keyRecord) = try await limiter.checkIP(
                request.clientIP, weight: weight, nowMs: nowMicros / 1000, alsoGet: apiKeyHeader.map(RedisNames.apiKey))
            switch decision {
            case .allowed(let used):
                headers += [("X-MBX-USED-WEIGHT-1M", String(used)), ("x-mbx-used-weight", String(used))]
            case .limited(let used, _, let error):
                headers += [("X-MBX-USED-WEIGHT-1M", String(used)), ("x-mbx-used-weight", String(used))]
                return respond(error, headers: headers)
            case .banned(_, let error):
                return respond(error, headers: headers)
            }
            if case .failure(let error) = parsed { return respond(error, headers: headers) }
            var caller: Caller?
            if route.security != .none {
                let prefetched = try keyRecord.map { reply in try reply.bytes.map { try Exchange_V1_ApiKeyAdmin(fastSerializedBytes: $0) } }
                switch try await authenticator.authenticate(
                    request, parameters: &parameters, security: route.security, nowMicros: nowMicros, prefetched: prefetched)
                {
                case .success(let c): caller = c
                case .failure(let error): return respond(error, headers: headers)
                }
            }
            if route.countsOrder, let caller {
                switch try await limiter.countOrder(userID: caller.userID, nowMs: nowMicros / 1000) {
                case .allowed(let ten, let day):
                    headers += [("X-MBX-ORDER-COUNT-10S", String(ten)), ("X-MBX-ORDER-COUNT-1D", String(day))]
                case .limited(let ten, let day, _, let error):
                    headers += [("X-MBX-ORDER-COUNT-10S", String(ten)), ("X-MBX-ORDER-COUNT-1D", String(day))]
                    return respond(error, headers: headers)
                }
            }
            var call = Call(request: request, parameters: parameters, caller: caller, nowMicros: nowMicros)
            do {
                let body = try await route.handler(self, &call)
                return APIResponse(status: 200, headers: headers + call.extraHeaders, body: body)
            } catch let error as APIError {
                return respond(error, headers: headers + call.extraHeaders)
            }
        } catch {
            logger.error("request failed", metadata: ["error": "\(error)", "exchange.endpoint": "\(request.method) \(request.path)"])
            return respond(.unknown, headers: headers)
        }
    }

    private func respond(_ error: APIError, headers: [(String, String)]) -> APIResponse {
        APIResponse(status: error.status, headers: headers + error.headers, body: error.body)
    }

    // MARK: Helpers shared by handlers

    func rules(_ call: inout Call) throws(APIError) -> SymbolRules {
        guard let name = call.parameters.optional("symbol") else { throw .mandatory("symbol") }
        guard let rules = symbols[name] else { throw .invalidSymbol }
        return rules
    }

    func nextOrderID(nowMs: Int64) -> UInt64 {
        ids.withLock { $0.next(nowMs: nowMs) }.rawValue
    }

    func nextRequestID(nowMicros: Int64) -> String {
        let n = requestCounter.add(1, ordering: .relaxed).newValue
        return "\(configuration.instance)-\(nowMicros)-\(n)"
    }

    private static let clientOrderIDAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// Binance's generated client order ids: 22 letters and digits, uniformly random. Random bytes
    /// come 8 at a time (one `getrandom` each, not one per letter); a byte below 248 (4 x 62) picks
    /// a letter, a higher one is skipped, so every letter stays equally likely.
    static func generatedClientOrderID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(unsafeUninitializedCapacity: 22) { buffer in
            var filled = 0
            while filled < 22 {
                var word = generator.next()
                for _ in 0..<8 where filled < 22 {
                    let byte = Int(word & 0xFF)
                    word >>= 8
                    if byte < 248 {
                        buffer[filled] = clientOrderIDAlphabet[byte % 62]
                        filled += 1
                    }
                }
            }
            return 22
        }
    }

    static func isValidClientOrderID(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...36).contains(utf8.count) && utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122)
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static let clientOrderIDPattern = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"

    /// Appends a request durably to `orders.requests` (keyed by user) and, when `wait`, waits for
    /// its decisive outcome. The timestamp rule is checked again just before the append.
    func submit(
        _ payload: Exchange_V1_Envelope.OneOf_Payload, userID: UInt64, call: Call, wait: Bool
    ) async throws -> Exchange_V1_RequestOutcome? {
        let now = clock()
        if let rule = call.caller?.timestamp, let error = rule.check(nowMicros: now) { throw error }
        let requestID = nextRequestID(nowMicros: now)
        var envelope = Exchange_V1_Envelope()
        envelope.schemaVersion = exchangeSchemaVersion
        envelope.requestID = requestID
        envelope.replyTo = replyChannel
        envelope.createdAtMs = call.nowMs
        envelope.emittedAtMs = now / 1000
        envelope.producer = configuration.instance
        envelope.payload = payload
        if wait { waiter.register(requestID) }
        do {
            _ = try await producer.send(OutgoingRecord(topic: Topics.ordersRequests.name, key: String(userID), value: EnvelopeCodec.encode(envelope)))
        } catch {
            waiter.cancel(requestID)
            throw error
        }
        guard wait else { return nil }
        guard let outcome = await waiter.wait(requestID, timeout: configuration.outcomeTimeout) else { throw APIError.timeout }
        return outcome
    }
}

extension Result where Failure == APIError {
    /// The value, or the refusal thrown (handlers' early exit).
    func value() throws(APIError) -> Success {
        switch self {
        case .success(let v): return v
        case .failure(let e): throw e
        }
    }
}
