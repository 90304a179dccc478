import Foundation
import Logging
import ServiceKit
import Testing

@Suite("logs and health")
struct ObservabilityTests {
    @Test func jsonLogLinesCarryEveryFieldAndMetadata() throws {
        let line = JSONLogHandler.render(
            level: .warning, label: "ledger", message: "insufficient \"balance\"", source: "Ledger",
            metadata: ["exchange.symbol": "BTCUSDT", "exchange.order.id": .stringConvertible(42), "tags": ["a", "b"]],
            date: Date(timeIntervalSince1970: 1_763_000_000.125))
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["ts"] as? String == "2025-11-13T02:13:20.125Z")
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "ledger")
        #expect(object["msg"] as? String == "insufficient \"balance\"")
        #expect(object["exchange.symbol"] as? String == "BTCUSDT")
        #expect(object["exchange.order.id"] as? String == "42")
        #expect(object["tags"] as? [String] == ["a", "b"])
    }

    @Test func readyOnlyWhenEveryCheckIsUp() {
        let health = HealthState()
        #expect(!health.isReady)
        health.set("eventlog", ready: true)
        health.set("redis", ready: false, detail: "connection refused")
        #expect(!health.isReady)
        #expect(health.snapshot["redis"]?.detail == "connection refused")
        health.set("redis", ready: true)
        #expect(health.isReady)
    }
}

@Suite("backoff")
struct BackoffTests {
    @Test func doublesUpToTheCapAndResets() {
        var backoff = Backoff(initial: .seconds(1), cap: .seconds(30))
        let delays = (0..<7).map { _ in backoff.next() }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        backoff.reset()
        #expect(backoff.next() == .seconds(1))
    }
}
