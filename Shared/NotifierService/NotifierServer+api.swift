import ExchangeProtocol
import Foundation
import HummingbirdWebSocket
import NIOCore
import NotifierCore
import OrderRouterCore
import Synchronization

/// The WebSocket API's user-data part (`/ws-api/v3`): session.logon/status/logout,
/// userDataStream.subscribe[.signature]/unsubscribe, ping, time.
extension NotifierServer {
    /// One WebSocket API session.
    struct APISession {
        var apiKey: String?
        var userID: UInt64?
        var authorizedSince: Int64?
        let connectedSince: Int64
        /// Subscription id → user; `logonSubscription` is the one made through the session's key.
        var subscriptions: [Int: UInt64] = [:]
        var logonSubscription: Int?
        var nextSubscriptionID = 0
        var weightWindowStart: Int64 = 0
        var weight = 0
    }

    /// Binance's request weights of the methods served here.
    static func weight(_ method: String) -> Int {
        switch method {
        case "ping", "time": return 1
        default: return 2
        }
    }

    static let requestWeightLimit = 6000

    func serveAPI(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel, ip: String) async throws {
        let connection = ClientConnection(combined: false, capacity: configuration.limits.outboundBuffer, isAPI: true)
        connection.attach(channel)
        let session = Locked(APISession(connectedSince: Self.nowMs()))
        hub.open(connection)
        defer {
            let subs = session.withLock { Array($0.subscriptions) }
            hub.closed(connection, streams: [], users: subs.map { ($0.value, $0.key) })
        }
        try await run(connection, outbound: outbound, channel: channel, reader: {
            for try await message in inbound.messages(maxSize: 1 << 16) {
                guard case .text(let text) = message else { continue }
                let reply = await self.handleAPI(text, connection: connection, session: session, ip: ip)
                connection.send(reply)
            }
        })
    }

    func handleAPI(_ text: String, connection: ClientConnection, session: Locked<APISession>, ip: String) async -> String {
        let request: WSAPIRequest
        switch WSAPIRequest.parse(text) {
        case .success(let r): request = r
        case .failure(let failure): return WSAPIResponse.error(id: failure.id, failure.error, weight: nil)
        }
        let now = Self.nowMs()
        let weight = session.withLock { s -> WSAPIResponse.Weight in
            if now - s.weightWindowStart >= 60_000 {
                s.weightWindowStart = now - now % 60_000
                s.weight = 0
            }
            s.weight += Self.weight(request.method)
            return WSAPIResponse.Weight(limit: Self.requestWeightLimit, count: s.weight)
        }
        let id = request.id
        // Binance leaves `rateLimits` out when the request asks so.
        let shown = request.param("returnRateLimits") == "false" ? nil : weight
        func fail(_ error: APIError) -> String { WSAPIResponse.error(id: id, error, weight: shown) }
        func ok(_ json: String) -> String { WSAPIResponse.result(id: id, json: json, weight: shown) }
        func sessionJSON() -> String {
            session.withLock { s in
                WSAPIResponse.session(
                    apiKey: s.apiKey, authorizedSince: s.authorizedSince, connectedSince: s.connectedSince,
                    userDataStream: !s.subscriptions.isEmpty, serverTime: Self.nowMs())
            }
        }
        switch request.method {
        case "ping":
            return ok("{}")
        case "time":
            return ok("{\"serverTime\":\(now)}")
        case "session.logon":
            switch await authenticate(request, ip: ip) {
            case .failure(let error): return fail(error)
            case .success(let caller):
                session.withLock { s in
                    s.apiKey = caller.apiKey
                    s.userID = caller.userID
                    s.authorizedSince = now
                }
                return ok(sessionJSON())
            }
        case "session.status":
            return ok(sessionJSON())
        case "session.logout":
            let dropped = session.withLock { s -> (UInt64, Int)? in
                defer {
                    s.apiKey = nil
                    s.userID = nil
                    s.authorizedSince = nil
                }
                guard let sub = s.logonSubscription, let user = s.subscriptions.removeValue(forKey: sub) else { return nil }
                s.logonSubscription = nil
                return (user, sub)
            }
            if let (user, sub) = dropped { hub.unsubscribe(connection, user: user, subscriptionID: sub) }
            return ok(sessionJSON())
        case "userDataStream.subscribe":
            let made = session.withLock { s -> Result<(UInt64, Int), APIError> in
                guard let user = s.userID else { return .failure(.unauthorized) }
                if s.logonSubscription != nil {
                    return .failure(APIError(status: 400, code: -2035, msg: "User Data Stream subscription already active."))
                }
                let sub = s.nextSubscriptionID
                s.nextSubscriptionID += 1
                s.subscriptions[sub] = user
                s.logonSubscription = sub
                return .success((user, sub))
            }
            switch made {
            case .failure(let error): return fail(error)
            case .success(let (user, sub)):
                hub.subscribe(connection, user: user, subscriptionID: sub)
                await hub.waitSubscribed(user: user)
                return ok("{\"subscriptionId\":\(sub)}")
            }
        case "userDataStream.subscribe.signature":
            switch await authenticate(request, ip: ip) {
            case .failure(let error): return fail(error)
            case .success(let caller):
                let sub = session.withLock { s -> Int in
                    let sub = s.nextSubscriptionID
                    s.nextSubscriptionID += 1
                    s.subscriptions[sub] = caller.userID
                    return sub
                }
                hub.subscribe(connection, user: caller.userID, subscriptionID: sub)
                await hub.waitSubscribed(user: caller.userID)
                return ok("{\"subscriptionId\":\(sub)}")
            }
        case "userDataStream.unsubscribe":
            var wanted: Int?
            if let raw = request.param("subscriptionId") {
                guard let n = Int(raw) else { return fail(.invalidParameter("subscriptionId")) }
                wanted = n
            }
            let removed = session.withLock { s -> [(Int, UInt64)]? in
                if let wanted {
                    guard let user = s.subscriptions.removeValue(forKey: wanted) else { return nil }
                    if s.logonSubscription == wanted { s.logonSubscription = nil }
                    return [(wanted, user)]
                }
                let all = s.subscriptions.map { ($0.key, $0.value) }
                s.subscriptions.removeAll()
                s.logonSubscription = nil
                return all
            }
            guard let removed else {
                return fail(APIError(status: 400, code: -2036, msg: "User Data Stream subscription not found."))
            }
            for (sub, user) in removed { hub.unsubscribe(connection, user: user, subscriptionID: sub) }
            return ok("{}")
        default:
            return fail(APIError(status: 400, code: -1020, msg: "This operation is not supported."))
        }
    }

    /// Checks apiKey, timestamp/recvWindow and the signature over the sorted parameters with the
    /// router's authenticator (HMAC, Ed25519 and RSA keys; permissions and IP allowlist).
    func authenticate(_ request: WSAPIRequest, ip: String) async -> Result<Caller, APIError> {
        guard let apiKey = request.param("apiKey"), !apiKey.isEmpty else { return .failure(.mandatory("apiKey")) }
        let query = request.signedQuery
        var parameters: RequestParameters
        switch RequestParameters.parse(rawQuery: query, rawBody: []) {
        case .success(let p): parameters = p
        case .failure(let e): return .failure(e)
        }
        let apiRequest = APIRequest(method: "GET", path: "/ws-api/v3", rawQuery: query, headers: ["x-mbx-apikey": apiKey], clientIP: ip)
        do {
            return try await authenticator.authenticate(
                apiRequest, parameters: &parameters, security: .userData, nowMicros: Int64(Date().timeIntervalSince1970 * 1_000_000))
        } catch {
            logger.warning("WebSocket API authentication failed: \(error)")
            return .failure(.unknown)
        }
    }
}
