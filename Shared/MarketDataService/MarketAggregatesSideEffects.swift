import ExchangeProtocol
import MarketDataCore
import ServiceKit

/// What the aggregates do outside the log once a batch is durable: every record on its Redis
/// Pub/Sub channel (`md.<topic>.<SYMBOL>`, Envelope bytes, for the notifier), and the REST
/// projections the router reads: recent trades and aggTrades, klines of every interval (closed
/// ones from the records, the current ones from the state after the batch, so REST is exact even
/// between throttled stream updates) and internal books' `bookTicker:<SYMBOL>`. Every effect is
/// idempotent, so a replay or a retry after a Redis failure converges.
public struct MarketAggregatesSideEffects: SideEffectPlanner {
    public typealias Processor = MarketAggregatesProcessor

    private var retry: [SideEffect] = []

    public init() {}

    public mutating func plan(durable outputs: [ProcessorOutput], processors: [Processor], nowMs: Int64) -> [SideEffect] {
        var effects = retry
        retry.removeAll()
        var traded: [String] = []
        var seen: Set<String> = []
        for output in outputs {
            if !output.isEffectOnly {
                effects.append(.publish(
                    channel: RedisNames.marketDataChannel(topic: output.topic, symbol: output.key),
                    message: output.encoded ?? EnvelopeCodec.encode(output.envelope)))
            }
            switch output.envelope.payload {
            case .mdTrade(let trade):
                effects.append(.sortedSetPut(
                    key: RedisNames.marketTrades(symbol: trade.symbol), score: trade.tradeID,
                    member: EnvelopeCodec.encode(message: trade), keep: RedisNames.recentTradesKept))
                if seen.insert(trade.symbol).inserted { traded.append(trade.symbol) }
            case .mdAggTrade(let agg):
                effects.append(.sortedSetPut(
                    key: RedisNames.marketAggTrades(symbol: agg.symbol), score: agg.aggTradeID,
                    member: EnvelopeCodec.encode(message: agg), keep: RedisNames.recentTradesKept))
                if seen.insert(agg.symbol).inserted { traded.append(agg.symbol) }  // upstream aggTrades move klines
            case .mdKline(let kline) where kline.closed:
                effects.append(Self.klineEffect(kline))
            case .mdBookTicker(let top):
                effects.append(.set(key: RedisNames.bookTicker(symbol: top.symbol), value: EnvelopeCodec.encode(message: top)))
            default:
                break
            }
        }
        for symbol in traded {
            guard let aggregates = processors.lazy.compactMap({ $0.symbols[symbol] }).first else { continue }
            for kline in aggregates.current where kline.tradeCount > 0 { effects.append(Self.klineEffect(kline)) }
        }
        return effects
    }

    public mutating func failed(_ effects: [SideEffect]) {
        // Publishes are gone (subscribers resync through REST, as on Binance); projections are redone.
        retry = effects.filter { if case .publish = $0 { return false } else { return true } }
    }

    static func klineEffect(_ kline: Exchange_V1_MdKline) -> SideEffect {
        var stored = kline
        stored.closed = false  // REST derives "closed" from closeTime; one member per open time
        stored.eventTime = 0
        return .sortedSetPut(
            key: RedisNames.marketKlines(symbol: kline.symbol, interval: kline.interval), score: kline.openTime,
            member: EnvelopeCodec.encode(message: stored),
            keep: kline.interval == KlineInterval.m1.rawValue ? RedisNames.minuteKlinesKept : RedisNames.klinesKept)
    }
}
