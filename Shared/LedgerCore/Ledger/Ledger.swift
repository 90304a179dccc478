import ExchangeProtocol

/// The ledger's pure double-entry core: accounts per (user, asset) with free and locked balances,
/// three system accounts per asset (fee revenue, external, clearing), reservations, settlement,
/// deposits, withdrawals, commission rates and API keys.
///
/// Pure: no I/O, no clock, no logging; time and ids arrive inside commands. `apply` appends what
/// happened to a caller-owned array; a rejected command appends one `.rejected` and changes
/// nothing (every handler validates completely before its first mutation). Every balance change
/// is a posting from one account to another of the same asset, so the sum per asset over all
/// accounts stays exactly zero (`audit()`). The contract is `docs/ledger-semantics.md`.
///
/// Storage is dense for the hot path: users, assets and accounts are interned to Int32 indices,
/// balances live in contiguous arrays, open orders in a pooled array that keeps their account
/// indices, so settling a trade does one dictionary lookup per side and allocates nothing.
/// Snapshots and the state hash never show the interning order: everything is written sorted by
/// its external key, so equal states give equal bytes.
public struct Ledger: Sendable {
    /// Defaults for new assets and standard commission.
    public internal(set) var configuration: LedgerConfiguration

    // Assets and their system accounts, by asset index.
    var assetNames: [String] = []
    var assetIndex: [String: Int32] = [:]
    var assetStates: [AssetState] = []
    var feeRevenue: [Int64] = []
    var external: [Int64] = []
    var clearing: [Int64] = []

    // Symbols.
    var symbolIndex: [String: Int32] = [:]
    var symbols: [SymbolRecord] = []

    var tiers: [String: CommissionTier] = [:]

    // Users.
    var userIndex = LedgerIDMap(capacity: 64)
    var users: [UserRecord] = []

    // User accounts, by account index.
    var accountIndex = LedgerIDMap(capacity: 256)
    var free: [Int64] = []
    var locked: [Int64] = []
    var accountUserID: [UInt64] = []
    var accountAsset: [Int32] = []

    // Open orders: pooled records, reused through a free list.
    var orders: [OrderRecord] = []
    var freeOrderSlots: [Int32] = []
    var orderSlot = LedgerIDMap(capacity: 256)

    var deposits: [String: DepositEntry] = [:]
    var withdrawals: [String: WithdrawalEntry] = [:]
    var apiKeys: [String: ApiKeyRecord] = [:]

    /// The newest journal entry id handed out (0 before any).
    public internal(set) var lastJournalEntryID: UInt64 = 0

    /// Postings made by this value since it was created or restored (a statistic for benchmarks;
    /// not part of the state, the hash or snapshots).
    public internal(set) var postingCount: UInt64 = 0

    /// An empty ledger.
    public init(configuration: LedgerConfiguration = LedgerConfiguration()) {
        self.configuration = configuration
    }

    /// Pre-sizes tables (no rehashing while warming up a benchmark or a big restore).
    public mutating func reserveCapacity(users userCount: Int, accounts: Int, openOrders: Int) {
        if userCount > userIndex.count { userIndex.reserve(userCount) }
        users.reserveCapacity(userCount)
        if accounts > accountIndex.count { accountIndex.reserve(accounts) }
        free.reserveCapacity(accounts)
        locked.reserveCapacity(accounts)
        accountUserID.reserveCapacity(accounts)
        accountAsset.reserveCapacity(accounts)
        orders.reserveCapacity(openOrders)
        freeOrderSlots.reserveCapacity(openOrders)
        if openOrders > orderSlot.count { orderSlot.reserve(openOrders) }
    }

    /// Applies one command; see the contract for the exact events.
    public mutating func apply(_ command: LedgerCommand, into events: inout [LedgerEvent]) {
        switch command {
        case .setAsset(let c): setAsset(c, into: &events)
        case .setSymbol(let c): setSymbol(c, into: &events)
        case .setCommissionTier(let c): setCommissionTier(c, into: &events)
        case .createAccount(let c): createAccount(c, into: &events)
        case .setPermissions(let c): setPermissions(c, into: &events)
        case .setCommission(let c): setCommission(c, into: &events)
        case .apiKey(let c): apiKey(c, into: &events)
        case .placeOrder(let c): placeOrder(c, into: &events)
        case .settleTrade(let c): settleTrade(c, into: &events)
        case .orderProgress(let c): orderProgress(c, into: &events)
        case .deposit(let c): deposit(c, into: &events)
        case .requestWithdrawal(let c): requestWithdrawal(c, into: &events)
        case .approveWithdrawal(let c): approveWithdrawal(c, into: &events)
        case .completeWithdrawal(let c): completeWithdrawal(c, into: &events)
        case .failWithdrawal(let c): failWithdrawal(c, into: &events)
        }
    }

    // MARK: - Queries

    /// (free, locked) of a user's asset; (0, 0) when the account has never been touched.
    public func balance(userID: UInt64, asset: String) -> (free: Int64, locked: Int64) {
        guard let u = userIndex[userID], let a = assetIndex[asset], let i = accountIndex[Self.accountKey(u, a)] else {
            return (0, 0)
        }
        return (free[Int(i)], locked[Int(i)])
    }

    /// The fee revenue account of `asset`.
    public func feeRevenue(asset: String) -> Int64 { assetIndex[asset].map { feeRevenue[Int($0)] } ?? 0 }
    /// The external account of `asset` (minus what the exchange holds for users and itself).
    public func external(asset: String) -> Int64 { assetIndex[asset].map { external[Int($0)] } ?? 0 }
    /// The clearing account of `asset` (zero when both sides of every trade were settled here).
    public func clearing(asset: String) -> Int64 { assetIndex[asset].map { clearing[Int($0)] } ?? 0 }

    /// Whether the user has an account.
    public func hasAccount(userID: UInt64) -> Bool { userIndex[userID] != nil }
    /// The account's flags.
    public func permissions(userID: UInt64) -> AccountPermissions? { userIndex[userID].map { users[Int($0)].permissions } }
    /// The rates an order of this user is funded with now.
    public func commissionRates(userID: UInt64) -> (maker: Int64, taker: Int64)? {
        userIndex[userID].map { effectiveRates(users[Int($0)]) }
    }

    /// Open orders (funded, not yet closed).
    public var openOrderCount: Int { orderSlot.count }
    /// What an open order still has locked, and in which asset.
    public func openOrder(_ orderID: UInt64) -> (asset: String, locked: Int64, filled: Int64)? {
        guard let slot = orderSlot[orderID] else { return nil }
        let o = orders[Int(slot)]
        return (assetNames[Int(accountAsset[Int(o.reservedAccount)])], o.lock, o.filled)
    }

    public func apiKey(_ key: String) -> ApiKeyRecord? { apiKeys[key] }
    public func withdrawal(_ id: String) -> (state: WithdrawalState, approvers: [String], requiredApprovals: Int)? {
        withdrawals[id].map { ($0.state, $0.approvers, $0.requiredApprovals) }
    }
    public func deposit(txid: String) -> (confirmations: Int32, status: DepositStatus)? {
        deposits[txid].map { ($0.confirmations, $0.credited ? .credited : .pending) }
    }
    public func assetState(_ asset: String) -> AssetState? { assetIndex[asset].map { assetStates[Int($0)] } }
    /// Every account holder with its flags, commission setting and effective rates, by user id.
    public var accountHolders: [AccountChanged] {
        users.sorted { $0.userID < $1.userID }.map { user in
            let rates = effectiveRates(user)
            return AccountChanged(
                userID: user.userID, action: .create, permissions: user.permissions, commission: user.commission,
                makerCommissionRate: rates.maker, takerCommissionRate: rates.taker, operatorName: "", time: 0)
        }
    }

    /// Every user's non-zero balances: user id → (asset, free, locked), assets by name.
    public func allBalances() -> [UInt64: [(asset: String, free: Int64, locked: Int64)]] {
        var out: [UInt64: [(asset: String, free: Int64, locked: Int64)]] = [:]
        for i in free.indices where free[i] != 0 || locked[i] != 0 {
            out[accountUserID[i], default: []].append((assetNames[Int(accountAsset[i])], free[i], locked[i]))
        }
        for key in Array(out.keys) { out[key]!.sort { $0.asset < $1.asset } }
        return out
    }

    /// Every API key, by key.
    public var apiKeyRecords: [ApiKeyRecord] { apiKeys.keys.sorted().map { apiKeys[$0]! } }

    /// A symbol's base and quote assets.
    public func symbolAssets(_ symbol: String) -> (base: String, quote: String)? {
        symbolIndex[symbol].map { (assetNames[Int(symbols[Int($0)].base)], assetNames[Int(symbols[Int($0)].quote)]) }
    }

    // MARK: - Accounts and postings (internal)

    static func accountKey(_ user: Int32, _ asset: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: user)) << 32 | UInt64(UInt32(bitPattern: asset))
    }

    /// The account index of (user, asset), created with zero balances when missing.
    mutating func account(user: Int32, asset: Int32) -> Int32 {
        let key = Self.accountKey(user, asset)
        if let index = accountIndex[key] { return index }
        let index = Int32(free.count)
        free.append(0)
        locked.append(0)
        accountUserID.append(users[Int(user)].userID)
        accountAsset.append(asset)
        accountIndex.set(key, index)
        return index
    }

    /// The free balance of (user, asset) without creating the account.
    func freeBalance(user: Int32, asset: Int32) -> Int64 {
        accountIndex[Self.accountKey(user, asset)].map { free[Int($0)] } ?? 0
    }

    /// One side of a posting.
    enum Slot {
        case free(Int32)
        case locked(Int32)
        case fee
        case external
        case clearing
    }

    mutating func nextJournalEntry() -> UInt64 {
        lastJournalEntryID &+= 1
        return lastJournalEntryID
    }

    /// Moves `amount` of `asset` from one account to another; nothing for 0. Validation happened
    /// before: the handlers only post what they checked.
    @inline(__always)
    mutating func post(
        _ asset: Int32, from: Slot, to: Slot, _ amount: Int64, entry: UInt64, into events: inout [LedgerEvent]
    ) {
        guard amount != 0 else { return }
        adjust(asset, from, -amount)
        adjust(asset, to, amount)
        postingCount &+= 1
        if configuration.emitsPostings {
            events.append(.posting(Posting(
                journalEntryID: entry, asset: assetNames[Int(asset)], from: ledgerAccount(from), to: ledgerAccount(to),
                amount: amount)))
        }
    }

    @inline(__always)
    mutating func adjust(_ asset: Int32, _ slot: Slot, _ delta: Int64) {
        switch slot {
        case .free(let a): free[Int(a)] += delta
        case .locked(let a): locked[Int(a)] += delta
        case .fee: feeRevenue[Int(asset)] += delta
        case .external: external[Int(asset)] += delta
        case .clearing: clearing[Int(asset)] += delta
        }
    }

    func ledgerAccount(_ slot: Slot) -> LedgerAccount {
        switch slot {
        case .free(let a): return .free(userID: accountUserID[Int(a)])
        case .locked(let a): return .locked(userID: accountUserID[Int(a)])
        case .fee: return .feeRevenue
        case .external: return .external
        case .clearing: return .clearing
        }
    }

    /// An asset movement of account `a` with its balances after.
    func movement(_ a: Int32, freeDelta: Int64, lockedDelta: Int64) -> AssetMovement {
        AssetMovement(
            asset: assetNames[Int(accountAsset[Int(a)])], freeDelta: freeDelta, lockedDelta: lockedDelta,
            free: free[Int(a)], locked: locked[Int(a)])
    }

    func effectiveRates(_ user: UserRecord) -> (maker: Int64, taker: Int64) {
        switch user.commission {
        case .standard: return (configuration.defaultMakerRate, configuration.defaultTakerRate)
        case .tier(let name):
            let tier = tiers[name]
            return (tier?.makerRate ?? configuration.defaultMakerRate, tier?.takerRate ?? configuration.defaultTakerRate)
        case .rates(let maker, let taker): return (maker, taker)
        }
    }
}

/// A symbol's assets.
struct SymbolRecord: Sendable {
    var name: String
    var base: Int32
    var quote: Int32
}

/// An account holder.
struct UserRecord: Sendable {
    var userID: UInt64
    var permissions: AccountPermissions
    var commission: CommissionSetting
}

/// How an order's lock shrinks.
enum OrderFunding: UInt8, Sendable {
    /// LIMIT-priced BUY: the lock is kept at ceil(price x unfilled quantity); the rest of each
    /// fill's lock (price improvement) goes back to free with the fill.
    case limitBuy = 0
    /// MARKET BUY (by quoteOrderQty or by quantity with a budget), STOP_LOSS / TAKE_PROFIT BUY:
    /// fills spend from the lock; what is left goes back when the order closes.
    case budgetBuy = 1
    /// Any SELL: fills take base from the lock; what is left goes back when the order closes.
    case sell = 2
}

/// An open order's funding.
struct OrderRecord: Sendable {
    var orderID: UInt64
    var userID: UInt64
    var symbol: Int32
    var type: OrderType
    var funding: OrderFunding
    /// Limit price (limitBuy); 0 otherwise.
    var price: Int64
    /// Base quantity; 0 for MARKET by quoteOrderQty.
    var quantity: Int64
    var filled: Int64
    /// What is still locked for this order.
    var lock: Int64
    /// The newest trade settled for this order (trade ids are per symbol, increasing).
    var lastTradeID: Int64
    var baseAccount: Int32
    var quoteAccount: Int32

    var side: Side { funding == .sell ? .sell : .buy }
    var reservedAccount: Int32 { funding == .sell ? baseAccount : quoteAccount }
}

struct DepositEntry: Sendable {
    var userID: UInt64
    var asset: Int32
    var amount: Int64
    var confirmations: Int32
    var credited: Bool
}

struct WithdrawalEntry: Sendable {
    var withdrawalID: String
    var userID: UInt64
    var asset: Int32
    var amount: Int64
    var fee: Int64
    var address: String
    var state: WithdrawalState
    var approvers: [String]
    var requiredApprovals: Int
}
