/// Why a command was refused. A rejection is data: the command changed nothing.
public enum LedgerRejectionReason: UInt8, Sendable, Equatable, CaseIterable {
    // Binance-visible (order entry)
    case insufficientBalance = 1
    /// canTrade / canWithdraw / canDeposit is false for the action.
    case actionDisabled
    case unknownSymbol
    case invalidQuantity
    case duplicateOrder
    case unknownAccount
    // Internal / operator
    /// An order report or trade for an order not open here (never funded, or already closed:
    /// this is how a second terminal release or a late trade is refused).
    case unknownOrder
    /// Every side of this trade this ledger holds was already settled (trade id at or below the
    /// order's last settled trade id).
    case duplicateTrade
    /// The trade contradicts itself or the order (quote != price x quantity rounded down,
    /// commission above what is received, user mismatch, fill beyond the order's quantity).
    case invalidTrade
    /// The trade takes more than the order's lock holds (matching exceeded what was reserved).
    case lockExceeded
    case invalidAmount
    case unknownAsset
    case accountExists
    case unknownTier
    case invalidRate
    case invalidName
    case duplicateApiKey
    case unknownApiKey
    case invalidApiKey
    /// Same txid recorded for another user, asset or amount.
    case depositMismatch
    /// The txid was already credited.
    case depositAlreadyCredited
    /// The txid is pending with at least as many confirmations already.
    case depositNotAdvanced
    case duplicateWithdrawal
    case unknownWithdrawal
    /// The step is not allowed from the withdrawal's current state.
    case invalidWithdrawalState
    /// The operator already approved this withdrawal.
    case duplicateApprover
    /// A balance would leave Int64.
    case overflow
}

extension LedgerRejectionReason {
    /// Binance's error code where Binance has one for the situation; nil for internal and
    /// operator rejections (the service answers those with -1000 or its admin error format).
    public var binanceCode: Int32? {
        switch self {
        case .insufficientBalance, .actionDisabled, .duplicateOrder: return -2010
        case .unknownSymbol: return -1121
        case .invalidQuantity: return -1013
        case .unknownAccount: return -2015
        case .unknownOrder: return -2011
        case .invalidAmount: return -1102
        default: return nil
        }
    }

    /// Binance's message verbatim where `binanceCode` is set; a plain description otherwise.
    public var message: String {
        switch self {
        case .insufficientBalance: return "Account has insufficient balance for requested action."
        case .actionDisabled: return "This action is disabled on this account."
        case .unknownSymbol: return "Invalid symbol."
        case .invalidQuantity: return "Invalid quantity."
        case .duplicateOrder: return "Duplicate order sent."
        case .unknownAccount: return "Invalid API-key, IP, or permissions for action."
        case .unknownOrder: return "Unknown order sent."
        case .duplicateTrade: return "Trade already settled."
        case .invalidTrade: return "Trade is inconsistent with itself or its order."
        case .lockExceeded: return "Trade needs more than the order has locked."
        case .invalidAmount: return "A mandatory parameter was not sent, was empty/null, or malformed."
        case .unknownAsset: return "Unknown asset."
        case .accountExists: return "Account already exists."
        case .unknownTier: return "Unknown commission tier."
        case .invalidRate: return "Commission rate must be between 0 and 1."
        case .invalidName: return "Invalid name."
        case .duplicateApiKey: return "API key already exists."
        case .unknownApiKey: return "Unknown API key."
        case .invalidApiKey: return "API key record is incomplete for its type."
        case .depositMismatch: return "Transaction id already recorded with different details."
        case .depositAlreadyCredited: return "Deposit already credited."
        case .depositNotAdvanced: return "Deposit already recorded with at least as many confirmations."
        case .duplicateWithdrawal: return "Withdrawal id already exists."
        case .unknownWithdrawal: return "Unknown withdrawal."
        case .invalidWithdrawalState: return "Withdrawal is not in a state that allows this step."
        case .duplicateApprover: return "Operator already approved this withdrawal."
        case .overflow: return "Amount out of range."
        }
    }
}

/// A refused command. `userID`/`orderID` echo the command's (0 when it has none).
public struct LedgerRejection: Sendable, Equatable {
    public var reason: LedgerRejectionReason
    public var userID: UInt64
    public var orderID: UInt64
    public var time: Int64

    public init(reason: LedgerRejectionReason, userID: UInt64, orderID: UInt64 = 0, time: Int64 = 0) {
        self.reason = reason
        self.userID = userID
        self.orderID = orderID
        self.time = time
    }

    public var binanceCode: Int32? { reason.binanceCode }
    public var message: String { reason.message }
}
