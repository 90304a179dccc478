import ExchangeProtocol
import OrderRouterCore

/// Binance's user-data events from the envelopes the ledger publishes on `user.<uid>`.
///
/// - `OrderUpdate` → `executionReport`;
/// - `BalanceChange` → `outboundAccountPosition`, preceded by one `balanceUpdate` per moved asset
///   when the change is a deposit, a withdrawal (or its return) or an adjustment, as Binance sends
///   a balanceUpdate then the position for those. `Deposit`/`Withdrawal` records themselves add no
///   event: their balance effect always arrives as the `BalanceChange` the ledger emits with them.
public enum UserPayloads {
    /// The events (JSON objects) one envelope becomes, in order; empty for records users never see.
    public static func events(_ envelope: Exchange_V1_Envelope) -> [String] {
        switch envelope.payload {
        case .orderUpdate(let update):
            return [executionReport(update, eventTime: eventTime(envelope, fallback: update.transactionTime))]
        case .balanceChange(let change):
            let time = eventTime(envelope, fallback: change.time)
            var out: [String] = []
            switch change.reason {
            case .deposit, .withdrawal, .withdrawalReturned, .adjustment:
                for delta in change.deltas where delta.freeDelta != 0 {
                    out.append(balanceUpdate(asset: delta.asset, delta: delta.freeDelta, eventTime: time, clearTime: change.time))
                }
            default:
                break
            }
            out.append(accountPosition(change, eventTime: time))
            return out
        default:
            return []
        }
    }

    static func eventTime(_ envelope: Exchange_V1_Envelope, fallback: Int64) -> Int64 {
        envelope.emittedAtMs != 0 ? envelope.emittedAtMs : fallback
    }

    static func name<E: BinanceEnum>(_ type: E.Type, _ proto: E.Proto, default fallback: E) -> String {
        (E(proto: proto) ?? fallback).rawValue
    }

    /// `executionReport`, Binance's members in Binance's order; the conditional ones (`v`, `A`,
    /// `B`, `j`, `J`, `d`) only when they apply, as Binance shows them.
    public static func executionReport(_ u: Exchange_V1_OrderUpdate, eventTime: Int64) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "executionReport")
        w.field("E", eventTime)
        w.field("s", u.symbol)
        w.field("c", u.clientOrderID)
        w.field("S", name(Side.self, u.side, default: .buy))
        w.field("o", name(OrderType.self, u.type, default: .limit))
        w.field("f", name(TimeInForce.self, u.timeInForce, default: .gtc))
        w.field("q", decimal: Fixed8(raw: u.quantity))
        w.field("p", decimal: Fixed8(raw: u.price))
        w.field("P", decimal: Fixed8(raw: u.stopPrice))
        w.field("F", decimal: Fixed8(raw: u.icebergQty))
        w.field("g", -1)
        w.field("C", u.origClientOrderID)
        w.field("x", name(ExecutionType.self, u.executionType, default: .new))
        w.field("X", name(OrderStatus.self, u.status, default: .new))
        w.field("r", u.rejectReason.isEmpty ? "NONE" : u.rejectReason)
        w.field("i", u.orderID)
        w.field("l", decimal: Fixed8(raw: u.lastExecutedQty))
        w.field("z", decimal: Fixed8(raw: u.cumulativeFilledQty))
        w.field("L", decimal: Fixed8(raw: u.lastExecutedPrice))
        w.field("n", decimal: Fixed8(raw: u.commissionAmount))
        w.key("N")
        if u.commissionAsset.isEmpty { w.null() } else { w.string(u.commissionAsset) }
        w.field("T", u.transactionTime)
        w.field("t", u.tradeID)
        if u.preventedMatchID != 0 { w.field("v", u.preventedMatchID) }
        w.field("I", 0)
        w.field("w", u.isWorking)
        w.field("m", u.isMaker)
        w.field("M", false)
        w.field("O", u.orderCreationTime)
        w.field("Z", decimal: Fixed8(raw: u.cumulativeQuoteQty))
        w.field("Y", decimal: Fixed8(raw: u.lastQuoteQty))
        w.field("Q", decimal: Fixed8(raw: u.quoteOrderQty))
        if u.workingTime != 0 { w.field("W", u.workingTime) }
        w.field("V", name(SelfTradePreventionMode.self, u.selfTradePreventionMode, default: .none))
        if u.trailingDelta != 0 { w.field("d", u.trailingDelta) }
        if u.strategyID != 0 { w.field("j", u.strategyID) }
        if u.strategyType != 0 { w.field("J", Int(u.strategyType)) }
        if u.preventedMatchID != 0 {
            w.field("A", decimal: Fixed8(raw: u.preventedQuantity))
            w.field("B", decimal: Fixed8(raw: u.lastPreventedQuantity))
        }
        w.objectEnd()
        return w.text
    }

    /// `outboundAccountPosition`: the assets the change touched, with their balances after it.
    public static func accountPosition(_ c: Exchange_V1_BalanceChange, eventTime: Int64) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "outboundAccountPosition")
        w.field("E", eventTime)
        w.field("u", c.time)
        w.key("B")
        w.arrayStart()
        for b in c.balances {
            w.objectStart()
            w.field("a", b.asset)
            w.field("f", decimal: Fixed8(raw: b.free))
            w.field("l", decimal: Fixed8(raw: b.locked))
            w.objectEnd()
        }
        w.arrayEnd()
        w.objectEnd()
        return w.text
    }

    /// `balanceUpdate`: a deposit, withdrawal or adjustment of one asset.
    public static func balanceUpdate(asset: String, delta: Int64, eventTime: Int64, clearTime: Int64) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "balanceUpdate")
        w.field("E", eventTime)
        w.field("a", asset)
        w.field("d", decimal: Fixed8(raw: delta))
        w.field("T", clearTime)
        w.objectEnd()
        return w.text
    }

    /// `listenKeyExpired`, sent before a legacy user stream closes because its key lapsed.
    public static func listenKeyExpired(listenKey: String, eventTime: Int64) -> String {
        var w = JSONWriter()
        w.objectStart()
        w.field("e", "listenKeyExpired")
        w.field("E", eventTime)
        w.field("listenKey", listenKey)
        w.objectEnd()
        return w.text
    }

    /// A WebSocket API user-data event: `{"subscriptionId":N,"event":{...}}`.
    public static func wrapped(subscriptionID: Int, event: String) -> String {
        "{\"subscriptionId\":\(subscriptionID),\"event\":\(event)}"
    }
}
