/// Makes 64-bit order ids that are unique across router instances and ordered by time:
/// 41 bits of milliseconds since 2024-01-01, 10 bits of node id, 12 bits of sequence.
///
/// Pure: the caller passes the time, so tests and replays are deterministic. 4,096 ids per
/// millisecond per node; past that, and when the clock steps back, ids borrow from the next
/// millisecond so they stay strictly increasing.
public struct OrderIDGenerator: Sendable {
    /// 2024-01-01T00:00:00Z in Unix milliseconds.
    public static let epochMs: Int64 = 1_704_067_200_000
    public static let nodeBits = 10
    public static let sequenceBits = 12

    public let node: UInt64
    private var lastMs: Int64 = -1
    private var sequence: UInt64 = 0

    /// `node` must be unique among running id issuers (0...1023).
    public init(node: UInt64) {
        precondition(node < (1 << OrderIDGenerator.nodeBits), "node id must fit in 10 bits")
        self.node = node
    }

    /// The next id at `nowMs` (Unix milliseconds).
    public mutating func next(nowMs: Int64) -> OrderID {
        var ms = Swift.max(nowMs - OrderIDGenerator.epochMs, 0)
        if ms <= lastMs {
            ms = lastMs
            sequence += 1
            if sequence >= (1 << OrderIDGenerator.sequenceBits) {
                ms += 1
                sequence = 0
            }
        } else {
            sequence = 0
        }
        lastMs = ms
        let id = (UInt64(ms) << UInt64(OrderIDGenerator.nodeBits + OrderIDGenerator.sequenceBits))
            | (node << UInt64(OrderIDGenerator.sequenceBits)) | sequence
        return OrderID(id)
    }

    /// The Unix millisecond an id was issued at.
    public static func timestampMs(of id: OrderID) -> Int64 {
        Int64(id.rawValue >> UInt64(nodeBits + sequenceBits)) + epochMs
    }
}
