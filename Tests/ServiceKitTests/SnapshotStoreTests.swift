import ExchangeProtocol
import Foundation
import ServiceKit
import Testing

@Suite("snapshot store")
struct SnapshotStoreTests {
    func tempDir() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snap-\(UUID().uuidString)").path
        return dir
    }

    @Test func savesLoadsNewestAndPrunes() throws {
        let store = SnapshotStore(directory: tempDir(), keep: 2)
        #expect(try store.loadNewest() == nil)
        for sequence in 1...5 as ClosedRange<UInt64> {
            try store.save(Snapshot(
                sequence: sequence, positions: [TopicPartition("orders.requests", 3): Int64(sequence * 10), TopicPartition("a:b", 0): 1],
                state: Array("state-\(sequence)".utf8), createdAtMs: 1_000 + Int64(sequence)))
        }
        #expect(try store.sequences() == [4, 5])
        let newest = try #require(try store.loadNewest())
        #expect(newest.sequence == 5)
        #expect(newest.state == Array("state-5".utf8))
        #expect(newest.positions == [TopicPartition("orders.requests", 3): 50, TopicPartition("a:b", 0): 1])
        #expect(newest.createdAtMs == 1_005)
    }

    @Test func aCorruptNewestFallsBackToThePreviousOne() throws {
        let dir = tempDir()
        let store = SnapshotStore(directory: dir, keep: 3)
        try store.save(Snapshot(sequence: 1, positions: [:], state: [1, 2, 3], createdAtMs: 1))
        try store.save(Snapshot(sequence: 2, positions: [:], state: [4, 5, 6], createdAtMs: 2))
        // Flip one byte of the newest file: its checksum fails and the older one is used.
        let newestPath = "\(dir)/snapshot-00000000000000000002.snap"
        var bytes = try #require(FileManager.default.contents(atPath: newestPath))
        bytes[bytes.count - 6] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: newestPath))
        #expect(try store.loadNewest()?.sequence == 1)
        // A torn temp file from a crash mid-write is ignored.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(dir)/.tmp-snapshot-00000000000000000003.snap"))
        #expect(try store.loadNewest()?.state == [1, 2, 3])
    }
}

@Suite("duplicate filter")
struct DuplicateFilterTests {
    func envelope(_ topic: String, _ partition: Int32, _ offset: Int64, _ index: UInt32) -> Exchange_V1_Envelope {
        Exchange_V1_Envelope(
            payload: EnvelopeSamples.payloads[0].1,
            eventID: Exchange_V1_EventID(sourceTopic: topic, sourcePartition: partition, sourceOffset: offset, index: index),
            createdAtMs: 0, emittedAtMs: 0)
    }

    @Test func dropsReplayedOutputsPerSourceAndDestination() {
        var filter = DuplicateFilter()
        func admit(_ envelope: Exchange_V1_Envelope, at destination: TopicPartition) -> Bool {
            filter.admit(envelope, at: destination)
        }
        let dest0 = TopicPartition("matching.events", 0)
        let dest1 = TopicPartition("matching.events", 1)
        #expect(admit(envelope("matching.commands", 0, 5, 0), at: dest0))
        #expect(admit(envelope("matching.commands", 0, 5, 1), at: dest0))
        #expect(!admit(envelope("matching.commands", 0, 5, 0), at: dest0))
        #expect(!admit(envelope("matching.commands", 0, 4, 9), at: dest0))
        // Another destination partition may see an older source offset first: not a duplicate.
        #expect(admit(envelope("matching.commands", 0, 3, 0), at: dest1))
        // Another source partition has its own watermark.
        #expect(admit(envelope("matching.commands", 1, 1, 0), at: dest0))
        #expect(admit(envelope("matching.commands", 0, 6, 0), at: dest0))
        // Requests without an event id are never dropped.
        var request = envelope("x", 0, 0, 0)
        request.clearEventID()
        #expect(admit(request, at: dest0))
        #expect(admit(request, at: dest0))
    }
}

@Suite("configuration")
struct ConfigurationTests {
    @Test func flagsBeatEnvironmentBeatDefaults() throws {
        let options = try ServiceOptions.parse([])
        let defaults = try options.resolve(service: "ledger", defaultAdminPort: 9103, environment: [:])
        #expect(defaults.eventLog == .redis(host: "127.0.0.1", port: 6379))
        #expect(defaults.adminPort == 9103)
        #expect(defaults.instance == "ledger-0")
        #expect(defaults.snapshotDirectory == "./.exchange/snapshots/ledger-0")

        let env = ["EXCHANGE_EVENT_LOG": "kafka://k1:9092,k2:9092", "EXCHANGE_LEDGER_ADMIN_PORT": "7000", "EXCHANGE_LOG_FORMAT": "json"]
        let fromEnv = try options.resolve(service: "ledger", defaultAdminPort: 9103, environment: env)
        #expect(fromEnv.eventLog == .kafka(bootstrapServers: "k1:9092,k2:9092"))
        #expect(fromEnv.adminPort == 7000)
        #expect(fromEnv.logFormat == .json)

        let flagged = try ServiceOptions.parse(["--admin-port", "0", "--event-log", "redis://10.0.0.1:7777"])
        let fromFlags = try flagged.resolve(service: "ledger", defaultAdminPort: 9103, environment: env)
        #expect(fromFlags.adminPort == 0)
        #expect(fromFlags.eventLog == .redis(host: "10.0.0.1", port: 7777))

        let bad = try ServiceOptions.parse(["--event-log", "nats://x"])
        #expect(throws: (any Error).self) { try bad.resolve(service: "ledger", defaultAdminPort: 1, environment: [:]) }
    }
}
