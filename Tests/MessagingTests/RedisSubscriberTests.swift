import Foundation
import Messaging
import Testing

@Suite("Redis Pub/Sub subscriber", .timeLimit(.minutes(1)))
struct RedisSubscriberTests {
    @Test("delivers messages published by another client, in order, binary-safe, with patterns")
    func deliversInOrder() async throws {
        let server = try await RedisTestServer.start()
        let publisher = try await RedisClient.connect(configuration: server.configuration)
        let subscriber = RedisSubscriber(configuration: server.configuration, channels: ["prices"], patterns: ["trades.*"])
        let collector = MessageCollector(subscriber)
        try await waitForSubscribers(publisher, channel: "prices", pattern: true)

        let payloads = (0..<200).map { i -> [UInt8] in [UInt8(i % 256), 0x00, 0x0D, 0x0A, 0xFF] + Array("#\(i)".utf8) }
        _ = try await publisher.pipeline(payloads.map { ["PUBLISH", "prices", .bytes($0)] })
        #expect(try await publisher.send("PUBLISH", "trades.BTCUSDT", "t1") == .integer(1))
        #expect(try await publisher.send("PUBLISH", "unrelated", "x") == .integer(0))

        let messages = await collector.wait(for: 201)
        #expect(messages.count == 201)
        let prices = messages.filter { $0.channel == "prices" }
        #expect(prices.map(\.payload) == payloads)
        #expect(prices.allSatisfy { $0.pattern == nil })
        #expect(messages.last == RedisPubSubMessage(channel: "trades.BTCUSDT", payload: Array("t1".utf8), pattern: "trades.*"))
        #expect(subscriber.droppedMessages == 0)

        subscriber.close()
        await collector.finish()
        await publisher.close()
        await server.teardown()
    }

    @Test("re-subscribes after redis-server is killed and started again")
    func resubscribesAfterRestart() async throws {
        let server = try await RedisTestServer.start()
        var configuration = server.configuration
        configuration.reconnectMaxDelay = .milliseconds(200)
        let publisher = try await RedisClient.connect(configuration: configuration)
        let subscriber = RedisSubscriber(configuration: configuration, channels: ["events"], pollInterval: .milliseconds(50))
        let collector = MessageCollector(subscriber)
        try await waitForSubscribers(publisher, channel: "events")
        _ = try await publisher.send("PUBLISH", "events", "before")
        #expect(await collector.wait(for: 1).map(\.payload) == [Array("before".utf8)])

        await server.kill()
        _ = try? await publisher.send("PING")  // fails retriably; the next call reconnects
        try await server.launch()
        try await waitForSubscribers(publisher, channel: "events")
        _ = try await publisher.send("PUBLISH", "events", "after")
        let messages = await collector.wait(for: 2)
        #expect(messages.map(\.payload) == [Array("before".utf8), Array("after".utf8)])
        #expect(subscriber.reconnects >= 1)

        subscriber.close()
        await collector.finish()
        await publisher.close()
        await server.teardown()
    }

    @Test("cancelling the iterating task ends the sequence and drops the subscription")
    func cancellationEnds() async throws {
        let server = try await RedisTestServer.start()
        let publisher = try await RedisClient.connect(configuration: server.configuration)
        let collector = MessageCollector(RedisSubscriber(configuration: server.configuration, channels: ["c"],
                                                         pollInterval: .milliseconds(20)))
        try await waitForSubscribers(publisher, channel: "c")
        collector.cancel()
        await collector.finish()  // returns only because the sequence ended
        // The read thread noticed, closed its connection, and the server forgot the subscription.
        var subscribers: Int64 = 1
        for _ in 0..<500 where subscribers > 0 {
            subscribers = try await publisher.send("PUBSUB", "NUMSUB", "c").array?.last?.integer ?? -1
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(subscribers == 0)
        await publisher.close()
        await server.teardown()
    }

    @Test("a slow consumer loses the oldest messages, counted as dropped, and never blocks the reader")
    func boundedBuffer() async throws {
        let server = try await RedisTestServer.start()
        let publisher = try await RedisClient.connect(configuration: server.configuration)
        let subscriber = RedisSubscriber(configuration: server.configuration, channels: ["flood"], bufferSize: 10)
        try await waitForSubscribers(publisher, channel: "flood")
        _ = try await publisher.pipeline((0..<100).map { ["PUBLISH", "flood", .string("m\($0)")] })
        // Nobody iterates yet: wait (bounded) until the reader has seen all 100.
        for _ in 0..<500 where subscriber.droppedMessages < 90 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(subscriber.droppedMessages == 90)
        let collector = MessageCollector(subscriber)
        let kept = await collector.wait(for: 10)
        #expect(kept.map { String(decoding: $0.payload, as: UTF8.self) } == (90..<100).map { "m\($0)" })
        subscriber.close()
        await collector.finish()
        await publisher.close()
        await server.teardown()
    }
}

/// Waits (bounded) until the channel, or any pattern, has a subscriber on the server.
private func waitForSubscribers(_ client: RedisClient, channel: String, pattern: Bool = false) async throws {
    for _ in 0..<500 {
        let reply = try? await client.send("PUBSUB", "NUMSUB", .string(channel))
        let channelReady = (reply?.array?.last?.integer ?? 0) >= 1
        var patternReady = true
        if pattern {
            patternReady = ((try? await client.send("PUBSUB", "NUMPAT"))?.integer ?? 0) >= 1
        }
        if channelReady && patternReady { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("nobody subscribed to \(channel)")
}

/// Iterates a subscriber in a task of its own and lets the test wait, bounded, for messages.
private final class MessageCollector: @unchecked Sendable {
    // @unchecked Sendable: `messages` is only touched inside `lock`; `task` is set once in init.
    private let lock = NSLock()
    private var messages: [RedisPubSubMessage] = []
    private var task: Task<Void, Never>?

    init(_ subscriber: RedisSubscriber) {
        task = Task { [weak self] in
            for await message in subscriber {
                self?.lock.withLock { self?.messages.append(message) }
            }
        }
    }

    /// The messages so far, once there are `count` or 10 seconds passed.
    func wait(for count: Int) async -> [RedisPubSubMessage] {
        for _ in 0..<1000 {
            let current = lock.withLock { messages }
            if current.count >= count { return current }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return lock.withLock { messages }
    }

    /// Cancels the iterating task.
    func cancel() {
        task?.cancel()
    }

    /// Waits for the iteration to end (after `close()`).
    func finish() async {
        await task?.value
    }
}
