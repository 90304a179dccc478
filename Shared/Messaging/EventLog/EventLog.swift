import ExchangeProtocol

/// A topic to create: its name and partition count.
public struct TopicSpec: Hashable, Sendable {
    public var name: String
    public var partitions: Int32
    public init(name: String, partitions: Int32) {
        self.name = name
        self.partitions = partitions
    }
}

/// A record to append. The partition is `partition` when set, else murmur2(`key`) over the
/// topic's partition count (the same on every backend, and the same as Kafka's Java client).
public struct OutgoingRecord: Sendable {
    public var topic: String
    public var key: [UInt8]
    public var value: [UInt8]
    public var partition: Int32?

    public init(topic: String, key: [UInt8], value: [UInt8], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.partition = partition
    }

    public init(topic: String, key: String, value: [UInt8], partition: Int32? = nil) {
        self.init(topic: topic, key: Array(key.utf8), value: value, partition: partition)
    }
}

/// Where an appended record landed.
public struct RecordPosition: Hashable, Sendable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    public init(topicPartition: TopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }
}

/// A record read from the log. Offsets start at 0 and grow by one per record in a partition.
public struct ConsumedRecord: Sendable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    public var key: [UInt8]
    public var value: [UInt8]
    /// Append time, Unix milliseconds.
    public var timestampMs: Int64

    public init(topicPartition: TopicPartition, offset: Int64, key: [UInt8], value: [UInt8], timestampMs: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
    }
}

/// Which partitions a consumer reads.
public enum PartitionSelection: Sendable, Hashable {
    /// Every partition of the topics. Kafka: a consumer-group subscription (partitions move between
    /// members on rebalance). Redis Streams: all partitions, statically.
    case group
    /// Partitions `p` with `p % count == index` of each topic, statically (`--shard i/n`).
    case shard(index: Int32, count: Int32)
    /// Exactly these partitions, statically.
    case explicit([TopicPartition])
}

/// What a consumer does with partitions it is given.
public struct ConsumerConfiguration: Sendable {
    /// Consumer group: committed positions are stored per group.
    public var groupID: String
    public var topics: [String]
    public var partitions: PartitionSelection
    /// Called when partitions are assigned; returns the position (next offset to read) to start
    /// each at, e.g. the positions saved in a snapshot. Partitions left out start at the group's
    /// committed position, or at the beginning when nothing is committed.
    public var onAssign: @Sendable ([TopicPartition]) -> [TopicPartition: Int64]
    /// Called when partitions are taken away (Kafka rebalance), before another member gets them.
    public var onRevoke: @Sendable ([TopicPartition]) -> Void
    /// Free-form client id for logs and broker metrics.
    public var clientID: String

    public init(
        groupID: String,
        topics: [String],
        partitions: PartitionSelection = .group,
        clientID: String = "exchange",
        onAssign: @escaping @Sendable ([TopicPartition]) -> [TopicPartition: Int64] = { _ in [:] },
        onRevoke: @escaping @Sendable ([TopicPartition]) -> Void = { _ in }
    ) {
        self.groupID = groupID
        self.topics = topics
        self.partitions = partitions
        self.clientID = clientID
        self.onAssign = onAssign
        self.onRevoke = onRevoke
    }
}

/// The append side of the log.
public protocol EventProducer: Sendable {
    /// Appends records and returns once every one is durable (Kafka: acknowledged by all in-sync
    /// replicas, idempotent producer; Redis: written and fsynced to the AOF). Records of one
    /// partition keep the order given. Throws `MessagingError` when a record cannot be made durable;
    /// then nothing in the batch may be treated as acknowledged.
    func send(_ records: [OutgoingRecord]) async throws -> [RecordPosition]
    /// Flushes and releases the producer.
    func close() async
}

extension EventProducer {
    /// Appends one record; see `send(_:)`.
    public func send(_ record: OutgoingRecord) async throws -> RecordPosition {
        let positions = try await send([record])
        return positions[0]
    }
}

/// The read side of the log. One task polls a consumer at a time.
public protocol EventConsumer: Sendable {
    /// Up to `maxRecords` records, in offset order within each partition; empty after `timeout`.
    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumedRecord]
    /// Stores the group's positions (next offset to read) durably.
    func commit(_ positions: [TopicPartition: Int64]) async throws
    /// The group's committed positions for these partitions (absent: nothing committed).
    func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64]
    /// The next poll returns this partition's records from `offset` on.
    func seek(_ partition: TopicPartition, to offset: Int64) async throws
    /// Stops returning records of these partitions until resumed.
    func pause(_ partitions: [TopicPartition]) async throws
    /// Resumes paused partitions.
    func resume(_ partitions: [TopicPartition]) async throws
    /// The partitions this consumer currently owns.
    func assignment() async -> [TopicPartition]
    /// Leaves the group and releases the consumer.
    func close() async
    /// Whether a poll may run while the records of the previous one are still being processed:
    /// true when polls never call `onAssign`/`onRevoke` (static assignment). Default false.
    var pollsAheadSafely: Bool { get }
}

extension EventConsumer {
    public var pollsAheadSafely: Bool { false }
}

/// The event log: Kafka for production and scale-out, Redis Streams as the one-machine default.
public protocol EventLog: Sendable {
    /// `"kafka"` or `"redis"`.
    var backendName: String { get }
    /// Creates the topics that do not exist yet; existing ones are left as they are.
    func createTopics(_ topics: [TopicSpec]) async throws
    /// The partition count of an existing topic.
    func partitionCount(of topic: String) async throws -> Int32
    /// The first offset past the last record of each partition (the high watermark).
    func endOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64]
    func makeProducer() async throws -> any EventProducer
    func makeConsumer(_ configuration: ConsumerConfiguration) async throws -> any EventConsumer
    /// Releases shared connections.
    func shutdown() async
}
