import Crypto
import ExchangeSecurity
import Foundation
import Testing
import _CryptoExtras

@testable import OrderRouterCore

/// Binance's documented signing examples and the three key types.
@Suite struct SignatureTests {
    // From Binance's "SIGNED Endpoint Examples for POST /api/v3/order" (HMAC).
    static let secret = Array("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".utf8)
    static let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"

    @Test func hmacExampleQueryString() throws {
        let parameters = try RequestParameters.parse(
            rawQuery: Self.query + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71", rawBody: []
        ).get()
        #expect(String(decoding: parameters.signaturePayload, as: UTF8.self) == Self.query)
        #expect(SignatureVerifier.hmacHex(payload: parameters.signaturePayload, secret: Self.secret)
            == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
        #expect(SignatureVerifier.verify(signature: parameters.signature!, payload: parameters.signaturePayload, scheme: .hmacSHA256(secret: Self.secret)))
    }

    @Test func hmacExampleBody() throws {
        let parameters = try RequestParameters.parse(
            rawQuery: "", rawBody: Array((Self.query + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71").utf8)
        ).get()
        #expect(SignatureVerifier.verify(signature: parameters.signature!, payload: parameters.signaturePayload, scheme: .hmacSHA256(secret: Self.secret)))
    }

    @Test func hmacExampleMixedQueryAndBody() throws {
        // Binance's example 3: the payload is the query string immediately followed by the body.
        let parameters = try RequestParameters.parse(
            rawQuery: "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            rawBody: Array("quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77".utf8)
        ).get()
        #expect(String(decoding: parameters.signaturePayload, as: UTF8.self)
            == "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
        #expect(SignatureVerifier.verify(signature: parameters.signature!, payload: parameters.signaturePayload, scheme: .hmacSHA256(secret: Self.secret)))
    }

    @Test func hmacIsCaseInsensitiveAndRefusesOthers() {
        let payload = Array(Self.query.utf8)
        let scheme = SignatureScheme.hmacSHA256(secret: Self.secret)
        #expect(SignatureVerifier.verify(signature: "C8DB56825AE71D6D79447849E617115F4A920FA2ACDCAB2B053C4B2838BD6B71", payload: payload, scheme: scheme))
        #expect(!SignatureVerifier.verify(signature: "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b72", payload: payload, scheme: scheme))
        #expect(!SignatureVerifier.verify(signature: "c8db", payload: payload, scheme: scheme))
        #expect(!SignatureVerifier.verify(signature: "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
                                          payload: payload + [0x31], scheme: scheme))
    }

    @Test func ed25519FromPEM() throws {
        let key = Curve25519.Signing.PrivateKey()
        let scheme = try SignatureScheme.ed25519(pem: key.publicKey.pemRepresentation)
        let payload = Array(Self.query.utf8)
        let signature = try key.signature(for: payload).base64EncodedString()
        #expect(SignatureVerifier.verify(signature: signature, payload: payload, scheme: scheme))
        #expect(!SignatureVerifier.verify(signature: signature, payload: payload + [0x30], scheme: scheme))
        // Base64 is case-sensitive: flipping the case of a letter breaks it.
        let flipped = String(signature.map { $0.isUppercase ? Character($0.lowercased()) : $0 })
        if flipped != signature { #expect(!SignatureVerifier.verify(signature: flipped, payload: payload, scheme: scheme)) }
    }

    @Test func rsaPKCS1SHA256FromPEM() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let scheme = try SignatureScheme.rsa(pem: key.publicKey.pemRepresentation)
        let payload = Array(Self.query.utf8)
        let signature = try key.signature(for: payload, padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
        #expect(SignatureVerifier.verify(signature: signature, payload: payload, scheme: scheme))
        #expect(!SignatureVerifier.verify(signature: signature, payload: Array("symbol=BTCUSDT".utf8), scheme: scheme))
        #expect(!SignatureVerifier.verify(signature: "not base64!", payload: payload, scheme: scheme))
    }
}

/// Query and body parsing as Binance does it.
@Suite struct ParameterTests {
    @Test func queryWinsOverBody() throws {
        var p = try RequestParameters.parse(rawQuery: "symbol=BTCUSDT&side=BUY", rawBody: Array("side=SELL&quantity=1".utf8)).get()
        #expect(p.raw("side") == "BUY")
        #expect(p.raw("quantity") == "1")
        #expect(p.checkAllRead() == .unreadParameters(read: 2, sent: 3))
        _ = p.raw("symbol")
        #expect(p.checkAllRead() == nil)
    }

    @Test func duplicatesAndEncoding() throws {
        #expect(throws: APIError.duplicateParameter) { try RequestParameters.parse(rawQuery: "a=1&a=2", rawBody: []).get() }
        var p = try RequestParameters.parse(rawQuery: "newClientOrderId=a%2Fb%3Ac+d", rawBody: []).get()
        #expect(p.raw("newClientOrderId") == "a/b:c d")
        #expect(throws: APIError.illegalChars("x")) { try RequestParameters.parse(rawQuery: "x=%G1", rawBody: []).get() }
    }

    @Test func decimalsAsBinanceRefusesThem() throws {
        var p = try RequestParameters.parse(rawQuery: "quantity=1e5&price=0.000000001&stopPrice=-1&icebergQty=0.10000000000", rawBody: []).get()
        #expect(p.decimal("quantity") == .failure(.illegalChars("quantity", pattern: "^([0-9]{1,20})(\\.[0-9]{1,20})?$")))
        #expect(p.decimal("price") == .failure(.tooMuchPrecision("price")))
        #expect(p.decimal("stopPrice") == .failure(.illegalChars("stopPrice", pattern: "^([0-9]{1,20})(\\.[0-9]{1,20})?$")))
        #expect(try p.decimal("icebergQty").get()?.raw == 10_000_000)
    }
}

@Suite struct TimestampRuleTests {
    let now: Int64 = 1_700_000_000_000_000  // µs

    @Test func millisecondsAndMicroseconds() throws {
        let ms = try TimestampRule.parse(timestamp: "1700000000000", recvWindow: nil).get()
        #expect(ms.timestampMicros == now && ms.recvWindowMicros == 5_000_000)
        let us = try TimestampRule.parse(timestamp: "1700000000000123", recvWindow: "6000.346").get()
        #expect(us.timestampMicros == now + 123 && us.recvWindowMicros == 6_000_346)
    }

    @Test func refusals() {
        #expect(TimestampRule.parse(timestamp: nil, recvWindow: nil) == .failure(.mandatory("timestamp")))
        #expect(TimestampRule.parse(timestamp: "12a", recvWindow: nil).isFailure)
        #expect(TimestampRule.parse(timestamp: "1700000000000", recvWindow: "60000.001") == .failure(.badRecvWindow))
        #expect(TimestampRule.parse(timestamp: "1700000000000", recvWindow: "100.1234").isFailure)
        #expect(TimestampRule.parse(timestamp: "1700000000000", recvWindow: "60000").isSuccess)
    }

    @Test func acceptanceWindow() throws {
        let rule = try TimestampRule.parse(timestamp: "1700000000000", recvWindow: "5000").get()
        #expect(rule.check(nowMicros: now) == nil)
        #expect(rule.check(nowMicros: now + 5_000_000) == nil)
        #expect(rule.check(nowMicros: now + 5_000_001) == .timestampOutside)
        #expect(rule.check(nowMicros: now - 999_999) == nil)
        #expect(rule.check(nowMicros: now - 1_000_000) == .timestampAhead)
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
    var isSuccess: Bool { !isFailure }
}
