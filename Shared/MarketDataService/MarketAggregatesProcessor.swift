import ExchangeProtocol
import MarketDataCore
import ServiceKit

/// The market-data service's aggregates as a consumer-loop processor. Inputs:
/// - `matching.events` (internal books): each `Trade` becomes an `MdTrade` on `md.trades`, trades
///   of one taker at one price within a command an `MdAggTrade` (closed by the command's
///   `BookDelta`), each `BookDelta` an `MdDepthDiff` on `md.depth` (matching's U/u kept) and, when
///   the top changed, an `MdBookTicker` on `md.tickers`;
/// - `md.trades` (upstream Binance symbols, from the ingestion workers): `MdAggTrade`s feed the
///   same klines and tickers; they and upstream `MdTrade`s are kept for REST (effect-only outputs).
/// Both feed klines of all 16 intervals, the 24 h ticker, mini ticker and avgPrice on `md.tickers`.
/// Records this service wrote itself (venue internal) and handover duplicates are skipped.
public struct MarketAggregatesProcessor: EventProcessor {
    public private(set) var symbols: [String: SymbolAggregates] = [:]
    private var scratch: [AggregateOutput] = []

    public init() {}

    public init(state: [UInt8]) throws {
        var r = SnapshotReader(bytes: state, corrupt: AggregatesStateCorrupt())
        let count = try r.count()
        for _ in 0..<count {
            let aggregates = try SymbolAggregates(from: &r)
            symbols[aggregates.symbol] = aggregates
        }
    }

    public func encodeState() -> [UInt8] {
        var w = SnapshotWriter()
        w.u32(UInt32(symbols.count))
        for name in symbols.keys.sorted() { symbols[name]!.encode(into: &w) }
        return w.bytes
    }

    public static let internalVenue = "internal"

    public mutating func apply(_ input: ProcessorInput) -> [ProcessorOutput] {
        scratch.removeAll(keepingCapacity: true)
        let envelope = input.envelope
        switch envelope.payload {
        case .trade(let trade):
            let tick = AggregateTrade(
                id: trade.tradeID, price: trade.price, quantity: trade.quantity, quoteQuantity: trade.quoteQuantity,
                time: trade.time, buyerIsMaker: trade.buyerIsMaker,
                takerOrderID: Int64(bitPattern: trade.buyerIsMaker ? trade.sellerOrderID : trade.buyerOrderID))
            update(trade.symbol, venue: Self.internalVenue) { $0.add(tick, emitTrade: true, aggregate: true, into: &$1) }
        case .bookDelta(let delta) where !delta.isSnapshot:
            update(delta.symbol, venue: Self.internalVenue) { $0.apply(delta: delta, into: &$1) }
        case .mdTrade(let trade) where trade.venue != Self.internalVenue && !trade.duplicate:
            return [.effectOnly(key: trade.symbol, envelope: Exchange_V1_Envelope(
                payload: .mdTrade(trade), createdAtMs: envelope.createdAtMs, emittedAtMs: envelope.emittedAtMs))]
        case .mdAggTrade(let agg) where agg.venue != Self.internalVenue && !agg.duplicate:
            // Upstream aggTrades (Binance always streams them; the trade stream is optional) feed
            // the klines and tickers: each stands for trades firstId...lastId at one price.
            let tick = AggregateTrade(
                id: agg.lastTradeID, price: agg.price, quantity: agg.quantity,
                quoteQuantity: Fixed8(raw: agg.price).multiplied(by: Fixed8(raw: agg.quantity))?.raw ?? 0,
                time: agg.tradeTime, buyerIsMaker: agg.buyerIsMaker, takerOrderID: 0, firstID: agg.firstTradeID)
            update(agg.symbol, venue: agg.venue) { $0.add(tick, emitTrade: false, aggregate: false, into: &$1) }
            return [.effectOnly(key: agg.symbol, envelope: Exchange_V1_Envelope(
                payload: .mdAggTrade(agg), createdAtMs: envelope.createdAtMs, emittedAtMs: envelope.emittedAtMs))] + outputs(agg.symbol, envelope)
        default:
            return []
        }
        guard let symbol = Self.symbol(of: envelope) else { return [] }
        return outputs(symbol, envelope)
    }

    private mutating func update(_ symbol: String, venue: String, _ body: (inout SymbolAggregates, inout [AggregateOutput]) -> Void) {
        var aggregates = symbols.removeValue(forKey: symbol) ?? SymbolAggregates(symbol: symbol, venue: venue)
        body(&aggregates, &scratch)
        symbols[symbol] = aggregates
    }

    private func outputs(_ symbol: String, _ input: Exchange_V1_Envelope) -> [ProcessorOutput] {
        scratch.map { output in
            let (topic, payload): (TopicDescriptor, Exchange_V1_Envelope.OneOf_Payload) = switch output {
            case .trade(let m): (Topics.mdTrades, .mdTrade(m))
            case .aggTrade(let m): (Topics.mdTrades, .mdAggTrade(m))
            case .depthDiff(let m): (Topics.mdDepth, .mdDepthDiff(m))
            case .kline(let m): (Topics.mdTickers, .mdKline(m))
            case .ticker(let m): (Topics.mdTickers, .mdTicker(m))
            case .avgPrice(let m): (Topics.mdTickers, .mdAvgPrice(m))
            case .bookTicker(let m): (Topics.mdTickers, .mdBookTicker(m))
            }
            return ProcessorOutput(
                topic: topic.name, key: symbol,
                envelope: Exchange_V1_Envelope(payload: payload, createdAtMs: input.createdAtMs, emittedAtMs: input.emittedAtMs))
        }
    }

    static func symbol(of envelope: Exchange_V1_Envelope) -> String? {
        switch envelope.payload {
        case .trade(let t): t.symbol
        case .bookDelta(let d): d.symbol
        case .mdTrade(let t): t.symbol
        default: nil
        }
    }
}

struct AggregatesStateCorrupt: Error, CustomStringConvertible {
    var description: String { "market aggregates snapshot is corrupt" }
}
