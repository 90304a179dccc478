import ExchangeProtocol
import ExchangeTestSupport
import Foundation
import Messaging
import Testing

@testable import OrderRouterCore

/// cancelReplace, amend, cancel-all through the mock downstream, and a malformed-request storm.
@Suite(.serialized) struct RouterFlowTests {
    static func envelope(_ payload: Exchange_V1_Envelope.OneOf_Payload) -> Exchange_V1_Envelope {
        var e = Exchange_V1_Envelope()
        e.payload = payload
        return e
    }

    static func outcome(_ request: Exchange_V1_Envelope, _ events: [Exchange_V1_Envelope]) -> Exchange_V1_RequestOutcome {
        var o = Exchange_V1_RequestOutcome()
        o.requestID = request.requestID
        o.events = events
        return o
    }

    @Test func cancelReplaceSuccessAndFailure() async throws {
        try await RouterHarness.with { h in
            try await h.seedOpenOrder(RouterAPITests.openOrder(id: 5, client: "old"))
            try await h.respond { request in
                guard case .cancelReplaceOrder(let cr) = request.payload else { return nil }
                if cr.cancel.orderID != 5 {
                    // Cancel fails (-2011); STOP_ON_FAILURE: the new order is not attempted (-2022 from matching).
                    var cancelRejected = Exchange_V1_OrderRejected()
                    cancelRejected.orderID = cr.cancel.orderID
                    cancelRejected.code = -2011
                    cancelRejected.msg = "Unknown order sent."
                    var newRejected = Exchange_V1_OrderRejected()
                    newRejected.orderID = cr.place.orderID
                    newRejected.clientOrderID = cr.place.clientOrderID
                    newRejected.code = -2022
                    newRejected.msg = "Order cancel-replace failed."
                    return Self.outcome(request, [Self.envelope(.orderRejected(cancelRejected)), Self.envelope(.orderRejected(newRejected))])
                }
                var canceled = RouterAPITests.openOrder(id: 5, client: cr.cancel.newClientOrderID)
                canceled.origClientOrderID = "old"
                canceled.status = .canceled
                canceled.executionType = .canceled
                canceled.transactionTime = 1_790_000_000_001
                var new = Exchange_V1_OrderUpdate()
                new.userID = cr.userID
                new.symbol = cr.symbol
                new.orderID = cr.place.orderID
                new.clientOrderID = cr.place.clientOrderID
                new.quantity = cr.place.quantity
                new.price = cr.place.price
                new.status = .new
                new.executionType = .new
                new.transactionTime = 1_790_000_000_002
                new.workingTime = 1_790_000_000_002
                return Self.outcome(request, [Self.envelope(.orderUpdate(canceled)), Self.envelope(.orderUpdate(new))])
            }
            let ok = await h.signed("POST", "/api/v3/order/cancelReplace",
                                    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.002&price=40000&cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId=5&cancelNewClientOrderId=c1&newClientOrderId=n1&newOrderRespType=RESULT")
            #expect(ok.status == 200)
            #expect(ok.header("X-MBX-ORDER-COUNT-10S") == "1")
            #expect(ok.body.hasPrefix(#"{"cancelResult":"SUCCESS","newOrderResult":"SUCCESS","cancelResponse":{"symbol":"BTCUSDT","origClientOrderId":"old","orderId":5,"orderListId":-1,"clientOrderId":"c1","transactTime":1790000000001,"#))
            #expect(ok.body.contains(#""newOrderResponse":{"symbol":"BTCUSDT","orderId":"#) && ok.body.contains(#""clientOrderId":"n1","transactTime":1790000000002,"price":"40000.00000000","origQty":"0.00200000""#))
            let failed = await h.signed("POST", "/api/v3/order/cancelReplace",
                                        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.002&price=40000&cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId=6")
            #expect(failed.status == 400)
            #expect(failed.body == #"{"code":-2022,"msg":"Order cancel-replace failed.","data":{"cancelResult":"FAILURE","newOrderResult":"NOT_ATTEMPTED","cancelResponse":{"code":-2011,"msg":"Unknown order sent."},"newOrderResponse":null}}"#)
            #expect(await h.signed("POST", "/api/v3/order/cancelReplace", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.002&price=40000").body
                == APIError.mandatory("cancelReplaceMode").body)
        }
    }

    @Test func amendAndCancelAll() async throws {
        try await RouterHarness.with { h in
            try await h.seedOpenOrder(RouterAPITests.openOrder(id: 11, client: "a"))
            try await h.seedOpenOrder(RouterAPITests.openOrder(id: 12, client: "b"))
            try await h.respond { request in
                switch request.payload {
                case .amendOrder(let amend):
                    var u = RouterAPITests.openOrder(id: amend.orderID, client: amend.newClientOrderID)
                    u.origClientOrderID = "a"
                    u.quantity = amend.newQuantity
                    u.transactionTime = 1_790_000_000_003
                    u.tradeID = 77
                    return Self.outcome(request, [Self.envelope(.orderUpdate(u))])
                case .cancelOpenOrders:
                    let events = [UInt64(11), 12].map { id -> Exchange_V1_Envelope in
                        var u = RouterAPITests.openOrder(id: id, client: "x\(id)")
                        u.origClientOrderID = id == 11 ? "a" : "b"
                        u.status = .canceled
                        u.executionType = .canceled
                        return Self.envelope(.orderUpdate(u))
                    }
                    return Self.outcome(request, events)
                default: return nil
                }
            }
            let amended = await h.signed("PUT", "/api/v3/order/amend/keepPriority", "symbol=BTCUSDT&orderId=11&newQty=0.0005&newClientOrderId=am1")
            #expect(amended.body == #"{"transactTime":1790000000003,"executionId":77,"amendedOrder":{"symbol":"BTCUSDT","orderId":11,"orderListId":-1,"origClientOrderId":"a","clientOrderId":"am1","price":"40000.00000000","qty":"0.00050000","executedQty":"0.00000000","preventedQty":"0.00000000","quoteOrderQty":"0.00000000","cumulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY","workingTime":1789999999000,"selfTradePreventionMode":"EXPIRE_MAKER"}}"#)
            #expect(amended.header("X-MBX-USED-WEIGHT-1M") == "4")
            let all = await h.signed("DELETE", "/api/v3/openOrders", "symbol=BTCUSDT")
            #expect(all.status == 200 && all.body.hasPrefix(#"[{"symbol":"BTCUSDT","origClientOrderId":"a","orderId":11,"#))
            #expect(all.body.contains(#"{"symbol":"BTCUSDT","origClientOrderId":"b","orderId":12,"orderListId":-1,"clientOrderId":"x12","#))
            let requests = try await h.requests(count: 2)
            #expect(requests.count == 2)
            if case .amendOrder(let amend) = requests.first?.payload {
                #expect(amend.newQuantity == 50_000 && amend.orderID == 11 && amend.userID == 42)
            } else {
                Issue.record("first request is not an AmendOrder")
            }
        }
    }

    /// Thousands of generated bad requests: never a 5xx, and nothing reaches the log except what
    /// the router accepted (the mock downstream refuses every request with -2010, so an accepted
    /// request answers 200 (ACK) or -2010).
    @Test func malformedRequestStorm() async throws {
        var limits = RateLimits()
        limits.requestWeightPerMinute = 1_000_000
        limits.rawRequestsPer5Minutes = 1_000_000
        limits.ordersPer10Seconds = 1_000_000
        try await RouterHarness.with(limits: limits) { h in
            try await h.respond { request in
                var rejected = Exchange_V1_OrderRejected()
                rejected.code = -2010
                rejected.msg = "Account has insufficient balance for requested action."
                return Self.outcome(request, [Self.envelope(.orderRejected(rejected))])
            }
            var rng = SplitMix64(seed: 0x5EED)
            let names = ["symbol", "side", "type", "timeInForce", "quantity", "price", "stopPrice", "icebergQty", "quoteOrderQty",
                         "newClientOrderId", "newOrderRespType", "selfTradePreventionMode", "trailingDelta", "strategyType",
                         "recvWindow", "orderId", "origClientOrderId", "limit", "symbols", "computeCommissionRates", "omitZeroBalances"]
            let values = ["BTCUSDT", "ETHBTC", "btcusdt", "", "BUY", "SELL", "LIMIT", "MARKET", "STOP_LOSS_LIMIT", "LIMIT_MAKER", "GTC", "FOK",
                          "0", "0.001", "50000", "1e5", "-1", "99999999999999999999", "0.000000001", "%00", "%ZZ", "%E2%82%AC", "ACK",
                          "[\"BTCUSDT\"]", "true", "NaN", "60000.0001", "4294967296", "a%26b%3Dc", String(repeating: "9", count: 40)]
            let paths = [("POST", "/api/v3/order"), ("POST", "/api/v3/order/test"), ("GET", "/api/v3/order"), ("DELETE", "/api/v3/order"),
                         ("GET", "/api/v3/openOrders"), ("GET", "/api/v3/account"), ("GET", "/api/v3/depth"), ("GET", "/api/v3/exchangeInfo"),
                         ("POST", "/api/v3/order/cancelReplace"), ("PUT", "/api/v3/order/amend/keepPriority"), ("GET", "/api/v3/nope")]
            var accepted = 0
            var statuses: [Int: Int] = [:]
            for i in 0..<3000 {
                let (method, path) = paths[Int(rng.next() % UInt64(paths.count))]
                var pairs: [String] = []
                if rng.next() % 2 == 0 {
                    // A valid order with one or two parameters replaced, dropped or added.
                    pairs = ["symbol=BTCUSDT", "side=BUY", "type=LIMIT", "timeInForce=GTC", "quantity=0.001", "price=50000", "newOrderRespType=ACK"]
                    for _ in 0..<Int(1 + rng.next() % 2) {
                        let index = Int(rng.next() % UInt64(pairs.count))
                        switch rng.next() % 4 {
                        case 0: pairs.remove(at: index)
                        case 1: pairs.append(names[Int(rng.next() % UInt64(names.count))] + "=" + values[Int(rng.next() % UInt64(values.count))])
                        case 2: pairs[index] = String(pairs[index].prefix { $0 != "=" }) + "=" + values[Int(rng.next() % UInt64(values.count))]
                        default: break  // left valid
                        }
                    }
                } else {
                    for _ in 0..<Int(rng.next() % 9) {
                        pairs.append(names[Int(rng.next() % UInt64(names.count))] + "=" + values[Int(rng.next() % UInt64(values.count))])
                    }
                }
                let query = pairs.joined(separator: "&")
                let answer: APIResponse
                switch i % 4 {
                case 0: answer = await h.signed(method, path, query)  // valid signature over garbage
                case 1: answer = await h.signed(method, path, "", body: query)
                case 2:  // unsigned or badly signed
                    answer = await h.api.handle(APIRequest(method: method, path: path, rawQuery: query + "&signature=zz",
                                                           headers: ["x-mbx-apikey": RouterHarness.apiKey]))
                default:  // raw bytes in the query
                    let bytes = (0..<Int(rng.next() % 40)).map { _ in Character(UnicodeScalar(UInt8(32 + rng.next() % 95))) }
                    answer = await h.api.handle(APIRequest(method: method, path: path, rawQuery: String(bytes), rawBody: Array(query.utf8),
                                                           headers: ["x-mbx-apikey": RouterHarness.apiKey]))
                }
                statuses[answer.status, default: 0] += 1
                #expect(answer.status < 500, "\(method) \(path)?\(query) → \(answer.status) \(answer.body)")
                let appends = (path == "/api/v3/order" && (method == "POST" || method == "DELETE")) || path.hasSuffix("cancelReplace")
                    || path.hasSuffix("keepPriority")
                if appends && (answer.status == 200 || answer.body.contains("-2010")) { accepted += 1 }
            }
            let ends = try await h.log.endOffsets([TopicPartition(Topics.ordersRequests.name, 0), TopicPartition(Topics.ordersRequests.name, 1)])
            #expect(Int(ends.values.reduce(0, +)) == accepted, "\(statuses)")
            #expect((statuses[400] ?? 0) > 1000)
            #expect(accepted > 5, "the storm should also send orders the router accepts: \(statuses)")
        }
    }
}
