import ExchangeTestSupport
import Logging
import Messaging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import NotifierService

@Suite("Pub/Sub connection of the notifier (RESP reader, redis-server on loopback)")
struct ChannelSubscriberTests {
    static let message: [UInt8] = Array("*3\r\n$7\r\nmessage\r\n$17\r\nmd.trades.BTCUSDT\r\n$5\r\na\r\nb\0\r\n".utf8)

    @Test("a pushed message is read whole however the bytes are split, and only once all are there")
    func readsSplitReplies() throws {
        let expected = RESPValue.array([.bulk(Array("message".utf8)), .bulk(Array("md.trades.BTCUSDT".utf8)), .bulk([97, 13, 10, 98, 0])])
        for cut in 0..<Self.message.count {
            var buffer = ByteBuffer(bytes: Self.message[..<cut])
            #expect(try RESPValue.read(from: &buffer) == nil)
            #expect(buffer.readableBytes == cut)  // nothing consumed while incomplete
            buffer.writeBytes(Self.message[cut...])
            #expect(try RESPValue.read(from: &buffer) == expected)
            #expect(buffer.readableBytes == 0)
        }
        var replies = ByteBuffer(string: "+OK\r\n:3\r\n-ERR nope\r\n$-1\r\n*-1\r\n")
        #expect(try RESPValue.read(from: &replies) == .simple("OK"))
        #expect(try RESPValue.read(from: &replies) == .integer(3))
        #expect(try RESPValue.read(from: &replies) == .error("ERR nope"))
        #expect(try RESPValue.read(from: &replies) == .bulk(nil))
        #expect(try RESPValue.read(from: &replies) == .array(nil))
        var junk = ByteBuffer(string: "?what\r\n")
        #expect(throws: RESPValue.ProtocolError.self) { try RESPValue.read(from: &junk) }
    }

    @Test("messages arrive on the given event loop; a killed connection is made again and resubscribed")
    func reconnects() async throws {
        let redis = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: redis.configuration)
        var logger = Logger(label: "test.pubsub")
        logger.logLevel = .critical
        let subscriber = ChannelSubscriber(configuration: redis.configuration, logger: logger)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let received = Mutex<[String]>([])
        let offLoop = Mutex(0)
        subscriber.start(on: loop) { channel, payload in
            if !loop.inEventLoop { offLoop.withLock { $0 += 1 } }
            received.withLock { $0.append("\(channel) \(String(decoding: payload, as: UTF8.self))") }
        }
        subscriber.subscribe(["chan.a"])
        await subscriber.waitSubscribed(["chan.a"])
        _ = try await client.send("PUBLISH", "chan.a", "one")
        try await Self.waitUntil { received.withLock { $0.count } == 1 }

        _ = try await client.send("CLIENT", "KILL", "TYPE", "pubsub")
        try await Self.waitUntil { subscriber.reconnects == 1 }
        await subscriber.waitSubscribed(["chan.a"])
        // Subscribed after the reconnect too; the old channel is given up on request.
        subscriber.subscribe(["chan.b"])
        await subscriber.waitSubscribed(["chan.b"])
        subscriber.unsubscribe(["chan.a"])
        try await Self.waitUntil {
            let reply = try? await client.send("PUBSUB", "NUMSUB", "chan.a", "chan.b")
            return reply?.array?.compactMap(\.integer) == [0, 1]
        }
        _ = try await client.send("PUBLISH", "chan.a", "lost")
        _ = try await client.send("PUBLISH", "chan.b", "two")
        try await Self.waitUntil { received.withLock { $0.count } == 2 }
        #expect(received.withLock { $0 } == ["chan.a one", "chan.b two"])
        #expect(offLoop.withLock { $0 } == 0)
        await subscriber.stop()
        await client.close()
        await redis.teardown()
    }

    static func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not reached in 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
