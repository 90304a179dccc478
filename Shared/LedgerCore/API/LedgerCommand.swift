import ExchangeProtocol

/// Everything the ledger core accepts. Amounts are Fixed8 raw Int64 (1e-8 units), rates Fixed8
/// fractions (0.1% = 100_000); times are Unix ms carried by the input, ids come from the input.
/// `docs/ledger-semantics.md` says what each command posts and when it is rejected.
public enum LedgerCommand: Sendable, Equatable {
    // Reference data (operator)
    /// Creates or updates an asset's settings (deposit confirmations, dual-approval threshold,
    /// MARKET BUY budget cap).
    case setAsset(AssetSettings)
    /// Creates or updates a symbol (its base and quote assets must exist).
    case setSymbol(SymbolSettings)
    /// Creates or updates a named commission tier.
    case setCommissionTier(CommissionTier)

    // Accounts (operator)
    case createAccount(CreateAccount)
    /// Freeze / unfreeze through the three flags.
    case setPermissions(SetPermissions)
    case setCommission(SetCommission)
    case apiKey(ApiKeyCommand)

    // Orders
    /// An order entering the exchange: reserve funds (free → locked) or reject.
    case placeOrder(PlaceOrderRequest)
    /// A trade from matching: settle the side(s) whose orders this ledger holds.
    case settleTrade(TradeSettlement)
    /// An order report from matching (or a matching rejection of the place, as status REJECTED):
    /// releases excess on amend, everything left on a terminal report.
    case orderProgress(OrderProgress)

    // Funding (operator / chain watchers)
    case deposit(DepositRecord)
    case requestWithdrawal(WithdrawalRequest)
    case approveWithdrawal(WithdrawalStep)
    case completeWithdrawal(WithdrawalStep)
    case failWithdrawal(WithdrawalStep)
}

/// An asset and its settings. `nil` fields take the configuration's defaults on creation and keep
/// their current value on update.
public struct AssetSettings: Sendable, Equatable {
    public var asset: String
    /// Confirmations at which a deposit is credited (default BTC 30, ETH 12, else the configured default).
    public var depositConfirmations: Int32?
    /// Withdrawals whose amount is strictly above this need two distinct approvers (else one).
    public var dualApprovalAbove: Int64?
    /// MARKET BUY by quantity (and STOP_LOSS / TAKE_PROFIT BUY) on a symbol quoted in this asset
    /// reserve the whole free balance, but at most this much.
    public var marketBuyBudgetCap: Int64?
    public var time: Int64

    public init(
        asset: String, depositConfirmations: Int32? = nil, dualApprovalAbove: Int64? = nil,
        marketBuyBudgetCap: Int64? = nil, time: Int64 = 0
    ) {
        self.asset = asset
        self.depositConfirmations = depositConfirmations
        self.dualApprovalAbove = dualApprovalAbove
        self.marketBuyBudgetCap = marketBuyBudgetCap
        self.time = time
    }
}

/// A trading pair and its assets.
public struct SymbolSettings: Sendable, Equatable {
    public var symbol: String
    public var baseAsset: String
    public var quoteAsset: String
    public var time: Int64

    public init(symbol: String, baseAsset: String, quoteAsset: String, time: Int64 = 0) {
        self.symbol = symbol
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
        self.time = time
    }
}

/// A named pair of commission rates; accounts on the tier follow later changes of it.
public struct CommissionTier: Sendable, Equatable {
    public var name: String
    public var makerRate: Int64
    public var takerRate: Int64
    public var time: Int64

    public init(name: String, makerRate: Int64, takerRate: Int64, time: Int64 = 0) {
        self.name = name
        self.makerRate = makerRate
        self.takerRate = takerRate
        self.time = time
    }
}

/// Binance's account flags.
public struct AccountPermissions: Sendable, Equatable, Hashable {
    public var canTrade: Bool
    public var canWithdraw: Bool
    public var canDeposit: Bool

    public init(canTrade: Bool = true, canWithdraw: Bool = true, canDeposit: Bool = true) {
        self.canTrade = canTrade
        self.canWithdraw = canWithdraw
        self.canDeposit = canDeposit
    }

    public static let all = AccountPermissions()
}

public struct CreateAccount: Sendable, Equatable {
    public var userID: UInt64
    public var permissions: AccountPermissions
    public var operatorName: String
    public var time: Int64

    public init(userID: UInt64, permissions: AccountPermissions = .all, operatorName: String = "", time: Int64 = 0) {
        self.userID = userID
        self.permissions = permissions
        self.operatorName = operatorName
        self.time = time
    }
}

public struct SetPermissions: Sendable, Equatable {
    public var userID: UInt64
    public var permissions: AccountPermissions
    public var operatorName: String
    public var time: Int64

    public init(userID: UInt64, permissions: AccountPermissions, operatorName: String = "", time: Int64 = 0) {
        self.userID = userID
        self.permissions = permissions
        self.operatorName = operatorName
        self.time = time
    }
}

/// Where an account's commission rates come from.
public enum CommissionSetting: Sendable, Equatable, Hashable {
    /// The configuration's default rates.
    case standard
    /// A named tier (must exist).
    case tier(String)
    /// Explicit rates for this account.
    case rates(maker: Int64, taker: Int64)
}

public struct SetCommission: Sendable, Equatable {
    public var userID: UInt64
    public var setting: CommissionSetting
    public var operatorName: String
    public var time: Int64

    public init(userID: UInt64, setting: CommissionSetting, operatorName: String = "", time: Int64 = 0) {
        self.userID = userID
        self.setting = setting
        self.operatorName = operatorName
        self.time = time
    }
}

/// HMAC / Ed25519 / RSA, as `ApiKeyType` in admin.proto.
public enum ApiKeyKind: UInt8, Sendable, Equatable, CaseIterable {
    case hmac = 1
    case ed25519 = 2
    case rsa = 3
}

/// What a key may do.
public struct ApiKeyPermissions: Sendable, Equatable, Hashable {
    public var read: Bool
    public var trade: Bool
    public var withdraw: Bool

    public init(read: Bool = true, trade: Bool = false, withdraw: Bool = false) {
        self.read = read
        self.trade = trade
        self.withdraw = withdraw
    }
}

/// An API key as the ledger stores it. The HMAC secret arrives already sealed (AES-256-GCM, done
/// by the service or CLI); the core keeps the bytes as given and never sees a plain secret.
public struct ApiKeyRecord: Sendable, Equatable {
    public var apiKey: String
    public var userID: UInt64
    public var kind: ApiKeyKind
    /// HMAC only: the sealed secret.
    public var encryptedSecret: [UInt8]
    /// Ed25519 / RSA only: the public key, PEM.
    public var publicKeyPEM: String
    public var permissions: ApiKeyPermissions
    /// Empty: any IP.
    public var ipAllowlist: [String]
    public var label: String

    public init(
        apiKey: String, userID: UInt64, kind: ApiKeyKind, encryptedSecret: [UInt8] = [], publicKeyPEM: String = "",
        permissions: ApiKeyPermissions = ApiKeyPermissions(), ipAllowlist: [String] = [], label: String = ""
    ) {
        self.apiKey = apiKey
        self.userID = userID
        self.kind = kind
        self.encryptedSecret = encryptedSecret
        self.publicKeyPEM = publicKeyPEM
        self.permissions = permissions
        self.ipAllowlist = ipAllowlist
        self.label = label
    }
}

/// Create / update / delete an API key.
public struct ApiKeyCommand: Sendable, Equatable {
    public enum Action: UInt8, Sendable, Equatable {
        case create = 1
        /// Replaces permissions, IP allowlist and label (kind, secret and public key stay).
        case update = 2
        case delete = 3
    }

    public var action: Action
    /// For delete only `apiKey` and `userID` matter.
    public var key: ApiKeyRecord
    public var operatorName: String
    public var time: Int64

    public init(action: Action, key: ApiKeyRecord, operatorName: String = "", time: Int64 = 0) {
        self.action = action
        self.key = key
        self.operatorName = operatorName
        self.time = time
    }
}

/// The part of a `PlaceOrder` the ledger funds from.
public struct PlaceOrderRequest: Sendable, Equatable {
    public var userID: UInt64
    public var orderID: UInt64
    public var symbol: String
    public var side: Side
    public var type: OrderType
    public var quantity: Int64
    /// MARKET by quote amount; 0 if unused.
    public var quoteOrderQty: Int64
    /// Limit price (LIMIT, LIMIT_MAKER, *_LIMIT); 0 otherwise.
    public var price: Int64
    public var time: Int64

    public init(
        userID: UInt64, orderID: UInt64, symbol: String, side: Side, type: OrderType, quantity: Int64 = 0,
        quoteOrderQty: Int64 = 0, price: Int64 = 0, time: Int64 = 0
    ) {
        self.userID = userID
        self.orderID = orderID
        self.symbol = symbol
        self.side = side
        self.type = type
        self.quantity = quantity
        self.quoteOrderQty = quoteOrderQty
        self.price = price
        self.time = time
    }
}

/// One trade as matching reported it (`Trade` in matching.proto). Commission amounts are taken as
/// given: the buyer's in base, the seller's in quote.
public struct TradeSettlement: Sendable, Equatable {
    public var tradeID: Int64
    public var price: Int64
    public var quantity: Int64
    public var quoteQuantity: Int64
    public var buyerOrderID: UInt64
    public var sellerOrderID: UInt64
    public var buyerUserID: UInt64
    public var sellerUserID: UInt64
    public var buyerIsMaker: Bool
    public var buyerCommission: Int64
    public var sellerCommission: Int64
    public var time: Int64

    public init(
        tradeID: Int64, price: Int64, quantity: Int64, quoteQuantity: Int64, buyerOrderID: UInt64,
        sellerOrderID: UInt64, buyerUserID: UInt64, sellerUserID: UInt64, buyerIsMaker: Bool = false,
        buyerCommission: Int64 = 0, sellerCommission: Int64 = 0, time: Int64 = 0
    ) {
        self.tradeID = tradeID
        self.price = price
        self.quantity = quantity
        self.quoteQuantity = quoteQuantity
        self.buyerOrderID = buyerOrderID
        self.sellerOrderID = sellerOrderID
        self.buyerUserID = buyerUserID
        self.sellerUserID = sellerUserID
        self.buyerIsMaker = buyerIsMaker
        self.buyerCommission = buyerCommission
        self.sellerCommission = sellerCommission
        self.time = time
    }
}

/// The fields of an order report (`OrderUpdate`) the ledger needs.
public struct OrderProgress: Sendable, Equatable {
    public var orderID: UInt64
    public var userID: UInt64
    public var executionType: ExecutionType
    public var status: OrderStatus
    /// The order's quantity as matching now knows it (lower after an amend; 0 for MARKET by quote).
    public var quantity: Int64
    public var cumulativeQty: Int64
    public var preventedQuantity: Int64
    public var time: Int64

    public init(
        orderID: UInt64, userID: UInt64, executionType: ExecutionType, status: OrderStatus, quantity: Int64 = 0,
        cumulativeQty: Int64 = 0, preventedQuantity: Int64 = 0, time: Int64 = 0
    ) {
        self.orderID = orderID
        self.userID = userID
        self.executionType = executionType
        self.status = status
        self.quantity = quantity
        self.cumulativeQty = cumulativeQty
        self.preventedQuantity = preventedQuantity
        self.time = time
    }

    /// Whether the order can no longer trade: a final status, or (matching's DECREMENT reading) a
    /// report whose cumulative plus prevented quantity reached the quantity.
    public var isTerminal: Bool {
        switch status {
        case .filled, .canceled, .rejected, .expired, .expiredInMatch: return true
        case .new, .pendingNew, .partiallyFilled, .pendingCancel:
            return quantity > 0 && cumulativeQty &+ preventedQuantity >= quantity
        }
    }
}

/// A deposit seen on chain (`Deposit` in ledger.proto).
public struct DepositRecord: Sendable, Equatable {
    public var userID: UInt64
    public var asset: String
    public var amount: Int64
    public var txid: String
    public var confirmations: Int32
    public var time: Int64

    public init(userID: UInt64, asset: String, amount: Int64, txid: String, confirmations: Int32, time: Int64 = 0) {
        self.userID = userID
        self.asset = asset
        self.amount = amount
        self.txid = txid
        self.confirmations = confirmations
        self.time = time
    }
}

/// A user's withdrawal request: locks amount + fee.
public struct WithdrawalRequest: Sendable, Equatable {
    public var withdrawalID: String
    public var userID: UInt64
    public var asset: String
    public var amount: Int64
    public var fee: Int64
    public var address: String
    public var time: Int64

    public init(
        withdrawalID: String, userID: UInt64, asset: String, amount: Int64, fee: Int64 = 0, address: String = "",
        time: Int64 = 0
    ) {
        self.withdrawalID = withdrawalID
        self.userID = userID
        self.asset = asset
        self.amount = amount
        self.fee = fee
        self.address = address
        self.time = time
    }
}

/// Approve, complete or fail a withdrawal.
public struct WithdrawalStep: Sendable, Equatable {
    public var withdrawalID: String
    public var userID: UInt64
    public var operatorName: String
    /// Complete: the chain transaction id; fail: the reason text.
    public var detail: String
    public var time: Int64

    public init(withdrawalID: String, userID: UInt64, operatorName: String, detail: String = "", time: Int64 = 0) {
        self.withdrawalID = withdrawalID
        self.userID = userID
        self.operatorName = operatorName
        self.detail = detail
        self.time = time
    }
}
