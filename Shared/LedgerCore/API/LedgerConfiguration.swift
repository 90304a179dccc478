/// Defaults the ledger starts with; part of the state (snapshotted and hashed).
public struct LedgerConfiguration: Sendable, Equatable {
    /// Rates of accounts on `CommissionSetting.standard` (0.1% = 100_000).
    public var defaultMakerRate: Int64
    public var defaultTakerRate: Int64
    /// Deposit confirmations by asset name for assets created without an explicit value.
    public var depositConfirmations: [String: Int32]
    /// Deposit confirmations for every other asset.
    public var defaultDepositConfirmations: Int32
    /// Withdrawals above this amount need two approvers, for assets created without a value.
    public var defaultDualApprovalAbove: Int64
    /// MARKET BUY budget cap for assets created without a value (Int64.max: the whole free balance).
    public var defaultMarketBuyBudgetCap: Int64
    /// Emit one `.posting` event per journal posting (the service projects the journal from them).
    public var emitsPostings: Bool

    public init(
        defaultMakerRate: Int64 = 100_000, defaultTakerRate: Int64 = 100_000,
        depositConfirmations: [String: Int32] = ["BTC": 30, "ETH": 12], defaultDepositConfirmations: Int32 = 1,
        defaultDualApprovalAbove: Int64 = Int64.max, defaultMarketBuyBudgetCap: Int64 = Int64.max,
        emitsPostings: Bool = true
    ) {
        self.defaultMakerRate = defaultMakerRate
        self.defaultTakerRate = defaultTakerRate
        self.depositConfirmations = depositConfirmations
        self.defaultDepositConfirmations = defaultDepositConfirmations
        self.defaultDualApprovalAbove = defaultDualApprovalAbove
        self.defaultMarketBuyBudgetCap = defaultMarketBuyBudgetCap
        self.emitsPostings = emitsPostings
    }
}
