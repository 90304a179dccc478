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
    /// Per "SYMBOL interval": the open time of the last kline published closed, so a kline closed
    /// on time by the clock is not published closed again when the next trade closes it in the log.
    private var closedOnStream: [String: Int64] = [:]

    public init() {}

    public mutating func plan(durable outputs: [ProcessorOutput], processors: [Processor], nowMs: Int64) -> [SideEffect] {
        var effects = retry
        retry.removeAll()
        var traded: [String] = []
        var seen: Set<String> = []
        for output in outputs {
            if case .mdKline(let kline) = output.envelope.payload, kline.closed,
               closedOnStream.updateValue(kline.openTime, forKey: "\(kline.symbol) \(kline.interval)") == kline.openTime {
                effects.append(Self.klineEffect(kline))  // already closed on the stream by the clock
                continue
            }
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
        effects += closeByClock(processors, nowMs: nowMs)
        return effects
    }

    /// Binance's kline streams send the closing update (`"x":true`) when the interval ends, trade or
    /// not. The log closes a kline only at the next trade (it has no clock), so the stream gets the
    /// close here, from the wall clock: Pub/Sub only, never the log or REST (which shows closeTime).
    mutating func closeByClock(_ processors: [Processor], nowMs: Int64) -> [SideEffect] {
        var effects: [SideEffect] = []
        for processor in processors {
            for (symbol, aggregates) in processor.symbols {
                for kline in aggregates.current where kline.tradeCount > 0 && kline.closeTime < nowMs {
                    let key = "\(symbol) \(kline.interval)"
                    guard closedOnStream[key] != kline.openTime else { continue }
                    closedOnStream[key] = kline.openTime
                    var closed = kline
                    closed.closed = true
                    closed.eventTime = nowMs
                    effects.append(.publish(
                        channel: RedisNames.marketDataChannel(topic: Topics.mdTickers.name, symbol: symbol),
                        message: EnvelopeCodec.encode(Exchange_V1_Envelope(payload: .mdKline(closed), createdAtMs: nowMs, emittedAtMs: nowMs))))
                }
            }
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
