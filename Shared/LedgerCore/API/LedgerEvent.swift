import ExchangeProtocol

/// What applying a command produced, in order. The service turns them into `ledger.events`,
/// `matching.commands` / `routing.commands` and projections.
public enum LedgerEvent: Sendable, Equatable {
    /// One user's balances changed (Binance's balanceUpdate deltas and outboundAccountPosition
    /// balances). One per (journal entry, user side); a trade between two orders of one user gives two.
    case balanceChanged(BalanceChange)
    /// One posting of the double-entry journal (emitted when `LedgerConfiguration.emitsPostings`).
    case posting(Posting)
    /// Funds reserved: forward the order with these fields (`FundedOrder` in orders.proto).
    case orderFunded(FundedOrderInfo)
    /// The order is closed here; `released` of `asset` went back to free (possibly 0).
    case orderClosed(OrderClosed)
    case depositRecorded(DepositRecorded)
    case withdrawalChanged(WithdrawalChanged)
    case accountChanged(AccountChanged)
    case apiKeyChanged(ApiKeyChanged)
    case assetChanged(AssetState)
    case symbolChanged(SymbolSettings)
    case commissionTierChanged(CommissionTier)
    /// The command was refused and changed nothing.
    case rejected(LedgerRejection)
}

/// Why a balance changed; one to one with `BalanceChangeReason` in ledger.proto (same order).
public enum BalanceChangeReason: UInt8, Sendable, Equatable, CaseIterable {
    case orderReserve = 1
    case orderRelease = 2
    case trade = 3
    case deposit = 4
    case withdrawal = 5
    case withdrawalReturned = 6
    case adjustment = 7
}

/// One asset of a balance change: what moved and the balance after.
public struct AssetMovement: Sendable, Equatable {
    public var asset: String
    public var freeDelta: Int64
    public var lockedDelta: Int64
    public var free: Int64
    public var locked: Int64

    public init(asset: String, freeDelta: Int64, lockedDelta: Int64, free: Int64, locked: Int64) {
        self.asset = asset
        self.freeDelta = freeDelta
        self.lockedDelta = lockedDelta
        self.free = free
        self.locked = locked
    }
}

/// A user's balance change: at most two assets (a trade side touches base and quote), stored
/// inline so the hot path builds it without allocating.
public struct BalanceChange: Sendable, Equatable {
    public var userID: UInt64
    public var reason: BalanceChangeReason
    public var journalEntryID: UInt64
    /// 0 when not about an order.
    public var orderID: UInt64
    public var time: Int64
    public var first: AssetMovement
    public var second: AssetMovement?

    public init(
        userID: UInt64, reason: BalanceChangeReason, journalEntryID: UInt64, orderID: UInt64, time: Int64,
        first: AssetMovement, second: AssetMovement? = nil
    ) {
        self.userID = userID
        self.reason = reason
        self.journalEntryID = journalEntryID
        self.orderID = orderID
        self.time = time
        self.first = first
        self.second = second
    }

    /// The movements as an array (allocates; for the service and tests, not the hot path).
    public var movements: [AssetMovement] { second.map { [first, $0] } ?? [first] }
}

/// An account of the journal. User accounts are per (user, asset); the three system accounts
/// exist once per asset.
public enum LedgerAccount: Sendable, Equatable, Hashable {
    case free(userID: UInt64)
    case locked(userID: UInt64)
    /// The exchange's commission (and withdrawal fee) revenue.
    case feeRevenue
    /// The world outside: deposits come from it, withdrawals go to it (its balance is minus what
    /// the exchange holds).
    case external
    /// Trade clearing: each trade side pays into it and receives from it, so a side settles on its
    /// own (users of one trade may live on different ledger partitions). It nets to zero per asset
    /// once both sides of every trade are settled.
    case clearing
}

/// `amount` of `asset` moved from one account to another. Every posting is balanced by itself,
/// so every journal entry (the postings of one command) is.
public struct Posting: Sendable, Equatable {
    public var journalEntryID: UInt64
    public var asset: String
    public var from: LedgerAccount
    public var to: LedgerAccount
    public var amount: Int64

    public init(journalEntryID: UInt64, asset: String, from: LedgerAccount, to: LedgerAccount, amount: Int64) {
        self.journalEntryID = journalEntryID
        self.asset = asset
        self.from = from
        self.to = to
        self.amount = amount
    }
}

/// The fields the ledger adds to a `PlaceOrder` to make it a `FundedOrder`.
public struct FundedOrderInfo: Sendable, Equatable {
    public var userID: UInt64
    public var orderID: UInt64
    public var reservedAsset: String
    public var reservedAmount: Int64
    /// MARKET BUY by quantity (and STOP_LOSS / TAKE_PROFIT BUY): the most quote matching may spend
    /// (equal to `reservedAmount`); 0 otherwise.
    public var quoteBudget: Int64
    public var makerCommissionRate: Int64
    public var takerCommissionRate: Int64
    public var baseAsset: String
    public var quoteAsset: String

    public init(
        userID: UInt64, orderID: UInt64, reservedAsset: String, reservedAmount: Int64, quoteBudget: Int64,
        makerCommissionRate: Int64, takerCommissionRate: Int64, baseAsset: String, quoteAsset: String
    ) {
        self.userID = userID
        self.orderID = orderID
        self.reservedAsset = reservedAsset
        self.reservedAmount = reservedAmount
        self.quoteBudget = quoteBudget
        self.makerCommissionRate = makerCommissionRate
        self.takerCommissionRate = takerCommissionRate
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
    }
}

public struct OrderClosed: Sendable, Equatable {
    public var userID: UInt64
    public var orderID: UInt64
    /// The status that closed it.
    public var status: OrderStatus
    public var asset: String
    public var released: Int64

    public init(userID: UInt64, orderID: UInt64, status: OrderStatus, asset: String, released: Int64) {
        self.userID = userID
        self.orderID = orderID
        self.status = status
        self.asset = asset
        self.released = released
    }
}

/// PENDING / CREDITED, as `DepositStatus` in ledger.proto.
public enum DepositStatus: UInt8, Sendable, Equatable {
    case pending = 1
    case credited = 2
}

public struct DepositRecorded: Sendable, Equatable {
    public var userID: UInt64
    public var asset: String
    public var amount: Int64
    public var txid: String
    public var confirmations: Int32
    /// The threshold that applied.
    public var requiredConfirmations: Int32
    public var status: DepositStatus
    public var time: Int64

    public init(
        userID: UInt64, asset: String, amount: Int64, txid: String, confirmations: Int32,
        requiredConfirmations: Int32, status: DepositStatus, time: Int64
    ) {
        self.userID = userID
        self.asset = asset
        self.amount = amount
        self.txid = txid
        self.confirmations = confirmations
        self.requiredConfirmations = requiredConfirmations
        self.status = status
        self.time = time
    }
}

/// A withdrawal's life: REQUESTED → (approvals) → APPROVED → COMPLETED, or FAILED from either.
public enum WithdrawalState: UInt8, Sendable, Equatable {
    case requested = 1
    case approved = 2
    case completed = 3
    case failed = 4
}

public struct WithdrawalChanged: Sendable, Equatable {
    public var withdrawalID: String
    public var userID: UInt64
    public var asset: String
    public var amount: Int64
    public var fee: Int64
    public var state: WithdrawalState
    /// Distinct approvers so far, in approval order.
    public var approvers: [String]
    public var requiredApprovals: Int
    /// The operator of this step ("" for the request).
    public var operatorName: String
    /// Complete: txid; fail: reason.
    public var detail: String
    public var time: Int64

    public init(
        withdrawalID: String, userID: UInt64, asset: String, amount: Int64, fee: Int64, state: WithdrawalState,
        approvers: [String], requiredApprovals: Int, operatorName: String, detail: String, time: Int64
    ) {
        self.withdrawalID = withdrawalID
        self.userID = userID
        self.asset = asset
        self.amount = amount
        self.fee = fee
        self.state = state
        self.approvers = approvers
        self.requiredApprovals = requiredApprovals
        self.operatorName = operatorName
        self.detail = detail
        self.time = time
    }
}

/// An account's settings after an admin change (`AccountAdmin` on ledger.events).
public struct AccountChanged: Sendable, Equatable {
    public enum Action: UInt8, Sendable, Equatable {
        case create = 1
        case setPermissions = 2
        case setCommission = 3
    }

    public var userID: UInt64
    public var action: Action
    public var permissions: AccountPermissions
    public var commission: CommissionSetting
    /// The rates orders are funded with now.
    public var makerCommissionRate: Int64
    public var takerCommissionRate: Int64
    public var operatorName: String
    public var time: Int64

    public init(
        userID: UInt64, action: Action, permissions: AccountPermissions, commission: CommissionSetting,
        makerCommissionRate: Int64, takerCommissionRate: Int64, operatorName: String, time: Int64
    ) {
        self.userID = userID
        self.action = action
        self.permissions = permissions
        self.commission = commission
        self.makerCommissionRate = makerCommissionRate
        self.takerCommissionRate = takerCommissionRate
        self.operatorName = operatorName
        self.time = time
    }
}

/// An API key after a change (after a delete: the deleted record), so the router can authorise.
public struct ApiKeyChanged: Sendable, Equatable {
    public var action: ApiKeyCommand.Action
    public var key: ApiKeyRecord
    public var operatorName: String
    public var time: Int64

    public init(action: ApiKeyCommand.Action, key: ApiKeyRecord, operatorName: String, time: Int64) {
        self.action = action
        self.key = key
        self.operatorName = operatorName
        self.time = time
    }
}

/// An asset's resolved settings.
public struct AssetState: Sendable, Equatable {
    public var asset: String
    public var depositConfirmations: Int32
    public var dualApprovalAbove: Int64
    public var marketBuyBudgetCap: Int64

    public init(asset: String, depositConfirmations: Int32, dualApprovalAbove: Int64, marketBuyBudgetCap: Int64) {
        self.asset = asset
        self.depositConfirmations = depositConfirmations
        self.dualApprovalAbove = dualApprovalAbove
        self.marketBuyBudgetCap = marketBuyBudgetCap
    }
}
