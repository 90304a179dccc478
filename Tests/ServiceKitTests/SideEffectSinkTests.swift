import ExchangeTestSupport
import Logging
import Messaging
import ServiceKit
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
}
