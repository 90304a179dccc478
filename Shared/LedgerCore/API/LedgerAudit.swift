/// The result of `Ledger.audit()`.
public struct LedgerAudit: Sendable, Equatable {
    /// Per asset, by name: the sum of each kind of account and the drift (their total, which
    /// double entry keeps at exactly zero).
    public struct AssetTotals: Sendable, Equatable {
        public var asset: String
        public var userFree: Int128
        public var userLocked: Int128
        public var feeRevenue: Int128
        public var external: Int128
        public var clearing: Int128
        public var drift: Int128
    }

    /// A problem found by the audit.
    public enum Finding: Sendable, Equatable {
        case drift(asset: String, amount: Int128)
        case negativeFree(userID: UInt64, asset: String, amount: Int64)
        case negativeLocked(userID: UInt64, asset: String, amount: Int64)
        case negativeFeeRevenue(asset: String, amount: Int64)
        case positiveExternal(asset: String, amount: Int64)
        /// A user's locked balance differs from what its open orders and pending withdrawals hold.
        case lockMismatch(userID: UInt64, asset: String, locked: Int64, held: Int128)
    }

    public var assets: [AssetTotals]

    public init(assets: [AssetTotals], findings: [Finding]) {
        self.assets = assets
        self.findings = findings
    }
    public var findings: [Finding]

    /// Drift per asset name (zero everywhere on a sound ledger).
    public var drift: [String: Int128] {
        Dictionary(uniqueKeysWithValues: assets.map { ($0.asset, $0.drift) })
    }

    public var isClean: Bool { findings.isEmpty }
}
