import ExchangeProtocol

/// Why `Ledger(snapshot:)` refused its input.
public enum LedgerSnapshotError: Error, Equatable {
    /// Not a ledger snapshot, or an unknown version.
    case badHeader
    /// The bytes end early or hold an impossible value.
    case corrupt
}

/// State hash, byte-exact snapshot and audit.
///
/// Snapshot layout (integers little-endian, strings as u32 length + UTF-8, bools as u8, optional
/// absent/present as u8 0/1): "LDG1"; configuration; lastJournalEntryID; then each table in
/// ascending order of its key (strings compared by UTF-8 bytes): assets (name, settings, fee
/// revenue, external, clearing), symbols, commission tiers, users (id, flags, commission, then
/// their accounts with a non-zero balance by asset name), open orders by order id, deposits by
/// txid, withdrawals by id, API keys by key. Interning order never appears, so equal states give
/// equal bytes; `stateHash()` is FNV-1a 64 of these bytes.
extension Ledger {
    /// FNV-1a 64 over `snapshot()`.
    public func stateHash() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in snapshot() { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// The whole state as bytes (layout above).
    public func snapshot() -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes.append(contentsOf: Array("LDG1".utf8))
        let c = configuration
        w.i64(c.defaultMakerRate)
        w.i64(c.defaultTakerRate)
        let confirmations = c.depositConfirmations.sorted { Self.precedes($0.key, $1.key) }
        w.u32(UInt32(confirmations.count))
        for (asset, count) in confirmations {
            w.string(asset)
            w.i32(count)
        }
        w.i32(c.defaultDepositConfirmations)
        w.i64(c.defaultDualApprovalAbove)
        w.i64(c.defaultMarketBuyBudgetCap)
        w.bool(c.emitsPostings)
        w.u64(lastJournalEntryID)

        let assetOrder = assetNames.indices.sorted { Self.precedes(assetNames[$0], assetNames[$1]) }
        w.u32(UInt32(assetOrder.count))
        for a in assetOrder {
            let s = assetStates[a]
            w.string(s.asset)
            w.i32(s.depositConfirmations)
            w.i64(s.dualApprovalAbove)
            w.i64(s.marketBuyBudgetCap)
            w.i64(feeRevenue[a])
            w.i64(external[a])
            w.i64(clearing[a])
        }

        let symbolOrder = symbols.sorted { Self.precedes($0.name, $1.name) }
        w.u32(UInt32(symbolOrder.count))
        for s in symbolOrder {
            w.string(s.name)
            w.string(assetNames[Int(s.base)])
            w.string(assetNames[Int(s.quote)])
        }

        let tierOrder = tiers.values.sorted { Self.precedes($0.name, $1.name) }
        w.u32(UInt32(tierOrder.count))
        for t in tierOrder {
            w.string(t.name)
            w.i64(t.makerRate)
            w.i64(t.takerRate)
        }

        // Accounts grouped by user, each user's by asset name; zero accounts are not state.
        var accountsByUser: [Int32: [Int32]] = [:]
        for i in free.indices where free[i] != 0 || locked[i] != 0 {
            accountsByUser[userIndex[accountUserID[i]]!, default: []].append(Int32(i))
        }
        let userOrder = users.indices.sorted { users[$0].userID < users[$1].userID }
        w.u32(UInt32(userOrder.count))
        for u in userOrder {
            let user = users[u]
            w.u64(user.userID)
            w.permissions(user.permissions)
            w.commission(user.commission)
            let accounts = (accountsByUser[Int32(u)] ?? []).sorted {
                Self.precedes(assetNames[Int(accountAsset[Int($0)])], assetNames[Int(accountAsset[Int($1)])])
            }
            w.u32(UInt32(accounts.count))
            for a in accounts {
                w.string(assetNames[Int(accountAsset[Int(a)])])
                w.i64(free[Int(a)])
                w.i64(locked[Int(a)])
            }
        }

        let openOrders = orderSlot.keys.sorted()
        w.u32(UInt32(openOrders.count))
        for id in openOrders {
            let o = orders[Int(orderSlot[id]!)]
            w.u64(o.orderID)
            w.u64(o.userID)
            w.string(symbols[Int(o.symbol)].name)
            w.string(assetNames[Int(accountAsset[Int(o.baseAccount)])])
            w.string(assetNames[Int(accountAsset[Int(o.quoteAccount)])])
            w.enumIndex(o.type)
            w.u8(o.funding.rawValue)
            w.i64(o.price)
            w.i64(o.quantity)
            w.i64(o.filled)
            w.i64(o.lock)
            w.i64(o.lastTradeID)
        }

        let depositOrder = deposits.keys.sorted(by: Self.precedes)
        w.u32(UInt32(depositOrder.count))
        for txid in depositOrder {
            let d = deposits[txid]!
            w.string(txid)
            w.u64(d.userID)
            w.string(assetNames[Int(d.asset)])
            w.i64(d.amount)
            w.i32(d.confirmations)
            w.bool(d.credited)
        }

        let withdrawalOrder = withdrawals.keys.sorted(by: Self.precedes)
        w.u32(UInt32(withdrawalOrder.count))
        for id in withdrawalOrder {
            let x = withdrawals[id]!
            w.string(id)
            w.u64(x.userID)
            w.string(assetNames[Int(x.asset)])
            w.i64(x.amount)
            w.i64(x.fee)
            w.string(x.address)
            w.u8(x.state.rawValue)
            w.u32(UInt32(x.approvers.count))
            for name in x.approvers { w.string(name) }
            w.u32(UInt32(x.requiredApprovals))
        }

        let keyOrder = apiKeys.keys.sorted(by: Self.precedes)
        w.u32(UInt32(keyOrder.count))
        for name in keyOrder {
            let k = apiKeys[name]!
            w.string(k.apiKey)
            w.u64(k.userID)
            w.u8(k.kind.rawValue)
            w.u32(UInt32(k.encryptedSecret.count))
            w.bytes.append(contentsOf: k.encryptedSecret)
            w.string(k.publicKeyPEM)
            w.bool(k.permissions.read)
            w.bool(k.permissions.trade)
            w.bool(k.permissions.withdraw)
            w.u32(UInt32(k.ipAllowlist.count))
            for ip in k.ipAllowlist { w.string(ip) }
            w.string(k.label)
        }
        return w.bytes
    }

    /// Restores a ledger from `snapshot()` bytes: same hash, same behaviour.
    public init(snapshot bytes: [UInt8]) throws {
        var r = SnapshotReader(bytes: bytes, corrupt: LedgerSnapshotError.corrupt)
        guard Array(try r.take(4)) == Array("LDG1".utf8) else { throw LedgerSnapshotError.badHeader }
        var c = LedgerConfiguration()
        c.defaultMakerRate = try r.i64()
        c.defaultTakerRate = try r.i64()
        c.depositConfirmations = [:]
        for _ in 0..<(try r.count()) {
            let asset = try r.string()
            c.depositConfirmations[asset] = try r.i32()
        }
        c.defaultDepositConfirmations = try r.i32()
        c.defaultDualApprovalAbove = try r.i64()
        c.defaultMarketBuyBudgetCap = try r.i64()
        c.emitsPostings = try r.bool()
        self.init(configuration: c)
        lastJournalEntryID = try r.u64()

        for _ in 0..<(try r.count()) {
            let state = AssetState(
                asset: try r.string(), depositConfirmations: try r.i32(), dualApprovalAbove: try r.i64(),
                marketBuyBudgetCap: try r.i64())
            guard assetIndex[state.asset] == nil else { throw LedgerSnapshotError.corrupt }
            insertAsset(state, fee: try r.i64(), external: try r.i64(), clearing: try r.i64())
        }
        func asset(_ name: String) throws -> Int32 {
            guard let a = assetIndex[name] else { throw LedgerSnapshotError.corrupt }
            return a
        }
        for _ in 0..<(try r.count()) {
            let name = try r.string()
            let record = SymbolRecord(name: name, base: try asset(try r.string()), quote: try asset(try r.string()))
            symbolIndex[name] = Int32(symbols.count)
            symbols.append(record)
        }
        for _ in 0..<(try r.count()) {
            let tier = CommissionTier(name: try r.string(), makerRate: try r.i64(), takerRate: try r.i64())
            tiers[tier.name] = tier
        }
        for _ in 0..<(try r.count()) {
            let userID = try r.u64()
            guard userIndex[userID] == nil else { throw LedgerSnapshotError.corrupt }
            insertUser(UserRecord(userID: userID, permissions: try r.permissions(), commission: try r.commission()))
            let u = userIndex[userID]!
            for _ in 0..<(try r.count()) {
                let a = account(user: u, asset: try asset(try r.string()))
                free[Int(a)] = try r.i64()
                locked[Int(a)] = try r.i64()
            }
        }
        for _ in 0..<(try r.count()) {
            let orderID = try r.u64()
            let userID = try r.u64()
            guard let u = userIndex[userID], let s = symbolIndex[try r.string()] else { throw LedgerSnapshotError.corrupt }
            let base = account(user: u, asset: try asset(try r.string()))
            let quote = account(user: u, asset: try asset(try r.string()))
            let type: OrderType = try r.enumValue()
            guard let funding = OrderFunding(rawValue: try r.u8()) else { throw LedgerSnapshotError.corrupt }
            insertOrder(OrderRecord(
                orderID: orderID, userID: userID, symbol: s, type: type, funding: funding, price: try r.i64(),
                quantity: try r.i64(), filled: try r.i64(), lock: try r.i64(), lastTradeID: try r.i64(),
                baseAccount: base, quoteAccount: quote))
        }
        for _ in 0..<(try r.count()) {
            let txid = try r.string()
            deposits[txid] = DepositEntry(
                userID: try r.u64(), asset: try asset(try r.string()), amount: try r.i64(), confirmations: try r.i32(),
                credited: try r.bool())
        }
        for _ in 0..<(try r.count()) {
            let id = try r.string()
            let userID = try r.u64()
            let a = try asset(try r.string())
            let amount = try r.i64()
            let fee = try r.i64()
            let address = try r.string()
            guard let state = WithdrawalState(rawValue: try r.u8()) else { throw LedgerSnapshotError.corrupt }
            var approvers: [String] = []
            for _ in 0..<(try r.count()) { approvers.append(try r.string()) }
            withdrawals[id] = WithdrawalEntry(
                withdrawalID: id, userID: userID, asset: a, amount: amount, fee: fee, address: address, state: state,
                approvers: approvers, requiredApprovals: Int(try r.u32()))
        }
        for _ in 0..<(try r.count()) {
            let name = try r.string()
            let userID = try r.u64()
            guard let kind = ApiKeyKind(rawValue: try r.u8()) else { throw LedgerSnapshotError.corrupt }
            let secret = Array(try r.take(try r.count()))
            let pem = try r.string()
            let permissions = ApiKeyPermissions(read: try r.bool(), trade: try r.bool(), withdraw: try r.bool())
            var ips: [String] = []
            for _ in 0..<(try r.count()) { ips.append(try r.string()) }
            apiKeys[name] = ApiKeyRecord(
                apiKey: name, userID: userID, kind: kind, encryptedSecret: secret, publicKeyPEM: pem,
                permissions: permissions, ipAllowlist: ips, label: try r.string())
        }
        guard r.atEnd else { throw LedgerSnapshotError.corrupt }
    }

    // MARK: - Audit

    /// Sums every account per asset (drift = their total, zero on a sound ledger), and checks that
    /// no user balance or fee revenue is negative, no external account positive, and every locked
    /// balance equals what the user's open orders and pending withdrawals hold.
    public func audit() -> LedgerAudit {
        var userFree = Array(repeating: Int128(0), count: assetNames.count)
        var userLocked = userFree
        var findings: [LedgerAudit.Finding] = []
        var held = Array(repeating: Int128(0), count: free.count)
        for id in orderSlot.keys.sorted() {
            let o = orders[Int(orderSlot[id]!)]
            held[Int(o.reservedAccount)] += Int128(o.lock)
        }
        for w in withdrawals.values where w.state == .requested || w.state == .approved {
            if let u = userIndex[w.userID], let a = accountIndex[Self.accountKey(u, w.asset)] {
                held[Int(a)] += Int128(w.amount) + Int128(w.fee)
            }
        }
        let accountOrder = free.indices.sorted {
            (accountUserID[$0], assetNames[Int(accountAsset[$0])]) < (accountUserID[$1], assetNames[Int(accountAsset[$1])])
        }
        for i in accountOrder {
            let a = Int(accountAsset[i])
            let name = assetNames[a]
            userFree[a] += Int128(free[i])
            userLocked[a] += Int128(locked[i])
            if free[i] < 0 { findings.append(.negativeFree(userID: accountUserID[i], asset: name, amount: free[i])) }
            if locked[i] < 0 { findings.append(.negativeLocked(userID: accountUserID[i], asset: name, amount: locked[i])) }
            if Int128(locked[i]) != held[i] {
                findings.append(.lockMismatch(userID: accountUserID[i], asset: name, locked: locked[i], held: held[i]))
            }
        }
        var totals: [LedgerAudit.AssetTotals] = []
        for a in assetNames.indices.sorted(by: { Self.precedes(assetNames[$0], assetNames[$1]) }) {
            let drift = userFree[a] + userLocked[a] + Int128(feeRevenue[a]) + Int128(external[a]) + Int128(clearing[a])
            totals.append(LedgerAudit.AssetTotals(
                asset: assetNames[a], userFree: userFree[a], userLocked: userLocked[a], feeRevenue: Int128(feeRevenue[a]),
                external: Int128(external[a]), clearing: Int128(clearing[a]), drift: drift))
            if drift != 0 { findings.append(.drift(asset: assetNames[a], amount: drift)) }
            if feeRevenue[a] < 0 { findings.append(.negativeFeeRevenue(asset: assetNames[a], amount: feeRevenue[a])) }
            if external[a] > 0 { findings.append(.positiveExternal(asset: assetNames[a], amount: external[a])) }
        }
        return LedgerAudit(assets: totals, findings: findings)
    }
}
