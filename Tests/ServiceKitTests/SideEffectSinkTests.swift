import ExchangeTestSupport
import Logging
import Messaging
@testable import ServiceKit
import Testing

@Suite("Redis side-effect sink", .timeLimit(.minutes(1)))
struct SideEffectSinkTests {
    @Test("every effect lands as written, in order, merged runs included; an error reply fails the call")
    func appliesEveryEffectInOrder() async throws {
        let server = try await RedisTestServer.start()
        let redis = try await RedisClient.connect(configuration: server.configuration)
        let sink = RedisSideEffectSink(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port), logger: Logger(label: "test"))
        let subscriber = RedisSubscriber(configuration: server.configuration, channels: ["chan"])
        for _ in 0..<100 {
            if try await redis.send(["PUBSUB", "NUMSUB", "chan"]).array?.last?.integer == 1 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let effects: [SideEffect] = [
            .hashSet(key: "h", field: "a", value: Array("1".utf8)),
            .hashSet(key: "h", field: "b", value: Array("2".utf8)),
            .hashSet(key: "h", field: "a", value: Array("3".utf8)),  // later write of the run wins
            .hashSet(key: "h2", field: "x", value: [0, 13, 10, 255]),
            .hashDelete(key: "h", field: "b"),
            .set(key: "s1", value: Array("one".utf8)),
            .set(key: "s2", value: Array("two".utf8)),
            .set(key: "s1", value: Array("uno".utf8)),
            .publish(channel: "chan", message: Array("first".utf8)),
            .setExpiring(key: "e", value: Array("soon".utf8), seconds: 100),
            .set(key: "gone", value: [1]),
            .delete(key: "gone"),
            .sortedSetPut(key: "z", score: 1, member: Array("a".utf8), keep: 2),
            .sortedSetPut(key: "z", score: 2, member: Array("b".utf8), keep: 2),
            .sortedSetPut(key: "z", score: 3, member: Array("c".utf8), keep: 2),
            .sortedSetPut(key: "z", score: 3, member: Array("C".utf8), keep: 2),
            .publish(channel: "chan", message: Array("second".utf8)),
        ]
        try await sink.apply(effects)
        let hash = try await redis.send(["HGETALL", "h"]).array?.compactMap(\.string)
        #expect(hash == ["a", "3"])
        #expect(try await redis.send(["HGET", "h2", "x"]).bytes == [0, 13, 10, 255])
        #expect(try await redis.send(["GET", "s1"]).string == "uno")
        #expect(try await redis.send(["GET", "s2"]).string == "two")
        #expect(try await redis.send(["EXISTS", "gone"]).integer == 0)
        let ttl = try await redis.send(["TTL", "e"]).integer ?? -1
        #expect(ttl > 90 && ttl <= 100)
        #expect(try await redis.send(["ZRANGE", "z", "0", "-1"]).array?.compactMap(\.string) == ["b", "C"])
        var received: [String] = []
        for await message in subscriber {
            received.append(String(decoding: message.payload, as: UTF8.self))
            if received.count == 2 { break }
        }
        #expect(received == ["first", "second"])

        // WRONGTYPE inside the transaction: the call fails (the other writes of a transaction run).
        await #expect(throws: MessagingError.self) {
            try await sink.apply([.hashSet(key: "s2", field: "f", value: [1]), .set(key: "after", value: [2])])
        }
        #expect(try await redis.send(["GET", "after"]).bytes == [2])
        subscriber.close()
        await sink.close()
        await redis.close()
        await server.teardown()
    }

    @Test("coalescing a call's writes leaves Redis exactly as applying every effect one by one does")
    func coalescingKeepsFinalState() async throws {
        let server = try await RedisTestServer.start()
        let redis = try await RedisClient.connect(configuration: server.configuration)
        let sink = RedisSideEffectSink(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port), logger: Logger(label: "test"))
        var state: UInt64 = 0x5EED
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        for round in 0..<20 {
            var plan: [(kind: Int, key: Int, field: Int, value: UInt8)] = []
            for _ in 0..<(5 + next(60)) { plan.append((next(6), next(3), next(3), UInt8(next(256)))) }
            func build(_ prefix: String) -> [SideEffect] {
                plan.map { step in
                    let string = "\(prefix):s\(step.key)"
                    let hash = "\(prefix):h\(step.key)"
                    switch step.kind {
                    case 0: return .set(key: string, value: [step.value])
                    case 1: return .setExpiring(key: string, value: [step.value], seconds: 1000)
                    case 2: return .delete(key: step.field == 0 ? hash : string)
                    case 3, 4: return .hashSet(key: hash, field: "f\(step.field)", value: [step.value])
                    default: return .hashDelete(key: hash, field: "f\(step.field)")
                    }
                }
            }
            let coalesced = build("a\(round)")
            #expect(RedisSideEffectSink.coalesced(coalesced).count <= coalesced.count)
            try await sink.apply(coalesced)
            for effect in build("b\(round)") { try await sink.apply([effect]) }
            for key in 0..<3 {
                for (kind, name) in [("s", "GET"), ("h", "HGETALL")] {
                    let a = try await redis.send([.string(name), .string("a\(round):\(kind)\(key)")])
                    let b = try await redis.send([.string(name), .string("b\(round):\(kind)\(key)")])
                    if kind == "h" {
                        // Field order of HGETALL is not part of the state.
                        let pairs = { (r: RedisReply) -> [String: [UInt8]] in
                            let items = r.array ?? []
                            return Dictionary(uniqueKeysWithValues: stride(from: 0, to: items.count, by: 2).map { (items[$0].string ?? "", items[$0 + 1].bytes ?? []) })
                        }
                        #expect(pairs(a) == pairs(b), "round \(round) hash \(key)")
                    } else {
                        #expect(a == b, "round \(round) key \(key)")
                        let ta = try await redis.send([.string("TTL"), .string("a\(round):s\(key)")]).integer ?? -3
                        let tb = try await redis.send([.string("TTL"), .string("b\(round):s\(key)")]).integer ?? -3
                        #expect((ta > 0) == (tb > 0), "round \(round) ttl \(key)")
                    }
                }
            }
        }
        // A batch's NEW then FILLED report of one order costs one write per key.
        let report: [SideEffect] = [
            .hashSet(key: "open", field: "7", value: [1]), .set(key: "order:7", value: [1]), .publish(channel: "u", message: [1]),
            .hashDelete(key: "open", field: "7"), .setExpiring(key: "order:7", value: [2], seconds: 60), .publish(channel: "u", message: [2]),
        ]
        #expect(RedisSideEffectSink.coalesced(report) == [
            .publish(channel: "u", message: [1]), .hashDelete(key: "open", field: "7"),
            .setExpiring(key: "order:7", value: [2], seconds: 60), .publish(channel: "u", message: [2]),
        ])
        await sink.close()
        await redis.close()
        await server.teardown()
    }
}
