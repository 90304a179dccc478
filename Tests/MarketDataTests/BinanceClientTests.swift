import BinanceClient
import Crypto
import Foundation
import MarketDataCore
import Testing

@Suite("binance client pieces")
struct BinanceClientTests {
    /// The example of Binance's "SIGNED endpoint examples for POST /api/v3/order" (HMAC).
    @Test func hmacSignatureMatchesBinanceDocumentation() throws {
        let signer = RequestSigner.hmacSHA256(secret: "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        #expect(try signer.signature(of: query) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
    }

    @Test func ed25519SignatureVerifies() throws {
        let key = Curve25519.Signing.PrivateKey()
        let signer = RequestSigner.ed25519(privateKey: key)
        let payload = "symbol=BTCUSDT&timestamp=1"
        let signature = try #require(Data(base64Encoded: try signer.signature(of: payload)))
        #expect(key.publicKey.isValidSignature(signature, for: Data(payload.utf8)))
        #expect(QueryString.escape("a+b/c=") == "a%2Bb%2Fc%3D")
    }

    @Test func backoffGrowsAndIsCapped() {
        var backoff = ExponentialBackoff(base: .milliseconds(100), cap: .seconds(1))
        do {
            let result = backoff.next(random: 1)
            #expect(result == .milliseconds(100))
        }
        do {
            let result = backoff.next(random: 1)
            #expect(result == .milliseconds(200))
        }
        do {
            let result = backoff.next(random: 0.5)
            #expect(result == .milliseconds(200))
        }
        for _ in 0..<10 { _ = backoff.next(random: 1) }
        do {
            let result = backoff.next(random: 1)
            #expect(result == .seconds(1))
        }
        do {
            let result = backoff.next(random: 0)
            #expect(result == .zero)
        }
        backoff.reset()
        #expect(backoff.nextCeiling == .milliseconds(100))
    }

    @Test func circuitBreakerOpensAndHalfOpens() {
        var breaker = CircuitBreaker(failureThreshold: 2, openDuration: .seconds(10))
        let now = ContinuousClock.now
        do {
            let result = breaker.allow(now: now)
            #expect(result)
        }
        breaker.recordFailure(now: now)
        do {
            let result = breaker.allow(now: now)
            #expect(result)
        }
        breaker.recordFailure(now: now)
        do {
            let result = breaker.allow(now: now + .seconds(5))
            #expect(!result)
        }
        do {
            let result = breaker.allow(now: now + .seconds(11))
            #expect(result)  // half-open: one trial
        }
        do {
            let result = breaker.allow(now: now + .seconds(11))
            #expect(!result)
        }
        breaker.recordSuccess()
        do {
            let result = breaker.allow(now: now + .seconds(12))
            #expect(result)
        }
        breaker.hold(until: now + .seconds(20))
        do {
            let result = breaker.allow(now: now + .seconds(19))
            #expect(!result)
        }
    }

    @Test func klineIntervalBoundaries() {
        // 2021-10-12T00:28:31Z (a Tuesday).
        let time: Int64 = 1_633_998_511_159
        #expect(KlineInterval.m1.openTime(containing: time) == 1_633_998_480_000)
        #expect(KlineInterval.m1.closeTime(openTime: 1_633_998_480_000) == 1_633_998_539_999)
        #expect(KlineInterval.h1.openTime(containing: time) == 1_633_996_800_000)
        #expect(KlineInterval.d1.openTime(containing: time) == 1_633_996_800_000)
        // Weeks open on Monday 2021-10-11.
        #expect(KlineInterval.w1.openTime(containing: time) == 1_633_910_400_000)
        // Months: October 2021 opens 2021-10-01 and closes 2021-10-31T23:59:59.999.
        #expect(KlineInterval.mo1.openTime(containing: time) == 1_633_046_400_000)
        #expect(KlineInterval.mo1.closeTime(openTime: 1_633_046_400_000) == 1_635_724_799_999)
        #expect(KlineInterval.allCases.count == 16)
    }
}
