import ExchangeProtocol

/// Reference data, accounts, commission and API keys.
extension Ledger {
    static let maxRate: Int64 = Fixed8.scale

    static func validRate(_ rate: Int64) -> Bool { rate >= 0 && rate <= maxRate }

    // MARK: - Assets, symbols, tiers

    mutating func setAsset(_ c: AssetSettings, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: 0, time: c.time)))
        }
        guard Asset(rawValue: c.asset) != nil else { return reject(.invalidName) }
        guard (c.depositConfirmations ?? 0) >= 0, (c.dualApprovalAbove ?? 0) >= 0, (c.marketBuyBudgetCap ?? 1) > 0 else {
            return reject(.invalidAmount)
        }
        if let a = assetIndex[c.asset] {
            var state = assetStates[Int(a)]
            if let v = c.depositConfirmations { state.depositConfirmations = v }
            if let v = c.dualApprovalAbove { state.dualApprovalAbove = v }
            if let v = c.marketBuyBudgetCap { state.marketBuyBudgetCap = v }
            assetStates[Int(a)] = state
            events.append(.assetChanged(state))
            return
        }
        let state = AssetState(
            asset: c.asset,
            depositConfirmations: c.depositConfirmations
                ?? configuration.depositConfirmations[c.asset] ?? configuration.defaultDepositConfirmations,
            dualApprovalAbove: c.dualApprovalAbove ?? configuration.defaultDualApprovalAbove,
            marketBuyBudgetCap: c.marketBuyBudgetCap ?? configuration.defaultMarketBuyBudgetCap)
        insertAsset(state, fee: 0, external: 0, clearing: 0)
        events.append(.assetChanged(state))
    }

    mutating func insertAsset(_ state: AssetState, fee: Int64, external ext: Int64, clearing clr: Int64) {
        assetIndex[state.asset] = Int32(assetNames.count)
        assetNames.append(state.asset)
        assetStates.append(state)
        feeRevenue.append(fee)
        external.append(ext)
        clearing.append(clr)
    }

    mutating func setSymbol(_ c: SymbolSettings, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: 0, time: c.time)))
        }
        guard Symbol(rawValue: c.symbol) != nil, c.baseAsset != c.quoteAsset else { return reject(.invalidName) }
        guard let base = assetIndex[c.baseAsset], let quote = assetIndex[c.quoteAsset] else { return reject(.unknownAsset) }
        // Open orders keep the account indices they were funded with, so changing a symbol's
        // assets only affects orders placed afterwards.
        let record = SymbolRecord(name: c.symbol, base: base, quote: quote)
        if let s = symbolIndex[c.symbol] {
            symbols[Int(s)] = record
        } else {
            symbolIndex[c.symbol] = Int32(symbols.count)
            symbols.append(record)
        }
        events.append(.symbolChanged(c))
    }

    mutating func setCommissionTier(_ c: CommissionTier, into events: inout [LedgerEvent]) {
        guard !c.name.isEmpty, c.name.utf8.count <= 64 else {
            return events.append(.rejected(LedgerRejection(reason: .invalidName, userID: 0, time: c.time)))
        }
        guard Self.validRate(c.makerRate), Self.validRate(c.takerRate) else {
            return events.append(.rejected(LedgerRejection(reason: .invalidRate, userID: 0, time: c.time)))
        }
        tiers[c.name] = c
        events.append(.commissionTierChanged(c))
    }

    // MARK: - Accounts

    mutating func createAccount(_ c: CreateAccount, into events: inout [LedgerEvent]) {
        guard c.userID != 0 else {
            return events.append(.rejected(LedgerRejection(reason: .invalidName, userID: 0, time: c.time)))
        }
        guard userIndex[c.userID] == nil else {
            return events.append(.rejected(LedgerRejection(reason: .accountExists, userID: c.userID, time: c.time)))
        }
        insertUser(UserRecord(userID: c.userID, permissions: c.permissions, commission: .standard))
        events.append(.accountChanged(accountChanged(c.userID, .create, operatorName: c.operatorName, time: c.time)))
    }

    mutating func insertUser(_ user: UserRecord) {
        userIndex.set(user.userID, Int32(users.count))
        users.append(user)
    }

    mutating func setPermissions(_ c: SetPermissions, into events: inout [LedgerEvent]) {
        guard let u = userIndex[c.userID] else {
            return events.append(.rejected(LedgerRejection(reason: .unknownAccount, userID: c.userID, time: c.time)))
        }
        users[Int(u)].permissions = c.permissions
        events.append(.accountChanged(accountChanged(c.userID, .setPermissions, operatorName: c.operatorName, time: c.time)))
    }

    mutating func setCommission(_ c: SetCommission, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: c.userID, time: c.time)))
        }
        guard let u = userIndex[c.userID] else { return reject(.unknownAccount) }
        switch c.setting {
        case .standard: break
        case .tier(let name): guard tiers[name] != nil else { return reject(.unknownTier) }
        case .rates(let maker, let taker): guard Self.validRate(maker), Self.validRate(taker) else { return reject(.invalidRate) }
        }
        users[Int(u)].commission = c.setting
        events.append(.accountChanged(accountChanged(c.userID, .setCommission, operatorName: c.operatorName, time: c.time)))
    }

    func accountChanged(_ userID: UInt64, _ action: AccountChanged.Action, operatorName: String, time: Int64) -> AccountChanged {
        let user = users[Int(userIndex[userID]!)]
        let rates = effectiveRates(user)
        return AccountChanged(
            userID: userID, action: action, permissions: user.permissions, commission: user.commission,
            makerCommissionRate: rates.maker, takerCommissionRate: rates.taker, operatorName: operatorName, time: time)
    }

    // MARK: - API keys

    /// Printable ASCII without spaces, 1...128 bytes (Binance's keys are 64 alphanumerics).
    static func validApiKeyName(_ key: String) -> Bool {
        let utf8 = key.utf8
        return (1...128).contains(utf8.count) && utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    mutating func apiKey(_ c: ApiKeyCommand, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: c.key.userID, time: c.time)))
        }
        guard userIndex[c.key.userID] != nil else { return reject(.unknownAccount) }
        switch c.action {
        case .create:
            guard Self.validApiKeyName(c.key.apiKey) else { return reject(.invalidApiKey) }
            guard apiKeys[c.key.apiKey] == nil else { return reject(.duplicateApiKey) }
            let pem = c.key.publicKeyPEM
            switch c.key.kind {
            case .hmac: guard !c.key.encryptedSecret.isEmpty, pem.isEmpty else { return reject(.invalidApiKey) }
            case .ed25519, .rsa:
                guard c.key.encryptedSecret.isEmpty, pem.hasPrefix("-----BEGIN "), pem.contains("-----END ") else {
                    return reject(.invalidApiKey)
                }
            }
            guard c.key.ipAllowlist.allSatisfy(Self.validApiKeyName) else { return reject(.invalidApiKey) }
            apiKeys[c.key.apiKey] = c.key
            events.append(.apiKeyChanged(ApiKeyChanged(action: .create, key: c.key, operatorName: c.operatorName, time: c.time)))
        case .update:
            guard var key = apiKeys[c.key.apiKey], key.userID == c.key.userID else { return reject(.unknownApiKey) }
            guard c.key.ipAllowlist.allSatisfy(Self.validApiKeyName) else { return reject(.invalidApiKey) }
            key.permissions = c.key.permissions
            key.ipAllowlist = c.key.ipAllowlist
            key.label = c.key.label
            apiKeys[c.key.apiKey] = key
            events.append(.apiKeyChanged(ApiKeyChanged(action: .update, key: key, operatorName: c.operatorName, time: c.time)))
        case .delete:
            guard let key = apiKeys[c.key.apiKey], key.userID == c.key.userID else { return reject(.unknownApiKey) }
            apiKeys[c.key.apiKey] = nil
            events.append(.apiKeyChanged(ApiKeyChanged(action: .delete, key: key, operatorName: c.operatorName, time: c.time)))
        }
    }
}
