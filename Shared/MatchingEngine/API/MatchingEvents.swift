/// The events one or more commands produced, in order: what `OrderBookEngine.apply` appends to.
/// A collection of `MatchingEvent`s to its readers; stored as plain-data records with the strings
/// (clientOrderIds, commission assets, messages) inline when short and in a table beside them
/// when not. Why not `[MatchingEvent]`: an `ExecutionReport` holds four `String`s, so every
/// append retained them, every clear released them, and copies of the ~270-byte enum went through
/// outlined value witnesses; that was about a third of the fast book's time per command. Reading an
/// element builds the `MatchingEvent` value (strings decoded) at the reader.
///
/// Reuse one buffer across commands (`removeAll(keepingCapacity: true)`) so the hot path
/// allocates nothing once warm.
public struct MatchingEvents: RandomAccessCollection, Sendable, Equatable, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    var storage: MatchingEventStorage
    /// Bytes of `storage.bytes` in use.
    var byteCount = 0
    /// Events held (entries of `storage.entries` in use).
    public private(set) var count = 0
    /// Strings longer than `EventString`'s inline 15 bytes, referenced by index from the records.
    var strings: [String] = []

    public init() {
        storage = MatchingEventStorage(byteCapacity: 2_048, entryCapacity: 16)
    }

    public init(_ events: some Sequence<MatchingEvent>) {
        self.init()
        for event in events { append(event) }
    }

    public init(arrayLiteral events: MatchingEvent...) {
        self.init(events)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    /// The event at `index`, built from its record.
    public subscript(index: Int) -> MatchingEvent {
        precondition(index >= 0 && index < count, "MatchingEvents index out of range")
        let entry = storage.entries[index]
        let record = storage.bytes + Int(entry & 0x3FFF_FFFF) << 3
        switch MatchingEventKind(rawValue: entry >> 30)! {
        case .report:
            return .report(record.load(as: ExecutionReportRecord.self).report(strings))
        case .trade:
            return .trade(record.load(as: TradeEvent.self))
        case .levelChanged:
            let level = record.load(as: LevelChangeRecord.self)
            return .levelChanged(side: level.side, price: level.price, quantity: level.quantity, updateID: level.updateID)
        case .rejected:
            return .rejected(record.load(as: RejectionRecord.self).rejection(strings))
        }
    }

    /// Drops every event (cheap: the records hold no references).
    @inline(__always)
    public mutating func removeAll(keepingCapacity: Bool = false) {
        count = 0
        byteCount = 0
        if !strings.isEmpty { strings.removeAll(keepingCapacity: keepingCapacity) }
        if !keepingCapacity { self = MatchingEvents() }
    }

    /// Room for about `capacity` events without growing.
    public mutating func reserveCapacity(_ capacity: Int) {
        let bytes = capacity * 128
        if bytes > storage.byteCapacity || capacity > storage.entryCapacity {
            storage = storage.copy(
                byteCount: byteCount, entryCount: count, byteCapacity: Swift.max(bytes, storage.byteCapacity),
                entryCapacity: Swift.max(capacity, storage.entryCapacity))
        }
    }

    /// Appends `event` (the general path; the fast book writes records directly).
    public mutating func append(_ event: MatchingEvent) {
        makeUnique()
        switch event {
        case .report(let r):
            let record = ExecutionReportRecord(
                orderID: r.orderID, userID: r.userID, clientOrderID: string(r.clientOrderID),
                origClientOrderID: string(r.origClientOrderID), side: r.side, type: r.type, timeInForce: r.timeInForce,
                executionType: r.executionType, status: r.status, isMaker: r.isMaker, isWorking: r.isWorking,
                selfTradePrevention: r.selfTradePrevention, quantity: r.quantity, price: r.price,
                stopPrice: r.stopPrice, icebergQty: r.icebergQty, quoteOrderQty: r.quoteOrderQty,
                rejectReason: string(r.rejectReason), lastExecutedQty: r.lastExecutedQty,
                cumulativeQty: r.cumulativeQty, cumulativeQuoteQty: r.cumulativeQuoteQty, lastPrice: r.lastPrice,
                lastQuoteQty: r.lastQuoteQty, commission: r.commission, commissionAsset: string(r.commissionAsset),
                transactionTime: r.transactionTime, tradeID: r.tradeID, workingTime: r.workingTime,
                orderCreationTime: r.orderCreationTime, preventedMatchID: r.preventedMatchID,
                preventedQuantity: r.preventedQuantity, lastPreventedQuantity: r.lastPreventedQuantity,
                strategyID: r.strategyID, strategyType: r.strategyType)
            appendReport(record)
        case .trade(let t):
            appendTrade(t)
        case .levelChanged(let side, let price, let quantity, let updateID):
            appendLevel(LevelChangeRecord(side: side, price: price, quantity: quantity, updateID: updateID))
        case .rejected(let r):
            let clientOrderID = string(r.clientOrderID)
            let message = string(r.message)
            appendRejection(RejectionRecord(
                userID: r.userID, orderID: r.orderID, clientOrderID: clientOrderID, code: r.code, message: message))
        }
    }

    public mutating func append(contentsOf events: some Sequence<MatchingEvent>) {
        for event in events { append(event) }
    }

    public static func == (lhs: MatchingEvents, rhs: MatchingEvents) -> Bool {
        lhs.elementsEqual(rhs)
    }

    public var description: String { Array(self).description }

    // MARK: - The fast book's path

    /// Copies a shared storage; one reference-count check when already unique. The `append*`
    /// below write without checking: call this first (the fast book does, once per command).
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy(
                byteCount: byteCount, entryCount: count, byteCapacity: storage.byteCapacity,
                entryCapacity: storage.entryCapacity)
        }
    }

    /// `string` as this buffer holds it: inline when short, else a new table entry (valid until
    /// the buffer is cleared).
    @inline(__always)
    mutating func string(_ string: String) -> EventString {
        if string.isEmpty { return .empty }
        return EventString(inline: string) ?? tableString(string)
    }

    @inline(never)
    mutating func tableString(_ string: String) -> EventString {
        strings.append(string)
        return .table(strings.count - 1)
    }

    @inline(__always)
    mutating func appendReport(_ record: ExecutionReportRecord) { append(.report, record) }

    @inline(__always)
    mutating func appendTrade(_ record: TradeEvent) { append(.trade, record) }

    @inline(__always)
    mutating func appendLevel(_ record: LevelChangeRecord) { append(.levelChanged, record) }

    @inline(__always)
    mutating func appendRejection(_ record: RejectionRecord) { append(.rejected, record) }

    /// Writes `record` after the last one (the storage must be unique: see `makeUnique`).
    @inline(__always)
    mutating func append<Record>(_ kind: MatchingEventKind, _ record: Record) {
        assert(_isPOD(Record.self))
        let size = (MemoryLayout<Record>.stride + 7) & ~7
        if byteCount + size > storage.byteCapacity || count == storage.entryCapacity { grow(bytes: size) }
        (storage.bytes + byteCount).initializeMemory(as: Record.self, to: record)
        storage.entries[count] = kind.rawValue << 30 | UInt32(truncatingIfNeeded: byteCount >> 3)
        byteCount += size
        count += 1
    }

    /// Doubles what is short (a new storage, so also unique).
    @inline(never)
    mutating func grow(bytes: Int) {
        var byteCapacity = storage.byteCapacity
        while byteCount + bytes > byteCapacity { byteCapacity *= 2 }
        let entryCapacity = count == storage.entryCapacity ? storage.entryCapacity * 2 : storage.entryCapacity
        precondition(byteCapacity >> 3 <= 0x3FFF_FFFF, "MatchingEvents: too many events")
        storage = storage.copy(
            byteCount: byteCount, entryCount: count, byteCapacity: byteCapacity, entryCapacity: entryCapacity)
    }
}

extension OrderBookEngine {
    /// Applies one command, appending its events to an array: a convenience for tests and tools;
    /// the hot path reuses a `MatchingEvents`.
    public mutating func apply(_ command: MatchingCommand, into events: inout [MatchingEvent]) {
        var buffer = MatchingEvents()
        apply(command, into: &buffer)
        events.append(contentsOf: buffer)
    }
}
