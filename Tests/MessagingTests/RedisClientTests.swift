@testable import Messaging
import Testing

@Suite("Redis client", .timeLimit(.minutes(1)))
struct RedisClientTests {
    @Test("commands round-trip binary values (NUL, 0xFF, CRLF) and error replies come back as .error")
    func binarySafeCommands() async throws {
        let server = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: server.configuration)
        let value: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0x41, 0x00, 0x0D, 0x0A, 0xFE, 0x00]
        let key: [UInt8] = [0x6B, 0x00, 0x0D, 0x0A, 0xFF]
        #expect(try await client.send("SET", .bytes(key), .bytes(value)) == .status("OK"))
        #expect(try await client.send("GET", .bytes(key)) == .bulk(value))
        #expect(try await client.send("STRLEN", .bytes(key)) == .integer(Int64(value.count)))
        #expect(try await client.send("SET", "empty", .bytes([])) == .status("OK"))
        #expect(try await client.send("GET", "empty") == .bulk([]))
        #expect(try await client.send("GET", "missing") == .null)
        #expect(try await client.send("RPUSH", "list", "a", .bytes(value), 42) == .integer(3))
        #expect(try await client.send("LRANGE", "list", 0, -1) == .array([.bulk(Array("a".utf8)), .bulk(value), .bulk(Array("42".utf8))]))
        let wrong = try await client.send("LPUSH", .bytes(key), "x")
        #expect(wrong.errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(throws: MessagingError.self) { try wrong.throwingOnError() }
        #expect(try await client.send("NOSUCHCOMMAND").errorMessage?.hasPrefix("ERR") == true)
        await client.close()
        await #expect(throws: MessagingError.self) { try await client.send("PING") }
        await server.teardown()
    }

    @Test("a pipeline of 1,000 commands returns 1,000 replies in order")
    func pipelining() async throws {
        let server = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: server.configuration)
        let increments = try await client.pipeline((0..<1000).map { _ in ["INCR", "counter"] })
        #expect(increments == (1...1000).map { RedisReply.integer(Int64($0)) })
        let sets = try await client.pipeline((0..<1000).map { ["SET", .string("k\($0)"), .bytes([UInt8($0 % 256), 0, 13, 10])] })
        #expect(sets.allSatisfy { $0 == .status("OK") })
        let gets = try await client.pipeline((0..<1000).map { ["GET", .string("k\($0)")] })
        #expect(gets == (0..<1000).map { RedisReply.bulk([UInt8($0 % 256), 0, 13, 10]) })
        // A failing command in the middle does not disturb the others.
        let mixed = try await client.pipeline([["PING"], ["INCR", "k1"], ["PING"]])
        #expect(mixed[0] == .status("PONG") && mixed[2] == .status("PONG"))
        #expect(mixed[1].errorMessage != nil)
        await client.close()
        await server.teardown()
    }

    @Test("Lua scripts run by EVALSHA, falling back to EVAL after SCRIPT FLUSH")
    func luaScripts() async throws {
        let server = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: server.configuration)
        let script = RedisScript("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('STRLEN', KEYS[1]) + tonumber(ARGV[2])")
        // The locally computed SHA1 is the one Redis uses.
        #expect(try await client.send("SCRIPT", "LOAD", .string(script.source)) == .bulk(Array(script.sha1.utf8)))
        #expect(try await client.eval(script, keys: ["s"], args: [.bytes([0, 1, 2]), 10]) == .integer(13))
        #expect(try await client.send("SCRIPT", "FLUSH") == .status("OK"))
        #expect(try await client.send("SCRIPT", "EXISTS", .string(script.sha1)) == .array([.integer(0)]))
        #expect(try await client.eval(script, keys: ["s"], args: ["abcd", 1]) == .integer(5))
        // EVAL cached it again, so the next call is a plain EVALSHA hit.
        #expect(try await client.send("SCRIPT", "EXISTS", .string(script.sha1)) == .array([.integer(1)]))
        #expect(try await client.eval(script, keys: ["s"], args: ["xy", 0]) == .integer(2))
        let failing = RedisScript("return redis.error_reply('BOOM')")
        #expect(try await client.eval(failing).errorMessage?.contains("BOOM") == true)
        await client.close()
        await server.teardown()
    }

    @Test("after redis-server dies the call fails retriably, and the next call reconnects")
    func reconnect() async throws {
        let server = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: server.configuration)
        #expect(try await client.send("SET", "before", "1") == .status("OK"))
        await server.kill()
        do {
            _ = try await client.send("PING")
            Issue.record("PING succeeded with the server killed")
        } catch let error as MessagingError {
            #expect(error.isRetriable)
            #expect(error.code == .connectionFailed || error.code == .timeout)
        }
        try await server.launch()
        #expect(try await client.send("PING") == .status("PONG"))
        // Acknowledged before the kill -9, so on disk (appendfsync always).
        #expect(try await client.send("GET", "before") == .bulk(Array("1".utf8)))
        await client.close()
        await server.teardown()
    }

    @Test("calls from many tasks at once are all served")
    func concurrentCalls() async throws {
        let server = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: server.configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<20 {
                group.addTask {
                    for i in 0..<50 {
                        let reply = try await client.send("INCR", .string("t\(task)"))
                        #expect(reply == .integer(Int64(i + 1)))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await client.send("GET", "t7") == .bulk(Array("50".utf8)))
        await client.close()
        await server.teardown()
    }

    @Test("calls that arrive while the connection is busy go out together as one pipeline, each answered correctly")
    func automaticPipelining() async throws {
        let server = try await RedisTestServer.start()
        let client = try await RedisClient.connect(configuration: server.configuration)
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        _ = try await client.eval(script, keys: ["warm"], args: [1])
        // EVALSHA now misses inside the batch: that call falls back to EVAL, the others are unaffected.
        #expect(try await client.send("SCRIPT", "FLUSH") == .status("OK"))
        let before = client.batchesSent.withLock { $0 }
        // A second client watches the server and opens the gate; no step below depends on timing.
        let admin = try await RedisClient.connect(configuration: server.configuration)
        func waitUntil(_ condition: () async throws -> Bool) async throws {
            for _ in 0..<1_000 where !(try await condition()) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await condition())
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Holds the client's queue until the gate opens, so every call below waits for the same drain.
            group.addTask { _ = try await client.send(["BLPOP", "gate", "30"], blockingFor: .seconds(30)) }
            try await waitUntil {
                guard case .bulk(let info) = try await admin.send("INFO", "clients") else { return false }
                return String(decoding: info, as: UTF8.self).contains("blocked_clients:1")
            }
            for task in 0..<60 {
                group.addTask {
                    switch task % 3 {
                    case 0:
                        #expect(try await client.send("SET", .string("k\(task)"), .string("v\(task)")) == .status("OK"))
                    case 1:
                        let replies = try await client.pipeline([["INCRBY", .string("p\(task)"), .int(task)], ["GET", .string("p\(task)")]])
                        #expect(replies == [.integer(Int64(task)), .bulk(Array(String(task).utf8))])
                    default:
                        #expect(try await client.eval(script, keys: [.string("e\(task)")], args: [.int(task)]) == .integer(Int64(task)))
                    }
                }
            }
            try await waitUntil { client.requestsWaiting == 60 }
            #expect(try await admin.send("LPUSH", "gate", "open") == .integer(1))
            try await group.waitForAll()
        }
        await admin.close()
        #expect(client.batchesSent.withLock { $0 } - before == 1)
        #expect(try await client.send("GET", "k30") == .bulk(Array("v30".utf8)))
        await client.close()
        await server.teardown()
    }
}
