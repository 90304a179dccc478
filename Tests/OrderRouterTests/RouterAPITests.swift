import Crypto
import ExchangeProtocol
import ExchangeSecurity
import ExchangeTestSupport
import Foundation
import Messaging
import Testing

@testable import OrderRouterCore

/// The API end to end against a real redis-server: security, rate limits, filters, the order flow
/// with a mock downstream (see `RouterHarness.respond`), and response bytes.
@Suite(.serialized) struct RouterAPITests {
    @Test func generalEndpointsAndWeightHeaders() async throws {
        try await RouterHarness.with { h in
            let ping = await h.get("/api/v3/ping")
            #expect(ping.status == 200 && ping.body == "{}")
            #expect(ping.header("X-MBX-USED-WEIGHT-1M") == "1")
            let time = await h.get("/api/v3/time")
            #expect(time.body == "{\"serverTime\":1790000000000}")
            #expect(time.header("X-MBX-USED-WEIGHT-1M") == "2")
            let info = await h.get("/api/v3/exchangeInfo", "symbol=ETHBTC")
            #expect(info.header("X-MBX-USED-WEIGHT-1M") == "22")
            #expect(info.body == """
            {"timezone":"UTC","serverTime":1790000000000,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":100},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":200000},{"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":61000}],"exchangeFilters":[],"symbols":[{"symbol":"ETHBTC","status":"BREAK","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC","quotePrecision":8,"quoteAssetPrecision":8,"baseCommissionPrecision":8,"quoteCommissionPrecision":8,"orderTypes":["LIMIT","LIMIT_MAKER","MARKET","STOP_LOSS","STOP_LOSS_LIMIT","TAKE_PROFIT","TAKE_PROFIT_LIMIT"],"icebergAllowed":true,"ocoAllowed":false,"otoAllowed":false,"quoteOrderQtyMarketAllowed":true,"allowTrailingStop":false,"cancelReplaceAllowed":true,"amendAllowed":true,"isSpotTradingAllowed":true,"isMarginTradingAllowed":false,"filters":[],"permissions":[],"permissionSets":[["SPOT"]],"defaultSelfTradePreventionMode":"EXPIRE_MAKER","allowedSelfTradePreventionModes":["EXPIRE_TAKER","EXPIRE_MAKER","EXPIRE_BOTH"]}]}
            """)
            let both = await h.get("/api/v3/exchangeInfo", "symbols=%5B%22BTCUSDT%22,%22ETHBTC%22%5D")
            #expect(both.status == 200 && both.body.contains("\"symbol\":\"BTCUSDT\"") && both.body.contains("\"filterType\":\"NOTIONAL\""))
            #expect(await h.get("/api/v3/exchangeInfo", "symbol=NOPE").body == #"{"code":-1121,"msg":"Invalid symbol."}"#)
            #expect(await h.get("/api/v3/ping", "foo=1").body == #"{"code":-1104,"msg":"Not all sent parameters were read; read '0' parameter(s) but was sent '1'."}"#)
            #expect(await h.get("/api/v3/allOrders").status == 401)  // signed: the key is checked first
        }
    }

    @Test func depthFromTheMatchingSnapshot() async throws {
        try await RouterHarness.with { h in
            var book = Exchange_V1_BookDelta()
            book.symbol = "BTCUSDT"
            book.isSnapshot = true
            book.lastUpdateID = 1027024
            for (price, qty) in [(Int64(4_000_000_000_000), Int64(43_100_000_000)), (3_999_000_000_000, 1)] {
                var l = Exchange_V1_PriceLevel(); l.price = price; l.quantity = qty; book.bids.append(l)
            }
            var ask = Exchange_V1_PriceLevel(); ask.price = 4_000_100_000_000; ask.quantity = 1_200_000_000; book.asks.append(ask)
            let far = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.001&price=300000"
            #expect(await h.signed("POST", "/api/v3/order/test", far).body == "{}")  // no reference price yet
            try await h.set(RedisNames.depthSnapshot(symbol: "BTCUSDT"), book)
            // Mid 40000.50: x5 is 200002.50.
            #expect(await h.signed("POST", "/api/v3/order/test", far).body == APIError.filterFailure("PERCENT_PRICE").body)
            let depth = await h.get("/api/v3/depth", "symbol=BTCUSDT&limit=1")
            #expect(depth.body == #"{"lastUpdateId":1027024,"bids":[["40000.00000000","431.00000000"]],"asks":[["40001.00000000","12.00000000"]]}"#)
            #expect(depth.header("X-MBX-USED-WEIGHT-1M") == "7")  // 2 order/test + 5
            #expect(await h.get("/api/v3/depth", "symbol=BTCUSDT&limit=1000").header("X-MBX-USED-WEIGHT-1M") == "57")
        }
    }

    @Test func securityFailures() async throws {
        try await RouterHarness.with { h in
            let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000"
            // No key, a malformed key, an unknown key.
            #expect(await h.api.handle(APIRequest(method: "POST", path: "/api/v3/order", rawQuery: order)).body
                == #"{"code":-2014,"msg":"API-key format invalid."}"#)
            #expect(await h.signed("POST", "/api/v3/order", order, apiKey: "bad key!").status == 401)
            #expect(await h.signed("POST", "/api/v3/order", order, apiKey: "unknownKey").body
                == #"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#)
            // A wrong secret.
            let wrong = await h.signed("POST", "/api/v3/order/test", order, secret: Array("other".utf8))
            #expect(wrong.status == 400 && wrong.body == #"{"code":-1022,"msg":"Signature for this request is not valid."}"#)
            // Missing timestamp / signature.
            let noTime = await h.api.handle(APIRequest(method: "GET", path: "/api/v3/account", rawQuery: "signature=00",
                                                      headers: ["x-mbx-apikey": RouterHarness.apiKey]))
            #expect(noTime.body == #"{"code":-1102,"msg":"Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."}"#)
            let noSig = await h.api.handle(APIRequest(method: "GET", path: "/api/v3/account", rawQuery: "timestamp=\(h.nowMs)",
                                                     headers: ["x-mbx-apikey": RouterHarness.apiKey]))
            #expect(noSig.body == #"{"code":-1102,"msg":"Mandatory parameter 'signature' was not sent, was empty/null, or malformed."}"#)
            // Stale and future timestamps (signed correctly).
            let stale = "timestamp=\(h.nowMs - 6000)"
            let staleSig = SignatureVerifier.hmacHex(payload: Array(stale.utf8), secret: RouterHarness.secret)
            let staleAnswer = await h.api.handle(APIRequest(method: "GET", path: "/api/v3/account", rawQuery: stale + "&signature=\(staleSig)",
                                                           headers: ["x-mbx-apikey": RouterHarness.apiKey]))
            #expect(staleAnswer.body == #"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#)
            let big = await h.signed("GET", "/api/v3/account", "recvWindow=60001")
            #expect(big.body == #"{"code":-1131,"msg":"recvWindow must be less than 60000"}"#)
            // A read-only key cannot trade; an IP allowlist refuses other addresses.
            try await h.seedKey("readOnlyKey", userID: RouterHarness.userID, trade: false)
            #expect(await h.signed("POST", "/api/v3/order/test", order, apiKey: "readOnlyKey").body
                == #"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#)
            #expect(await h.signed("GET", "/api/v3/account", "omitZeroBalances=true", apiKey: "readOnlyKey").status == 200)
            try await h.seedKey("allowKey", userID: RouterHarness.userID, allow: ["10.0.0.1"])
            #expect(await h.signed("GET", "/api/v3/account", "", apiKey: "allowKey", ip: "127.0.0.1").status == 401)
            #expect(await h.signed("GET", "/api/v3/account", "", apiKey: "allowKey", ip: "10.0.0.1").status == 200)
        }
    }

    @Test func ed25519AndRSAKeys() async throws {
        try await RouterHarness.with { h in
            let ed = Curve25519.Signing.PrivateKey()
            try await h.seedKey("edKey", userID: RouterHarness.userID, type: .ed25519, pem: ed.publicKey.pemRepresentation)
            let query = "omitZeroBalances=true&timestamp=\(h.nowMs)"
            let edSig = try ed.signature(for: Array(query.utf8)).base64EncodedString()
                .replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(of: "=", with: "%3D")
            let ok = await h.api.handle(APIRequest(method: "GET", path: "/api/v3/account", rawQuery: query + "&signature=\(edSig)",
                                                  headers: ["x-mbx-apikey": "edKey"]))
            #expect(ok.status == 200)
            #expect(ok.body.contains(#""balances":[{"asset":"BTC","free":"1.50000000","locked":"0.00000000"},{"asset":"USDT","free":"10000.00000000","locked":"50.00000000"}]"#))
            let bad = await h.api.handle(APIRequest(method: "GET", path: "/api/v3/account", rawQuery: "omitZeroBalances=false&timestamp=\(h.nowMs)&signature=\(edSig)",
                                                   headers: ["x-mbx-apikey": "edKey"]))
            #expect(bad.body == APIError.invalidSignature.body)
        }
    }

    @Test func accountAndCommissionShapes() async throws {
        try await RouterHarness.with { h in
            let account = await h.signed("GET", "/api/v3/account", "")
            #expect(account.body == #"{"makerCommission":10,"takerCommission":10,"buyerCommission":0,"sellerCommission":0,"commissionRates":{"maker":"0.00100000","taker":"0.00100000","buyer":"0.00000000","seller":"0.00000000"},"canTrade":true,"canWithdraw":true,"canDeposit":true,"brokered":false,"requireSelfTradePrevention":false,"preventSor":false,"updateTime":1699999999000,"accountType":"SPOT","balances":[{"asset":"BTC","free":"1.50000000","locked":"0.00000000"},{"asset":"ETH","free":"0.00000000","locked":"0.00000000"},{"asset":"USDT","free":"10000.00000000","locked":"50.00000000"}],"permissions":["SPOT"],"uid":42}"#)
            #expect(account.header("X-MBX-USED-WEIGHT-1M") == "20")
            let commission = await h.signed("GET", "/api/v3/account/commission", "symbol=BTCUSDT")
            #expect(commission.body == #"{"symbol":"BTCUSDT","standardCommission":{"maker":"0.00100000","taker":"0.00100000","buyer":"0.00000000","seller":"0.00000000"},"specialCommission":{"maker":"0.00000000","taker":"0.00000000","buyer":"0.00000000","seller":"0.00000000"},"taxCommission":{"maker":"0.00000000","taker":"0.00000000","buyer":"0.00000000","seller":"0.00000000"},"discount":{"enabledForAccount":false,"enabledForSymbol":false,"discountAsset":"BNB","discount":"0.00000000"}}"#)
            let test = await h.signed("POST", "/api/v3/order/test", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&computeCommissionRates=true")
            #expect(test.body == #"{"standardCommissionForOrder":{"maker":"0.00100000","taker":"0.00100000"},"specialCommissionForOrder":{"maker":"0.00000000","taker":"0.00000000"},"taxCommissionForOrder":{"maker":"0.00000000","taker":"0.00000000"},"discount":{"enabledForAccount":false,"enabledForSymbol":false,"discountAsset":"BNB","discount":"0.00000000"}}"#)
            #expect(test.header("X-MBX-USED-WEIGHT-1M") == "60")  // account 20 + commission 20 + order/test with rates 20
        }
    }

    @Test func orderValidationErrors() async throws {
        try await RouterHarness.with { h in
            func order(_ q: String) async -> String { await h.signed("POST", "/api/v3/order/test", q).body }
            #expect(await order("side=BUY&type=LIMIT") == APIError.mandatory("symbol").body)
            #expect(await order("symbol=XXX&side=BUY&type=LIMIT") == APIError.invalidSymbol.body)
            #expect(await order("symbol=BTCUSDT&side=UP&type=LIMIT") == APIError.invalidSide.body)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=FOO") == APIError.invalidOrderType.body)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=50000")
                == #"{"code":-1102,"msg":"Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."}"#)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=MARKET&timeInForce=GTC&quantity=1")
                == #"{"code":-1106,"msg":"Parameter 'timeInForce' sent when not required."}"#)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=MARKET")
                == #"{"code":-1102,"msg":"Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"}"#)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000001&price=50000") == APIError.filterFailure("LOT_SIZE").body)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000.001") == APIError.filterFailure("PRICE_FILTER").body)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00001&price=50000") == APIError.filterFailure("NOTIONAL").body)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=1.123456789")
                == #"{"code":-1111,"msg":"Parameter 'price' has too much precision."}"#)
            #expect(await order("symbol=ETHBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1") == APIError.marketClosed.body)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&newClientOrderId=bad%20id")
                == APIError.illegalChars("newClientOrderId", pattern: OrderRouterAPI.clientOrderIDPattern).body)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&bogus=1")
                == #"{"code":-1104,"msg":"Not all sent parameters were read; read '7' parameter(s) but was sent '8'."}"#)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000") == "{}")
            // MAX_NUM_ORDERS (3 in this catalogue) counts the ledger's open-order projection.
            for id in 1...3 { try await h.seedOpenOrder(Self.openOrder(id: UInt64(id))) }
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000") == APIError.filterFailure("MAX_NUM_ORDERS").body)
            // Trading disabled on the account.
            var account = Exchange_V1_AccountAdmin()
            account.userID = RouterHarness.userID
            account.canTrade = false
            try await h.set(RedisNames.account(userID: RouterHarness.userID), account)
            #expect(await order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000") == APIError.tradingDisabled.body)
            // Nothing reached the log.
            let ends = try await h.log.endOffsets([TopicPartition(Topics.ordersRequests.name, 0), TopicPartition(Topics.ordersRequests.name, 1)])
            #expect(ends.values.reduce(0, +) == 0)
        }
    }

    static func openOrder(id: UInt64, client: String? = nil) -> Exchange_V1_OrderUpdate {
        var u = Exchange_V1_OrderUpdate()
        u.userID = RouterHarness.userID
        u.symbol = "BTCUSDT"
        u.orderID = id
        u.clientOrderID = client ?? "client\(id)"
        u.side = .buy
        u.type = .limit
        u.timeInForce = .gtc
        u.quantity = 100_000
        u.price = 4_000_000_000_000
        u.executionType = .new
        u.status = .new
        u.transactionTime = 1_789_999_999_000 + Int64(id)
        u.orderCreationTime = 1_789_999_999_000
        u.workingTime = 1_789_999_999_000
        u.isWorking = true
        u.selfTradePreventionMode = .expireMaker
        u.tradeID = -1
        return u
    }

    @Test func queriesFromProjections() async throws {
        try await RouterHarness.with { h in
            try await h.seedOpenOrder(Self.openOrder(id: 7, client: "abc"))
            let expected = #"{"symbol":"BTCUSDT","orderId":7,"orderListId":-1,"clientOrderId":"abc","price":"40000.00000000","origQty":"0.00100000","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.00000000","icebergQty":"0.00000000","time":1789999999000,"updateTime":1789999999007,"isWorking":true,"workingTime":1789999999000,"origQuoteOrderQty":"0.00000000","selfTradePreventionMode":"EXPIRE_MAKER"}"#
            #expect(await h.signed("GET", "/api/v3/order", "symbol=BTCUSDT&orderId=7").body == expected)
            #expect(await h.signed("GET", "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=abc").body == expected)
            #expect(await h.signed("GET", "/api/v3/order", "symbol=BTCUSDT&orderId=8").body == #"{"code":-2013,"msg":"Order does not exist."}"#)
            #expect(await h.signed("GET", "/api/v3/order", "symbol=BTCUSDT").body
                == #"{"code":-1102,"msg":"Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"}"#)
            let open = await h.signed("GET", "/api/v3/openOrders", "symbol=BTCUSDT")
            #expect(open.body == "[" + expected + "]")
            #expect(open.header("X-MBX-USED-WEIGHT-1M") == "22")  // 4+4+4+4 then 6
            #expect(await h.signed("GET", "/api/v3/openOrders", "").header("X-MBX-USED-WEIGHT-1M") == "102")
            #expect(await h.signed("GET", "/api/v3/allOrders", "symbol=BTCUSDT").body.hasPrefix(#"{"code":-1020,"#))
        }
    }

    @Test func userDataStream() async throws {
        try await RouterHarness.with { h in
            let headers = ["x-mbx-apikey": RouterHarness.apiKey]
            let created = await h.api.handle(APIRequest(method: "POST", path: "/api/v3/userDataStream", headers: headers))
            #expect(created.status == 200)
            let key = String(created.body.dropFirst(#"{"listenKey":""#.count).dropLast(2))
            #expect(key.count == 60)
            #expect(try await h.redis.send(["GET", RedisArgument("listenkey:\(key)")]).string == "42")
            let ttl = try await h.redis.send(["TTL", RedisArgument("listenkey:\(key)")]).integer ?? 0
            #expect(ttl > 3500 && ttl <= 3600)
            #expect(await h.api.handle(APIRequest(method: "PUT", path: "/api/v3/userDataStream", rawQuery: "listenKey=\(key)", headers: headers)).body == "{}")
            #expect(await h.api.handle(APIRequest(method: "DELETE", path: "/api/v3/userDataStream", rawQuery: "listenKey=\(key)", headers: headers)).body == "{}")
            #expect(await h.api.handle(APIRequest(method: "PUT", path: "/api/v3/userDataStream", rawQuery: "listenKey=\(key)", headers: headers)).body
                == #"{"code":-1125,"msg":"This listenKey does not exist."}"#)
            #expect(await h.api.handle(APIRequest(method: "POST", path: "/api/v3/userDataStream")).status == 401)
        }
    }

    @Test func ackAppendsDurablyAndAnswersAtOnce() async throws {
        try await RouterHarness.with { h in
            let answer = await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=50000&newClientOrderId=ack1")
            #expect(answer.status == 200)
            #expect(answer.header("X-MBX-ORDER-COUNT-10S") == "1" && answer.header("X-MBX-ORDER-COUNT-1D") == "1")
            let requests = try await h.requests(count: 1)
            #expect(requests.count == 1)
            let envelope = try #require(requests.first)
            guard case .placeOrder(let place) = envelope.payload else { Issue.record("not a PlaceOrder"); return }
            #expect(envelope.replyTo == "reply.order-router-1" && !envelope.requestID.isEmpty && envelope.producer == "order-router-1")
            #expect(place.userID == 42 && place.symbol == "BTCUSDT" && place.clientOrderID == "ack1" && place.type == .limitMaker)
            #expect(place.quantity == 100_000 && place.price == 5_000_000_000_000 && place.selfTradePreventionMode == .expireMaker)
            #expect(place.newOrderRespType == .ack && place.venue == .internal && place.receivedAtMs == 1_790_000_000_000)
            #expect(OrderIDGenerator.timestampMs(of: OrderID(place.orderID)) == 1_790_000_000_000)
            #expect(answer.body == #"{"symbol":"BTCUSDT","orderId":\#(place.orderID),"orderListId":-1,"clientOrderId":"ack1","transactTime":1790000000000}"#)
        }
    }

    static func fill(_ place: Exchange_V1_PlaceOrder) -> [Exchange_V1_Envelope] {
        var new = Exchange_V1_OrderUpdate()
        new.userID = place.userID
        new.symbol = place.symbol
        new.orderID = place.orderID
        new.clientOrderID = place.clientOrderID
        new.quantity = place.quantity
        new.price = place.price
        new.executionType = .new
        new.status = .new
        new.transactionTime = 1_790_000_000_005
        new.workingTime = 1_790_000_000_005
        var trade = new
        trade.executionType = .trade
        trade.status = .filled
        trade.lastExecutedQty = place.quantity
        trade.lastExecutedPrice = place.price
        trade.cumulativeFilledQty = place.quantity
        trade.cumulativeQuoteQty = 5_000_000_000
        trade.commissionAmount = 100
        trade.commissionAsset = "BTC"
        trade.tradeID = 7
        return [new, trade].map { u in
            var e = Exchange_V1_Envelope()
            e.payload = .orderUpdate(u)
            return e
        }
    }

    @Test func fullWaitsForTheOutcome() async throws {
        try await RouterHarness.with { h in
            // A "forwarded" outcome without events first (as the ledger may send), then matching's.
            try await h.respond { envelope in
                guard case .placeOrder(let place) = envelope.payload else { return nil }
                var outcome = Exchange_V1_RequestOutcome()
                outcome.requestID = envelope.requestID
                outcome.events = Self.fill(place)
                return outcome
            }
            let answer = await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&newClientOrderId=myOrder1")
            let id = try #require(try await h.requests(count: 1).first.flatMap { e -> UInt64? in
                if case .placeOrder(let p) = e.payload { return p.orderID } else { return nil }
            })
            #expect(answer.body == #"{"symbol":"BTCUSDT","orderId":\#(id),"orderListId":-1,"clientOrderId":"myOrder1","transactTime":1790000000005,"price":"50000.00000000","origQty":"0.00100000","executedQty":"0.00100000","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"50.00000000","status":"FILLED","timeInForce":"GTC","type":"LIMIT","side":"BUY","workingTime":1790000000005,"selfTradePreventionMode":"EXPIRE_MAKER","fills":[{"price":"50000.00000000","qty":"0.00100000","commission":"0.00000100","commissionAsset":"BTC","tradeId":7}]}"#)
            let result = await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&newOrderRespType=RESULT")
            #expect(result.status == 200 && result.body.hasSuffix(#""selfTradePreventionMode":"EXPIRE_MAKER"}"#))
        }
    }

    @Test func ledgerRejectionAndTimeout() async throws {
        try await RouterHarness.with(outcomeTimeout: .milliseconds(300)) { h in
            try await h.respond { envelope in
                guard case .placeOrder(let place) = envelope.payload, place.clientOrderID != "silent" else { return nil }
                var rejected = Exchange_V1_OrderRejected()
                rejected.code = -2010
                rejected.msg = "Account has insufficient balance for requested action."
                var e = Exchange_V1_Envelope()
                e.payload = .orderRejected(rejected)
                var outcome = Exchange_V1_RequestOutcome()
                outcome.requestID = envelope.requestID
                outcome.events = [e]
                return outcome
            }
            let rejected = await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=1")
            #expect(rejected.status == 400 && rejected.body == #"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#)
            let silent = await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=1&newClientOrderId=silent")
            #expect(silent.status == 503)
            #expect(silent.body == #"{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."}"#)
        }
    }

    @Test func cancelThroughTheLog() async throws {
        try await RouterHarness.with { h in
            try await h.seedOpenOrder(Self.openOrder(id: 9, client: "mine"))
            try await h.respond { envelope in
                guard case .cancelOrder(let cancel) = envelope.payload else { return nil }
                var u = Self.openOrder(id: cancel.orderID, client: cancel.newClientOrderID)
                u.origClientOrderID = cancel.origClientOrderID
                u.executionType = .canceled
                u.status = .canceled
                u.transactionTime = 1_790_000_000_009
                var e = Exchange_V1_Envelope()
                e.payload = .orderUpdate(u)
                var outcome = Exchange_V1_RequestOutcome()
                outcome.requestID = envelope.requestID
                outcome.events = [e]
                return outcome
            }
            let answer = await h.signed("DELETE", "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=mine&newClientOrderId=cancel1")
            #expect(answer.body == #"{"symbol":"BTCUSDT","origClientOrderId":"mine","orderId":9,"orderListId":-1,"clientOrderId":"cancel1","transactTime":1790000000009,"price":"40000.00000000","origQty":"0.00100000","executedQty":"0.00000000","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"BUY","selfTradePreventionMode":"EXPIRE_MAKER"}"#)
        }
    }

    @Test func weightLimitThen429ThenEscalatingBans() async throws {
        var limits = RateLimits()
        limits.requestWeightPerMinute = 3
        limits.violationsBeforeBan = 2
        try await RouterHarness.with(limits: limits) { h in
            for _ in 0..<3 { #expect(await h.get("/api/v3/ping").status == 200) }
            let limited = await h.get("/api/v3/ping")
            #expect(limited.status == 429 && limited.header("Retry-After") == "40" && limited.header("X-MBX-USED-WEIGHT-1M") == "4")
            #expect(limited.body == #"{"code":-1003,"msg":"Too much request weight used; current limit is 3 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."}"#)
            #expect(await h.get("/api/v3/ping").status == 429)
            let banned = await h.get("/api/v3/ping")
            #expect(banned.status == 418 && banned.header("Retry-After") == "120")
            #expect(banned.body.hasPrefix(#"{"code":-1003,"msg":"Way too much request weight used; IP banned until "#))
            // Another IP is unaffected; the ban outlives the weight window.
            #expect(await h.get("/api/v3/ping", ip: "10.1.1.1").status == 200)
            h.advance(ms: 60_000)
            #expect(await h.get("/api/v3/ping").status == 418)
            // When the ban expires (deleted here rather than waited for) the next one is twice as long.
            _ = try await h.redis.send(["DEL", "rl:ban:127.0.0.1"])
            for _ in 0..<3 { #expect(await h.get("/api/v3/ping").status == 200) }
            #expect(await h.get("/api/v3/ping").status == 429)
            #expect(await h.get("/api/v3/ping").status == 429)
            #expect(await h.get("/api/v3/ping").header("Retry-After") == "240")
        }
    }

    @Test func orderCountLimitsAreSharedThroughRedis() async throws {
        var limits = RateLimits()
        limits.ordersPer10Seconds = 2
        try await RouterHarness.with(limits: limits) { h in
            // A second limiter on its own connections stands for another router instance.
            let other = RateLimiter(limits: limits, redis: RedisPool(configuration: h.server.configuration, size: 1))
            let first = try await other.countOrder(userID: 42, nowMs: h.nowMs)
            #expect(first == .allowed(count10s: 1, countDay: 1))
            let second = await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=50000")
            #expect(second.status == 200 && second.header("X-MBX-ORDER-COUNT-10S") == "2")
            let third = await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=50000")
            #expect(third.status == 429 && third.header("X-MBX-ORDER-COUNT-10S") == "3" && third.header("Retry-After") == "10")
            #expect(third.body == #"{"code":-1015,"msg":"Too many new orders; current limit is 2 orders per 10 SECOND."}"#)
            let counts = await h.signed("GET", "/api/v3/rateLimit/order", "")
            #expect(counts.body == #"[{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":2,"count":3},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":200000,"count":3}]"#)
            h.advance(ms: 10_000)
            #expect(await h.signed("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=50000").status == 200)
        }
    }
}
