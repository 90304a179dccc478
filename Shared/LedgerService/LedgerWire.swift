import Foundation
import ExchangeProtocol
import LedgerCore

/// Mapping between the ledger core's commands/events and the `exchange.v1` messages.
public enum LedgerWire {
    // MARK: Requests → commands

    /// nil when the action is missing or unknown.
    public static func withdrawalCommand(_ w: Exchange_V1_Withdrawal, time: Int64) -> LedgerCommand? {
        let step = WithdrawalStep(withdrawalID: w.withdrawalID, userID: w.userID, operatorName: w.operator, time: time)
        switch w.action {
        case .request:
            return .requestWithdrawal(WithdrawalRequest(
                withdrawalID: w.withdrawalID, userID: w.userID, asset: w.asset, amount: w.amount, fee: w.fee,
                address: w.address, time: time))
        case .approve: return .approveWithdrawal(step)
        case .complete:
            var complete = step
            complete.detail = w.txid
            return .completeWithdrawal(complete)
        case .fail:
            var fail = step
            fail.detail = w.reason
            return .failWithdrawal(fail)
        default: return nil
        }
    }

    public static func accountCommand(_ a: Exchange_V1_AccountAdmin, time: Int64) -> LedgerCommand? {
        let permissions = AccountPermissions(canTrade: a.canTrade, canWithdraw: a.canWithdraw, canDeposit: a.canDeposit)
        switch a.action {
        case .create:
            return .createAccount(CreateAccount(userID: a.userID, permissions: permissions, operatorName: a.operator, time: time))
        case .setPermissions:
            return .setPermissions(SetPermissions(userID: a.userID, permissions: permissions, operatorName: a.operator, time: time))
        case .setCommission:
            let setting: CommissionSetting
            switch a.commissionTier {
            case "": setting = .rates(maker: a.makerCommissionRate, taker: a.takerCommissionRate)
            case "standard": setting = .standard
            default: setting = .tier(a.commissionTier)
            }
            return .setCommission(SetCommission(userID: a.userID, setting: setting, operatorName: a.operator, time: time))
        default:
            return nil
        }
    }

    public static func apiKeyCommand(_ k: Exchange_V1_ApiKeyAdmin, time: Int64) -> LedgerCommand? {
        let action: ApiKeyCommand.Action
        switch k.action {
        case .create: action = .create
        case .update: action = .update
        case .delete: action = .delete
        default: return nil
        }
        let kind: ApiKeyKind
        switch k.keyType {
        case .hmac: kind = .hmac
        case .ed25519: kind = .ed25519
        case .rsa: kind = .rsa
        default:
            // Update and delete do not change the kind; any value will do.
            guard action != .create else { return nil }
            kind = .hmac
        }
        return .apiKey(ApiKeyCommand(
            action: action,
            key: ApiKeyRecord(
                apiKey: k.apiKey, userID: k.userID, kind: kind, encryptedSecret: Array(k.encryptedSecret),
                publicKeyPEM: k.publicKeyPem,
                permissions: ApiKeyPermissions(read: k.permitRead, trade: k.permitTrade, withdraw: k.permitWithdraw),
                ipAllowlist: k.ipAllowlist, label: k.label),
            operatorName: k.operator, time: time))
    }

    // MARK: Events → records

    public static func balanceChange(_ change: LedgerCore.BalanceChange) -> Exchange_V1_BalanceChange {
        var out = Exchange_V1_BalanceChange()
        out.userID = change.userID
        out.reason = Exchange_V1_BalanceChangeReason(rawValue: Int(change.reason.rawValue)) ?? .unspecified
        out.journalEntryID = change.journalEntryID
        out.orderID = change.orderID
        out.time = change.time
        func add(_ m: AssetMovement) {
            var balance = Exchange_V1_AssetBalance()
            balance.asset = m.asset
            balance.free = m.free
            balance.locked = m.locked
            out.balances.append(balance)
            var delta = Exchange_V1_AssetDelta()
            delta.asset = m.asset
            delta.freeDelta = m.freeDelta
            delta.lockedDelta = m.lockedDelta
            out.deltas.append(delta)
        }
        add(change.first)
        if let second = change.second { add(second) }
        return out
    }

    public static func deposit(_ d: DepositRecorded, envelope: Exchange_V1_Envelope) -> Exchange_V1_Deposit {
        var out = envelope.deposit
        out.userID = d.userID
        out.asset = d.asset
        out.amount = d.amount
        out.txid = d.txid
        out.confirmations = d.confirmations
        out.requiredConfirmations = d.requiredConfirmations
        out.status = d.status == .credited ? .credited : .pending
        out.time = d.time
        return out
    }

    public static func withdrawal(_ w: WithdrawalChanged, envelope: Exchange_V1_Envelope) -> Exchange_V1_Withdrawal {
        var out = envelope.withdrawal
        out.userID = w.userID
        out.withdrawalID = w.withdrawalID
        out.asset = w.asset
        out.amount = w.amount
        out.fee = w.fee
        out.operator = w.operatorName
        out.time = w.time
        out.state = withdrawalStateName(w.state)
        out.approvers = w.approvers
        out.requiredApprovals = Int32(w.requiredApprovals)
        return out
    }

    public static func withdrawalStateName(_ state: WithdrawalState) -> String {
        switch state {
        case .requested: return "REQUESTED"
        case .approved: return "APPROVED"
        case .completed: return "COMPLETED"
        case .failed: return "FAILED"
        }
    }

    public static func account(_ a: AccountChanged) -> Exchange_V1_AccountAdmin {
        var out = Exchange_V1_AccountAdmin()
        out.userID = a.userID
        switch a.action {
        case .create: out.action = .create
        case .setPermissions: out.action = .setPermissions
        case .setCommission: out.action = .setCommission
        }
        out.canTrade = a.permissions.canTrade
        out.canWithdraw = a.permissions.canWithdraw
        out.canDeposit = a.permissions.canDeposit
        out.makerCommissionRate = a.makerCommissionRate
        out.takerCommissionRate = a.takerCommissionRate
        out.accountType = "SPOT"
        out.operator = a.operatorName
        out.time = a.time
        switch a.commission {
        case .standard: out.commissionTier = "standard"
        case .tier(let name): out.commissionTier = name
        case .rates: out.commissionTier = ""
        }
        return out
    }

    public static func apiKey(_ k: ApiKeyChanged) -> Exchange_V1_ApiKeyAdmin {
        var out = Exchange_V1_ApiKeyAdmin()
        out.userID = k.key.userID
        switch k.action {
        case .create: out.action = .create
        case .update: out.action = .update
        case .delete: out.action = .delete
        }
        out.apiKey = k.key.apiKey
        switch k.key.kind {
        case .hmac: out.keyType = .hmac
        case .ed25519: out.keyType = .ed25519
        case .rsa: out.keyType = .rsa
        }
        out.encryptedSecret = Data(k.key.encryptedSecret)
        out.publicKeyPem = k.key.publicKeyPEM
        out.permitRead = k.key.permissions.read
        out.permitTrade = k.key.permissions.trade
        out.permitWithdraw = k.key.permissions.withdraw
        out.ipAllowlist = k.key.ipAllowlist
        out.label = k.key.label
        out.operator = k.operatorName
        out.time = k.time
        return out
    }

    public static func asset(_ a: AssetState, operatorName: String) -> Exchange_V1_AssetAdmin {
        var out = Exchange_V1_AssetAdmin()
        out.asset = a.asset
        out.depositConfirmations = a.depositConfirmations
        out.dualApprovalAbove = a.dualApprovalAbove
        out.marketBuyBudgetCap = a.marketBuyBudgetCap
        out.operator = operatorName
        return out
    }
}
