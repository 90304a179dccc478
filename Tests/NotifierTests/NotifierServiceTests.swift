import Crypto
import ExchangeProtocol
import ExchangeSecurity
import ExchangeTestSupport
import Foundation
import Logging
import Messaging
import NIOCore
import NotifierCore
import NotifierService
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A private redis-server and notifier instances on free loopback ports.
struct NotifierHarness: Sendable {
    let redis: RedisTestServer
    let client: RedisClient
    let ports: [Int]
    let servers: [NotifierServer]

    func url(_ path: String, instance: Int = 0) -> String { "ws://127.0.0.1:\(ports[instance])\(path)" }

    /// Runs `body` against `instances` notifiers; shuts them down gracefully afterwards.
    static func with(
        instances: Int = 1, limits: ConnectionLimits = ConnectionLimits(), masterKey: MasterKey? = nil,
        symbols: [String] = ["BTCUSDT", "ETHBTC"], listenKeyCheckInterval: Duration = .seconds(30), eventLoops: Int? = nil,
        _ body: @Sendable (NotifierHarness) async throws -> Void
    ) async throws {
        let redis = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: redis.configuration)
        let ports = Mutex<[Int: Int]>([:])
        var servers: [NotifierServer] = []
        for i in 0..<instances {
            var logger = Logger(label: "test.notifier.\(i)")
            logger.logLevel = .warning
            servers.append(NotifierServer(
                configuration: NotifierConfiguration(
                    host: "127.0.0.1", port: 0, redis: redis.configuration, limits: limits, masterKey: masterKey,
                    symbols: symbols, listenKeyCheckInterval: listenKeyCheckInterval, eventLoops: eventLoops,
                    onListening: { port in ports.withLock { $0[i] = port } }),
                logger: logger))
        }
        let group = ServiceGroup(services: servers, gracefulShutdownSignals: [], logger: Logger(label: "test.group"))
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let deadline = ContinuousClock.now.advanced(by: .seconds(20))
                while ports.withLock({ $0.count }) < instances, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                let bound = ports.withLock { p in (0..<instances).map { p[$0] ?? 0 } }
                try #require(bound.allSatisfy { $0 > 0 })
                defer { tasks.cancelAll() }
                do {
                    try await body(NotifierHarness(redis: redis, client: client, ports: bound, servers: servers))
                } catch {
                    await group.triggerGracefulShutdown()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.next()
            }
        } catch {
            await client.close()
            await redis.teardown()
            throw error
        }
        await client.close()
        await redis.teardown()
    }

    /// Waits until `channel` has `count` Redis subscribers (the notifiers' SUBSCRIBE went through).
    func waitSubscribers(_ channel: String, _ count: Int) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            let reply = try await client.send("PUBSUB", "NUMSUB", RedisArgument(channel))
            if let n = reply.array?.last?.integer, n == count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("\(channel) never reached \(count) subscribers")
    }

    /// Waits until `count` connections of every instance are registered on `stream`.
    func waitStream(_ stream: MarketStream, _ count: Int) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while servers.contains(where: { $0.hub.subscribers(of: stream) < count }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func publish(_ channel: String, _ payload: Exchange_V1_Envelope.OneOf_Payload, emittedAt: Int64 = 1_700_000_000_000) async throws {
        var envelope = Exchange_V1_Envelope()
        envelope.schemaVersion = 1
        envelope.emittedAtMs = emittedAt
        envelope.payload = payload
        _ = try await client.send("PUBLISH", RedisArgument(channel), RedisArgument(bytes: try envelope.serializedBytes()))
    }
}

/// A counter several client tasks share.
final class Tally: Sendable {
    let value = Atomic<Int>(0)
}

enum Samples {
    static func trade(_ id: Int64, symbol: String = "BTCUSDT") -> Exchange_V1_Envelope.OneOf_Payload {
        var t = Exchange_V1_MdTrade()
        t.symbol = symbol
        t.venue = "internal"
        t.tradeID = id
        t.price = 4_200_000_000_000
        t.quantity = 100_000
        t.tradeTime = 1_700_000_000_000 + id
        t.eventTime = 1_700_000_000_001 + id
        t.buyerIsMaker = id % 2 == 0
        return .mdTrade(t)
    }

    static func bookTicker(_ id: Int64) -> Exchange_V1_Envelope.OneOf_Payload {
        var t = Exchange_V1_MdBookTicker()
        t.symbol = "BTCUSDT"
        t.updateID = id
        t.bidPrice = 100
        t.bidQuantity = 1
        t.askPrice = 200
        t.askQuantity = 2
        return .mdBookTicker(t)
    }

    static func diff(_ first: Int64, _ last: Int64, bids: [(Int64, Int64)], asks: [(Int64, Int64)]) -> Exchange_V1_Envelope.OneOf_Payload {
        .mdDepthDiff(NotifierCoreTests.diff(first, last, bids: bids, asks: asks))
    }
}

@Suite("Notifier service (redis-server, WebSocket clients on loopback)")
struct NotifierServiceTests {
    @Test("raw /ws/<stream> and combined /stream?streams= get the same payload, combined wrapped")
    func rawAndCombined() async throws {
        try await NotifierHarness.with { h in
            try await WSTestClient.with(h.url("/ws/btcusdt@trade")) { raw in
                try await WSTestClient.with(h.url("/stream?streams=btcusdt@trade/btcusdt@bookTicker")) { combined in
                    try await h.waitStream(.trade(symbol: "BTCUSDT"), 2)
                    try await h.waitSubscribers("md.trades.BTCUSDT", 1)
                    try await h.waitSubscribers("md.tickers.BTCUSDT", 1)
                    try await h.publish("md.trades.BTCUSDT", Samples.trade(7))
                    try await h.publish("md.tickers.BTCUSDT", Samples.bookTicker(9))
                    let expected = #"{"e":"trade","E":1700000000008,"s":"BTCUSDT","t":7,"p":"42000.00000000","q":"0.00100000","T":1700000000007,"m":false,"M":true}"#
                    #expect(await raw.wait(for: 1) == [expected])
                    let got = await combined.wait(for: 2)
                    #expect(got == [
                        #"{"stream":"btcusdt@trade","data":"# + expected + "}",
                        #"{"stream":"btcusdt@bookTicker","data":{"u":9,"s":"BTCUSDT","b":"0.00000100","B":"0.00000001","a":"0.00000200","A":"0.00000002"}}"#,
                    ])
                }
            }
        }
    }

    @Test("live methods over the wire; the Redis channel is reference-counted and released")
    func liveMethodsAndReferenceCounting() async throws {
        try await NotifierHarness.with { h in
            try await WSTestClient.with(h.url("/ws")) { c in
                c.send(#"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@aggTrade"],"id":1}"#)
                #expect(await c.wait(for: 1).last == #"{"result":null,"id":1}"#)
                try await h.waitSubscribers("md.trades.BTCUSDT", 1)
                // Two streams share one channel: one reference per stream, one Redis SUBSCRIBE.
                #expect(h.servers[0].hub.channelReferences["md.trades.BTCUSDT"] == 2)
                c.send(#"{"method":"LIST_SUBSCRIPTIONS","id":"q2"}"#)
                #expect(await c.wait(for: 2).last == #"{"result":["btcusdt@trade","btcusdt@aggTrade"],"id":"q2"}"#)
                c.send(#"{"method":"SET_PROPERTY","params":["combined",true],"id":3}"#)
                #expect(await c.wait(for: 3).last == #"{"result":null,"id":3}"#)
                try await h.publish("md.trades.BTCUSDT", Samples.trade(1))
                #expect(await c.wait(for: 4).last?.hasPrefix(#"{"stream":"btcusdt@trade","data":{"e":"trade""#) == true)
                c.send(#"{"method":"GET_PROPERTY","params":["combined"],"id":4}"#)
                #expect(await c.wait(for: 5).last == #"{"result":true,"id":4}"#)
                c.send(#"{"method":"SUBSCRIBE","params":["btcusdt@nope"],"id":5}"#)
                #expect(await c.wait(for: 6).last == #"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":5}"#)
                // Stay under 5 messages per second.
                try await Task.sleep(for: .milliseconds(1100))
                c.send(#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade","btcusdt@aggTrade"],"id":6}"#)
                #expect(await c.wait(for: 7).last == #"{"result":null,"id":6}"#)
                try await h.waitSubscribers("md.trades.BTCUSDT", 0)
                #expect(h.servers[0].hub.channelReferences["md.trades.BTCUSDT"] == nil)
            }
        }
    }

    @Test("fan-out over 4 event loops: every client gets every trade once, in order, raw or combined, also after switching")
    func fanOutAcrossEventLoops() async throws {
        try await NotifierHarness.with(eventLoops: 4) { h in
            // 12 connections land on the server's 4 loops; every third one is combined.
            let paths = (0..<12).map { $0 % 3 == 0 ? "/stream?streams=btcusdt@trade" : "/ws/btcusdt@trade" }
            try await Self.withClients(paths.map { h.url($0) }) { clients in
                try await h.waitStream(.trade(symbol: "BTCUSDT"), clients.count)
                try await h.waitSubscribers("md.trades.BTCUSDT", 1)
                for id in 1...100 { try await h.publish("md.trades.BTCUSDT", Samples.trade(Int64(id))) }
                let raw = await clients[1].wait(for: 100)
                #expect(raw.count == 100)
                // Client 2 (raw) switches to combined; nothing is lost or reordered around the switch.
                clients[2].send(#"{"method":"SET_PROPERTY","params":["combined",true],"id":1}"#)
                #expect(await clients[2].wait(for: 101).last == #"{"result":null,"id":1}"#)
                for id in 101...150 { try await h.publish("md.trades.BTCUSDT", Samples.trade(Int64(id))) }
                let all = await clients[1].wait(for: 150)
                #expect(all.count == 150)
                #expect(all.map { Self.tradeID($0) } == Array(1...150))
                for (i, c) in clients.enumerated() {
                    var got = await c.wait(for: i == 2 ? 151 : 150)
                    if i == 2 {
                        got.removeAll { $0 == #"{"result":null,"id":1}"# }
                        #expect(got == Array(all[0..<100]) + all[100...].map { #"{"stream":"btcusdt@trade","data":"# + $0 + "}" })
                    } else if i % 3 == 0 {
                        #expect(got == all.map { #"{"stream":"btcusdt@trade","data":"# + $0 + "}" })
                    } else {
                        #expect(got == all)
                    }
                }
            }
        }
    }

    /// Connects to every url (nested), runs `body` with all the clients, closes them after it.
    static func withClients(_ urls: [String], _ connected: [WSTestClient] = [], _ body: @Sendable ([WSTestClient]) async throws -> Void) async throws {
        guard let first = urls.first else { return try await body(connected) }
        try await WSTestClient.with(first) { c in try await withClients(Array(urls.dropFirst()), connected + [c], body) }
    }

    /// The `t` of a raw trade payload.
    static func tradeID(_ payload: String) -> Int? {
        guard let range = payload.range(of: #""t":"#) else { return nil }
        return Int(payload[range.upperBound...].prefix { $0.isNumber })
    }

    @Test("two instances: clients on either get identical payloads; one Redis subscription per instance")
    func twoInstancesIdenticalPayloads() async throws {
        try await NotifierHarness.with(instances: 2) { h in
            try await WSTestClient.with(h.url("/ws/btcusdt@trade", instance: 0)) { a in
                try await WSTestClient.with(h.url("/ws/btcusdt@trade", instance: 0)) { b in
                    try await WSTestClient.with(h.url("/ws/btcusdt@trade", instance: 1)) { c in
                        try await WSTestClient.with(h.url("/stream?streams=btcusdt@trade", instance: 1)) { d in
                            try await h.waitSubscribers("md.trades.BTCUSDT", 2)
                            // Every client's subscription is registered on its instance before publishing.
                            try await h.waitStream(.trade(symbol: "BTCUSDT"), 2)
                            for id in 1...20 { try await h.publish("md.trades.BTCUSDT", Samples.trade(Int64(id))) }
                            let ma = await a.wait(for: 20), mb = await b.wait(for: 20), mc = await c.wait(for: 20)
                            let md = await d.wait(for: 20)
                            #expect(ma.count == 20)
                            #expect(ma == mb)
                            #expect(ma == mc)
                            #expect(md == ma.map { #"{"stream":"btcusdt@trade","data":"# + $0 + "}" })
                        }
                    }
                }
            }
        }
    }

    @Test("depth-sync: a client following Binance's procedure on @depth@100ms rebuilds the publisher's book exactly")
    func depthSync() async throws {
        try await NotifierHarness.with { h in
            // The "engine" book: a start at 89, 60 continuous diffs after it; the REST snapshot a
            // client fetches is the engine's book as of the first id >= 100 (mid-stream, as on Binance).
            var engine = PartialDepthBook(symbol: "BTCUSDT")
            engine.load(lastUpdateID: 89, bids: [DepthDiffWindowTestsLevel.make(1000, 5), DepthDiffWindowTestsLevel.make(990, 3)],
                        asks: [DepthDiffWindowTestsLevel.make(1010, 4), DepthDiffWindowTestsLevel.make(1020, 8)])
            var diffs: [Exchange_V1_MdDepthDiff] = []
            var next: Int64 = 90
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<60 {
                let count = Int64.random(in: 1...3, using: &rng)
                let bids = [(Int64.random(in: 950...1005, using: &rng), Int64.random(in: 0...9, using: &rng))]
                let asks = [(Int64.random(in: 1006...1060, using: &rng), Int64.random(in: 0...9, using: &rng))]
                diffs.append(NotifierCoreTests.diff(next, next + count - 1, bids: bids, asks: asks))
                next += count
            }
            var snapshot: (lastUpdateID: Int64, bids: [Exchange_V1_PriceLevel], asks: [Exchange_V1_PriceLevel])?
            for d in diffs {
                _ = engine.apply(d)
                if snapshot == nil, d.finalUpdateID >= 100 { snapshot = engine.top(1000) }
            }
            let rest = try #require(snapshot)
            let published = diffs, finalID = next - 1
            let engineTop = try #require(engine.top(1000))
            try await WSTestClient.with(h.url("/ws/btcusdt@depth@100ms")) { c in
                try await h.waitSubscribers("md.depth.BTCUSDT", 1)
                for (i, d) in published.enumerated() {
                    try await h.publish("md.depth.BTCUSDT", .mdDepthDiff(d))
                    if i % 10 == 9 { try await Task.sleep(for: .milliseconds(150)) }  // several windows
                }
                // Wait for the last window to reach the final id.
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while ContinuousClock.now < deadline, !(c.messages.last?.contains("\"u\":\(finalID),") ?? false) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let updates = try c.messages.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                #expect(updates.count > 1)
                // Continuity: each U is the previous u + 1.
                for (a, b) in zip(updates, updates.dropFirst()) {
                    #expect((b["U"] as! Int) == (a["u"] as! Int) + 1)
                }
                // Binance's procedure with that snapshot (as GET /api/v3/depth would give it).
                var client = [String: [String: String]]()
                client["b"] = Dictionary(uniqueKeysWithValues: rest.bids.map { (Fixed8(raw: $0.price).description, Fixed8(raw: $0.quantity).description) })
                client["a"] = Dictionary(uniqueKeysWithValues: rest.asks.map { (Fixed8(raw: $0.price).description, Fixed8(raw: $0.quantity).description) })
                var last = Int(rest.lastUpdateID)
                var first = true
                for u in updates {
                    let U = u["U"] as! Int, uu = u["u"] as! Int
                    if uu <= last { continue }
                    if first { #expect(U <= last + 1 && uu >= last + 1); first = false } else { #expect(U == last + 1) }
                    for side in ["b", "a"] {
                        for level in u[side] as! [[String]] {
                            if level[1] == "0.00000000" { client[side]![level[0]] = nil } else { client[side]![level[0]] = level[1] }
                        }
                    }
                    last = uu
                }
                let top = engineTop
                #expect(last == Int(top.lastUpdateID))
                #expect(client["b"] == Dictionary(uniqueKeysWithValues: top.bids.map { (Fixed8(raw: $0.price).description, Fixed8(raw: $0.quantity).description) }))
                #expect(client["a"] == Dictionary(uniqueKeysWithValues: top.asks.map { (Fixed8(raw: $0.price).description, Fixed8(raw: $0.quantity).description) }))
            }
        }
    }

    @Test("partial depth: the local book starts from mdDepth:<SYMBOL> and follows the diffs")
    func partialDepth() async throws {
        try await NotifierHarness.with { h in
            var snap = Exchange_V1_MdDepthSnapshot()
            snap.symbol = "BTCUSDT"
            snap.lastUpdateID = 50
            snap.bids = [DepthDiffWindowTestsLevel.make(1000, 5)]
            snap.asks = [DepthDiffWindowTestsLevel.make(1010, 4)]
            _ = try await h.client.send("SET", RedisArgument(RedisNames.marketDepth(symbol: "BTCUSDT")), RedisArgument(bytes: try snap.serializedBytes()))
            try await WSTestClient.with(h.url("/ws/btcusdt@depth5@100ms")) { c in
                try await h.waitSubscribers("md.depth.BTCUSDT", 1)
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while h.servers[0].hub.bookIsWaiting("BTCUSDT"), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                try await h.publish("md.depth.BTCUSDT", Samples.diff(51, 52, bids: [(1001, 1)], asks: [(1010, 0), (1011, 2)]))
                let want = #"{"lastUpdateId":52,"bids":[["0.00001001","0.00000001"],["0.00001000","0.00000005"]],"asks":[["0.00001011","0.00000002"]]}"#
                while ContinuousClock.now < deadline, !c.messages.contains(want) { try await Task.sleep(for: .milliseconds(20)) }
                #expect(c.messages.contains(want))
            }
        }
    }

    @Test("legacy user data: /ws/<listenKey> relays the user's events; a lapsed key sends listenKeyExpired and closes")
    func legacyUserStream() async throws {
        try await NotifierHarness.with(listenKeyCheckInterval: .milliseconds(200)) { h in
            _ = try await h.client.send("SET", RedisArgument(RedisNames.listenKey("lk1")), "42", "EX", "3600")
            try await WSTestClient.with(h.url("/ws/lk1")) { c in
                try await h.waitSubscribers("user.42", 1)
                var u = Exchange_V1_OrderUpdate()
                u.userID = 42
                u.symbol = "BTCUSDT"
                u.orderID = 9
                u.executionType = .new
                u.status = .new
                try await h.publish("user.42", .orderUpdate(u))
                let got = await c.wait(for: 1)
                #expect(got.first?.hasPrefix(#"{"e":"executionReport","E":1700000000000,"s":"BTCUSDT""#) == true)
                _ = try await h.client.send("DEL", RedisArgument(RedisNames.listenKey("lk1")))
                await c.waitClosed()
                #expect(c.messages.last?.hasPrefix(#"{"e":"listenKeyExpired","E":"#) == true)
                #expect(c.messages.last?.hasSuffix(#","listenKey":"lk1"}"#) == true)
            }
            try await h.waitSubscribers("user.42", 0)
        }
    }

    static func signed(_ params: [(String, String)], sign: (String) -> String) -> String {
        let payload = params.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return params.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + ",\"signature\":\"\(sign(payload))\""
    }

    @Test("WebSocket API: session.logon (Ed25519), status, userDataStream.subscribe, events wrapped, subscribe.signature (HMAC), unsubscribe")
    func webSocketAPI() async throws {
        let master = try MasterKey(hex: MasterKey.generateHex())
        try await NotifierHarness.with(masterKey: master) { h in
            let ed = Curve25519.Signing.PrivateKey()
            var edKey = Exchange_V1_ApiKeyAdmin()
            edKey.userID = 42
            edKey.apiKey = "edKey1"
            edKey.keyType = .ed25519
            edKey.publicKeyPem = ed.publicKey.pemRepresentation
            edKey.permitRead = true
            _ = try await h.client.send("SET", RedisArgument(RedisNames.apiKey("edKey1")), RedisArgument(bytes: try edKey.serializedBytes()))
            let secret = Array("s3cr3t".utf8)
            var hmacKey = Exchange_V1_ApiKeyAdmin()
            hmacKey.userID = 43
            hmacKey.apiKey = "hmacKey1"
            hmacKey.keyType = .hmac
            hmacKey.encryptedSecret = Data(try SecretBox.seal(secret, apiKey: "hmacKey1", with: master))
            hmacKey.permitRead = true
            _ = try await h.client.send("SET", RedisArgument(RedisNames.apiKey("hmacKey1")), RedisArgument(bytes: try hmacKey.serializedBytes()))

            try await WSTestClient.with(h.url("/ws-api/v3")) { c in
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let logon = Self.signed([("apiKey", "edKey1"), ("timestamp", "\(now)")]) { payload in
                    try! ed.signature(for: Data(payload.utf8)).base64EncodedString()
                }
                c.send(#"{"id":"l1","method":"session.logon","params":{"# + logon + "}}")
                let r1 = await c.wait(for: 1)
                #expect(r1.last?.hasPrefix(#"{"id":"l1","status":200,"result":{"apiKey":"edKey1","authorizedSince":"#) == true)
                c.send(#"{"id":2,"method":"userDataStream.subscribe"}"#)
                #expect(await c.wait(for: 2).last?.hasPrefix(#"{"id":2,"status":200,"result":{"subscriptionId":0},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT""#) == true)
                c.send(#"{"id":3,"method":"userDataStream.subscribe"}"#)
                #expect(await c.wait(for: 3).last?.hasPrefix(#"{"id":3,"status":400,"error":{"code":-2035,"#) == true)
                try await h.waitSubscribers("user.42", 1)
                var change = Exchange_V1_BalanceChange()
                change.userID = 42
                change.reason = .trade
                change.time = 5
                try await h.publish("user.42", .balanceChange(change))
                #expect(await c.wait(for: 4).last == #"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1700000000000,"u":5,"B":[]}}"#)

                let sub = Self.signed([("apiKey", "hmacKey1"), ("timestamp", "\(now)")]) { payload in
                    SignatureVerifier.hmacHex(payload: Array(payload.utf8), secret: secret)
                }
                c.send(#"{"id":5,"method":"userDataStream.subscribe.signature","params":{"# + sub + "}}")
                #expect(await c.wait(for: 5).last?.hasPrefix(#"{"id":5,"status":200,"result":{"subscriptionId":1}"#) == true)
                let bad = Self.signed([("apiKey", "hmacKey1"), ("timestamp", "\(now)")]) { _ in String(repeating: "0", count: 64) }
                c.send(#"{"id":6,"method":"userDataStream.subscribe.signature","params":{"# + bad + "}}")
                #expect(await c.wait(for: 6).last?.hasPrefix(#"{"id":6,"status":400,"error":{"code":-1022,"#) == true)
                try await h.waitSubscribers("user.43", 1)
                c.send(#"{"id":7,"method":"userDataStream.unsubscribe","params":{"subscriptionId":1}}"#)
                #expect(await c.wait(for: 7).last?.hasPrefix(#"{"id":7,"status":200,"result":{}"#) == true)
                try await h.waitSubscribers("user.43", 0)
                c.send(#"{"id":8,"method":"session.status"}"#)
                #expect(await c.wait(for: 8).last?.contains(#""userDataStream":true"#) == true)
                c.send(#"{"id":9,"method":"time"}"#)
                #expect(await c.wait(for: 9).last?.hasPrefix(#"{"id":9,"status":200,"result":{"serverTime":"#) == true)
                c.send(#"{"id":10,"method":"session.logout"}"#)
                #expect(await c.wait(for: 10).last?.hasPrefix(#"{"id":10,"status":200,"result":{"apiKey":null"#) == true)
                try await h.waitSubscribers("user.42", 0)
            }
        }
    }

    @Test("tickers: @ticker per record, !miniTicker@arr once a second with the symbols that changed")
    func tickers() async throws {
        try await NotifierHarness.with { h in
            try await WSTestClient.with(h.url("/stream?streams=!miniTicker@arr/btcusdt@ticker/ethbtc@miniTicker")) { c in
                try await h.waitSubscribers("md.tickers.BTCUSDT", 1)
                try await h.waitSubscribers("md.tickers.ETHBTC", 1)
                try await h.publish("md.tickers.ETHBTC", .mdTicker(NotifierCoreTests.ticker("ETHBTC", mini: true)))
                try await h.publish("md.tickers.BTCUSDT", .mdTicker(NotifierCoreTests.ticker("BTCUSDT", mini: true)))
                try await h.publish("md.tickers.BTCUSDT", .mdTicker(NotifierCoreTests.ticker("BTCUSDT", mini: false)))
                let btc = NotifierCoreTests.ticker("BTCUSDT", mini: true)
                let eth = NotifierCoreTests.ticker("ETHBTC", mini: true)
                func arrayMessage(_ tickers: [Exchange_V1_MdTicker]) -> String {
                    #"{"stream":"!miniTicker@arr","data":"# + MarketPayloads.miniTickerArray(tickers) + "}"
                }
                // One array with both symbols, or (when the two publishes straddle a second) one each.
                var got = await c.wait(for: 3)
                if !got.contains(arrayMessage([btc, eth])) { got = await c.wait(for: 4) }
                #expect(got.contains { $0.hasPrefix(#"{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","#) })
                #expect(got.contains { $0.hasPrefix(#"{"stream":"ethbtc@miniTicker","data":{"e":"24hrMiniTicker","#) })
                let arrays = got.filter { $0.hasPrefix(#"{"stream":"!miniTicker@arr","data":["#) }
                #expect(arrays == [arrayMessage([btc, eth])] || arrays == [arrayMessage([eth]), arrayMessage([btc])], "\(arrays)")
            }
        }
    }

    @Test("more than 5 messages in a second closes the connection with a reason")
    func messageRateLimit() async throws {
        try await NotifierHarness.with { h in
            try await WSTestClient.with(h.url("/ws")) { c in
                for i in 0..<8 { c.send(#"{"method":"LIST_SUBSCRIPTIONS","id":\#(i)}"#) }
                await c.waitClosed()
                #expect(c.isClosed)
                #expect(c.close?.reason == "Too many messages: more than 5 per second")
            }
        }
    }

    @Test("a slow consumer's queue is bounded: past it the connection is closed, not buffered")
    func slowConsumer() {
        let c = ClientConnection(combined: false, capacity: 3)
        for i in 0..<3 { c.send("\(i)") }
        #expect(c.closing == nil)
        c.send("overflow")
        #expect(c.closing == .slowConsumer)
    }

    @Test("a client that stops reading is disconnected once its bounded queue is full (memory stays bounded)")
    func slowConsumerOverTheWire() async throws {
        var limits = ConnectionLimits()
        limits.outboundBuffer = 64
        try await NotifierHarness.with(limits: limits) { h in
            // A raw socket: the WebSocket handshake, then never another read.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(fd >= 0)
            defer { close(fd) }
            var small: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(h.ports[0]).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(rc == 0)
            let request = "GET /ws/btcusdt@trade HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = recv(fd, &buffer, buffer.count, 0)
            #expect(String(decoding: buffer[0..<max(0, n)], as: UTF8.self).hasPrefix("HTTP/1.1 101"))
            try await h.waitSubscribers("md.trades.BTCUSDT", 1)
            #expect(h.servers[0].hub.connectionCount == 1)
            // Far more than the socket buffers and the 64-frame queue hold.
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            var id: Int64 = 1
            while h.servers[0].hub.connectionCount > 0, ContinuousClock.now < deadline {
                var commands: [[RedisArgument]] = []
                var envelope = Exchange_V1_Envelope()
                envelope.schemaVersion = 1
                for _ in 0..<500 {
                    envelope.payload = Samples.trade(id)
                    id += 1
                    commands.append(["PUBLISH", "md.trades.BTCUSDT", RedisArgument(bytes: try envelope.serializedBytes())])
                }
                _ = try await h.client.pipeline(commands)
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(h.servers[0].hub.connectionCount == 0)
            #expect(h.servers[0].hub.closeReasons == [.slowConsumer: 1])
            try await h.waitSubscribers("md.trades.BTCUSDT", 0)
        }
    }

    @Test("a frame is encoded once as RFC 6455 puts it: FIN+text, 7/16/64-bit length, the UTF-8 bytes", arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
    func encodedFrame(length: Int) {
        // Multi-byte characters: the length field counts bytes, not characters.
        let text = String(repeating: "é", count: length / 2) + String(repeating: "a", count: length % 2)
        let frame = ByteBuffer(webSocketText: text)
        let bytes = Array(frame.readableBytesView)
        #expect(bytes[0] == 0x81)
        let header: Int
        switch length {
        case ..<126:
            header = 2
            #expect(Int(bytes[1]) == length)
        case ...65_535:
            header = 4
            #expect(bytes[1] == 126)
            #expect(Int(bytes[2]) << 8 | Int(bytes[3]) == length)
        default:
            header = 10
            #expect(bytes[1] == 127)
            #expect(bytes[2..<10].reduce(0) { $0 << 8 | Int($1) } == length)
        }
        #expect(bytes.count == header + length)
        #expect(Array(bytes[header...]) == Array(text.utf8))
    }

    @Test("fan-out to many connections (spread over the event loops): every client gets every frame, in order, byte for byte")
    func fanOutToMany() async throws {
        try await NotifierHarness.with { h in
            let count = 16
            let trades: Int64 = 100
            let received = try await withThrowingTaskGroup(of: [String].self) { group in
                let ready = Tally()
                for _ in 0..<count {
                    group.addTask {
                        try await WSTestClient.with(h.url("/ws/btcusdt@trade")) { c in
                            ready.value.add(1, ordering: .relaxed)
                            return await c.wait(for: Int(trades), timeout: .seconds(30))
                        }
                    }
                }
                while ready.value.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(10)) }
                try await h.waitStream(.trade(symbol: "BTCUSDT"), count)
                try await h.waitSubscribers("md.trades.BTCUSDT", 1)
                for id in 1...trades { try await h.publish("md.trades.BTCUSDT", Samples.trade(id)) }
                var all: [[String]] = []
                for try await messages in group { all.append(messages) }
                return all
            }
            var expected: [String] = []
            for id in 1...trades {
                guard case .mdTrade(let t) = Samples.trade(id) else { continue }
                expected.append(MarketPayloads.trade(t))
            }
            #expect(received.count == count)
            for messages in received { #expect(messages == expected) }
        }
    }

    @Test("graceful shutdown sends serverShutdown before closing")
    func serverShutdown() async throws {
        let redis = try await RedisTestServer.start()
        defer { Task.detached { await redis.teardown() } }
        let port = Mutex(0)
        let server = NotifierServer(
            configuration: NotifierConfiguration(port: 0, redis: redis.configuration, onListening: { p in port.withLock { $0 = p } }),
            logger: Logger(label: "test.shutdown"))
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: Logger(label: "test.group"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            try await WSTestClient.with("ws://127.0.0.1:\(port.withLock { $0 })/ws/btcusdt@trade") { c in
                while server.hub.connectionCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
                // A reply first: the client has finished its side of the upgrade (frames that reach
                // HummingbirdWSClient while it is still upgrading can be lost, seen under load).
                c.send(#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#)
                _ = await c.wait(for: 1)
                await group.triggerGracefulShutdown()
                await c.waitClosed()
                #expect(c.messages.count == 2)
                #expect(c.messages.first == #"{"result":["btcusdt@trade"],"id":1}"#)
                #expect(c.messages.last?.hasPrefix(#"{"e":"serverShutdown","E":"#) == true)
                #expect(c.close?.reason == "Server shutdown")
            }
            try await tasks.next()
        }
    }
}
