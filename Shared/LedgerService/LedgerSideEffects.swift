import ExchangeProtocol
import Foundation
import LedgerCore
import Metrics
import ServiceKit

/// What the ledger does outside the log once a batch is durable:
/// - answers requesters (rejected orders, every administrative outcome) on their reply channels;
/// - keeps the Redis projections the router reads (`RedisNames`): balances, accounts, API keys,
///   open orders, orders by id and by client order id;
/// - publishes every event about a user (order reports, balance changes) on the user's channel
///   for the notifier, in the order the ledger saw them;
/// - writes the audit of its ledger (drift per asset, findings) at most once per `auditIntervalMs`.
///
/// Projection writes are idempotent and applied in log order, so a replay after a crash converges
/// on the same values. On its first batch (a start or restart) the planner rewrites the balances,
/// accounts and API keys from the ledger's state, so writes lost with a crash are repaired.
public struct LedgerSideEffects: SideEffectPlanner {
    public typealias Processor = LedgerProcessor

    let instance: String
    let replies: ReplyPlanner
    let auditIntervalMs: Int64
    private var lastAuditMs: Int64 = .min / 2
    private var rebuilt = false
    /// Projection writes of a failed pipeline, redone before the next batch's.
    private var retry: [SideEffect] = []
    /// Last audit, for the metric and tests.
    public private(set) var lastAudit: LedgerAudit?

    public init(instance: String, auditIntervalMs: Int64 = 1000) {
        self.instance = instance
        replies = ReplyPlanner(producer: instance, includes: Self.isReply)
        self.auditIntervalMs = auditIntervalMs
    }

    /// What a requester waits for from the ledger: its rejections and administrative outcomes.
    /// (An accepted order's outcome comes from matching.)
    static func isReply(_ payload: Exchange_V1_Envelope.OneOf_Payload) -> Bool {
        switch payload {
        case .orderRejected, .adminRejected, .deposit, .withdrawal, .accountAdmin, .apiKeyAdmin, .assetAdmin, .commissionTierAdmin:
            return true
        default:
            return false
        }
    }

    /// The Redis key the audit of `instance` is written to (JSON).
    public static func auditKey(instance: String) -> String { "audit:ledger:\(instance)" }

    public mutating func plan(durable outputs: [ProcessorOutput], processors: [Processor], nowMs: Int64) -> [SideEffect] {
        var effects = retry
        retry.removeAll()
        if !rebuilt {
            rebuilt = true
            for processor in processors { effects += Self.rebuild(processor.ledger) }
        }
        effects += replies.plan(outputs)
        var tierChanged = false
        for output in outputs {
            let envelope = output.envelope
            switch envelope.payload {
            case .balanceChange(let change):
                for balance in change.balances {
                    let key = RedisNames.balances(userID: change.userID)
                    if balance.free == 0 && balance.locked == 0 {
                        effects.append(.hashDelete(key: key, field: balance.asset))
                    } else {
                        effects.append(.hashSet(key: key, field: balance.asset, value: EnvelopeCodec.encode(message: balance)))
                    }
                }
                effects.append(.publish(channel: RedisNames.userChannel(userID: change.userID), message: Self.bytes(output)))
            case .orderUpdate(let update):
                effects += Self.orderProjection(update)
                effects.append(.publish(channel: RedisNames.userChannel(userID: update.userID), message: Self.bytes(output)))
            case .accountAdmin(let account):
                effects.append(.set(key: RedisNames.account(userID: account.userID), value: EnvelopeCodec.encode(message: account)))
            case .apiKeyAdmin(let key):
                if key.action == .delete {
                    effects.append(.delete(key: RedisNames.apiKey(key.apiKey)))
                } else {
                    effects.append(.set(key: RedisNames.apiKey(key.apiKey), value: EnvelopeCodec.encode(message: key)))
                }
            case .commissionTierAdmin:
                tierChanged = true
            case .deposit(let deposit):
                effects.append(.publish(channel: RedisNames.userChannel(userID: deposit.userID), message: Self.bytes(output)))
            case .withdrawal(let withdrawal):
                effects.append(.publish(channel: RedisNames.userChannel(userID: withdrawal.userID), message: Self.bytes(output)))
            default:
                continue
            }
        }
        if tierChanged {
            // Accounts on a tier follow it: their projected rates change too.
            for processor in processors { effects += Self.accounts(processor.ledger) }
        }
        if nowMs - lastAuditMs >= auditIntervalMs, !processors.isEmpty {
            lastAuditMs = nowMs
            let audit = Self.audit(processors)
            lastAudit = audit
            // exchange_ledger_audit_drift{asset} (must be 0) and exchange_ledger_audit_findings.
            for asset in audit.assets {
                Gauge(label: "exchange_ledger_audit_drift", dimensions: [("asset", asset.asset)])
                    .record(Double(asset.drift))
            }
            Gauge(label: "exchange_ledger_audit_findings").record(Double(audit.findings.count))
            effects.append(.set(key: Self.auditKey(instance: instance),
                                value: Self.auditJSON(audit, instance: instance, processors: processors, nowMs: nowMs)))
        }
        return effects
    }

    public mutating func failed(_ effects: [SideEffect]) {
        // Replies and channel messages are gone (the router answers -1007 after its timeout, a
        // stream client resyncs through REST); projection writes are redone in order.
        retry = effects.filter {
            if case .publish = $0 { return false }
            return true
        }
    }

    private static func bytes(_ output: ProcessorOutput) -> [UInt8] {
        output.encoded ?? EnvelopeCodec.encode(output.envelope)
    }

    /// Open orders, order by id and by client order id after a report.
    static func orderProjection(_ update: Exchange_V1_OrderUpdate) -> [SideEffect] {
        let value = EnvelopeCodec.encode(message: update)
        let orderKey = RedisNames.order(userID: update.userID, orderID: update.orderID)
        let clientKey = RedisNames.clientOrder(userID: update.userID, symbol: update.symbol, clientOrderID: update.clientOrderID)
        let openKey = RedisNames.openOrders(userID: update.userID)
        let id = Array(String(update.orderID).utf8)
        if isTerminal(update) {
            let ttl = RedisNames.terminalOrderRetentionSeconds
            return [
                .hashDelete(key: openKey, field: String(update.orderID)),
                .setExpiring(key: orderKey, value: value, seconds: ttl),
                .setExpiring(key: clientKey, value: id, seconds: ttl),
            ]
        }
        return [
            .hashSet(key: openKey, field: String(update.orderID), value: value),
            .set(key: orderKey, value: value),
            .set(key: clientKey, value: id),
        ]
    }

    /// The ledger's reading of a final report (`OrderProgress.isTerminal`).
    static func isTerminal(_ update: Exchange_V1_OrderUpdate) -> Bool {
        guard let status = OrderStatus(proto: update.status), let execution = ExecutionType(proto: update.executionType) else {
            return false
        }
        return OrderProgress(
            orderID: update.orderID, userID: update.userID, executionType: execution, status: status,
            quantity: update.quantity, cumulativeQty: update.cumulativeFilledQty, preventedQuantity: update.preventedQuantity
        ).isTerminal
    }

    /// Balances, accounts and API keys from the ledger's state (each balance hash replaced whole).
    static func rebuild(_ ledger: Ledger) -> [SideEffect] {
        var effects = accounts(ledger)
        let balances = ledger.allBalances()
        for user in ledger.accountHolders.map(\.userID) {
            let key = RedisNames.balances(userID: user)
            effects.append(.delete(key: key))
            for b in balances[user] ?? [] {
                var balance = Exchange_V1_AssetBalance()
                balance.asset = b.asset
                balance.free = b.free
                balance.locked = b.locked
                effects.append(.hashSet(key: key, field: b.asset, value: EnvelopeCodec.encode(message: balance)))
            }
        }
        for record in ledger.apiKeyRecords {
            let key = LedgerWire.apiKey(ApiKeyChanged(action: .create, key: record, operatorName: "", time: 0))
            effects.append(.set(key: RedisNames.apiKey(record.apiKey), value: EnvelopeCodec.encode(message: key)))
        }
        return effects
    }

    static func accounts(_ ledger: Ledger) -> [SideEffect] {
        ledger.accountHolders.map {
            .set(key: RedisNames.account(userID: $0.userID), value: EnvelopeCodec.encode(message: LedgerWire.account($0)))
        }
    }

    /// The audit of every partition this instance owns, summed per asset (clearing nets to zero
    /// only across all partitions: one trade's sides settle in their users' partitions).
    public static func audit(_ processors: [Processor]) -> LedgerAudit {
        var totals: [String: LedgerAudit.AssetTotals] = [:]
        var findings: [LedgerAudit.Finding] = []
        for processor in processors {
            let audit = processor.ledger.audit()
            findings += audit.findings
            for a in audit.assets {
                if var t = totals[a.asset] {
                    t.userFree += a.userFree
                    t.userLocked += a.userLocked
                    t.feeRevenue += a.feeRevenue
                    t.external += a.external
                    t.clearing += a.clearing
                    t.drift += a.drift
                    totals[a.asset] = t
                } else {
                    totals[a.asset] = a
                }
            }
        }
        return LedgerAudit(assets: totals.keys.sorted().map { totals[$0]! }, findings: findings)
    }

    /// `exchange admin audit` reads this: drift per asset (must be 0) and the findings.
    static func auditJSON(_ audit: LedgerAudit, instance: String, processors: [Processor], nowMs: Int64) -> [UInt8] {
        var assets: [[String: Any]] = []
        for a in audit.assets {
            assets.append([
                "asset": a.asset, "drift": "\(a.drift)", "userFree": "\(a.userFree)", "userLocked": "\(a.userLocked)",
                "feeRevenue": "\(a.feeRevenue)", "external": "\(a.external)", "clearing": "\(a.clearing)",
            ])
        }
        let object: [String: Any] = [
            "instance": instance, "time": nowMs, "clean": audit.isClean,
            "driftTotal": "\(audit.assets.reduce(Int128(0)) { $0 + ($1.drift < 0 ? -$1.drift : $1.drift) })",
            "findings": audit.findings.map { "\($0)" }, "assets": assets,
            "partitions": processors.count,
            "openOrders": processors.reduce(0) { $0 + $1.ledger.openOrderCount },
            "refusedMatchingEvents": processors.reduce(0) { $0 + $1.refusedMatchingEvents },
        ]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}
