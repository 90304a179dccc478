import ExchangeProtocol

/// How upstream symbols are split among ingestion workers: a symbol belongs to shard
/// murmur2(symbol) mod `count` (the partition of the control topic with that number), so a
/// static `--shard i/n` and a Kafka consumer group over the control topic agree.
public enum SymbolShards {
    /// The control topic: nothing is written to it; its partitions are the shards the ingestion
    /// group's consumers are assigned.
    public static let controlTopic = TopicDescriptor(
        name: "md.control", key: .symbol, defaultPartitions: 16, summary: "market-data ingestion shards (consumer-group assignment only)")

    public static func shard(of symbol: String, count: Int32) -> Int32 {
        Murmur2.partition(for: Array(symbol.utf8), partitionCount: count)
    }

    /// The symbols in the given shards.
    public static func symbols(_ all: [String], inShards shards: Set<Int32>, count: Int32) -> [String] {
        all.filter { shards.contains(shard(of: $0, count: count)) }
    }

    /// Shards of static shard `index` of `workers`: every shard p with p mod workers == index.
    public static func staticShards(index: Int32, workers: Int32, count: Int32 = controlTopic.defaultPartitions) -> Set<Int32> {
        Set((0..<count).filter { $0 % workers == index })
    }
}
