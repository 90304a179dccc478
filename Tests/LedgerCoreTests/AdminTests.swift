import ExchangeProtocol
import LedgerCore
import Testing

/// Accounts, flags, commission rates and tiers, API keys, reference data.
@Suite struct AdminTests {
    static let u = LedgerDriver.u
    let u = AdminTests.u

    @Test func accountsAndFlags() {
        var d = LedgerDriver.standard(users: 1)
        d.expectRejected(.createAccount(CreateAccount(userID: 1)), .accountExists)
        d.expectRejected(.createAccount(CreateAccount(userID: 0)), .invalidName)
        d.expectAccepted(.createAccount(CreateAccount(userID: 5, permissions: AccountPermissions(canTrade: false), operatorName: "ops")))
        #expect(d.events == [.accountChanged(AccountChanged(
            userID: 5, action: .create, permissions: AccountPermissions(canTrade: false), commission: .standard,
            makerCommissionRate: 100_000, takerCommissionRate: 100_000, operatorName: "ops", time: 0))])
        d.expectRejected(.setPermissions(SetPermissions(userID: 6, permissions: .all)), .unknownAccount)
        d.expectAccepted(.setPermissions(SetPermissions(userID: 5, permissions: .all)))
        #expect(d.ledger.permissions(userID: 5) == .all)
    }

    @Test func commissionRatesAndTiers() {
        var d = LedgerDriver.standard(users: 3)
        d.fund(1, "USDT", u(100))
        d.fund(2, "USDT", u(100))
        d.fund(3, "USDT", u(100))
        d.expectRejected(.setCommissionTier(CommissionTier(name: "VIP1", makerRate: -1, takerRate: 0)), .invalidRate)
        d.expectRejected(.setCommissionTier(CommissionTier(name: "VIP1", makerRate: 0, takerRate: 100_000_001)), .invalidRate)
        d.expectRejected(.setCommissionTier(CommissionTier(name: "", makerRate: 0, takerRate: 0)), .invalidName)
        d.expectAccepted(.setCommissionTier(CommissionTier(name: "VIP1", makerRate: 50_000, takerRate: 80_000)))
        d.expectRejected(.setCommission(SetCommission(userID: 1, setting: .tier("VIP9"))), .unknownTier)
        d.expectRejected(.setCommission(SetCommission(userID: 1, setting: .rates(maker: 0, taker: -1))), .invalidRate)
        d.expectRejected(.setCommission(SetCommission(userID: 9, setting: .standard)), .unknownAccount)
        d.expectAccepted(.setCommission(SetCommission(userID: 1, setting: .tier("VIP1"))))
        d.expectAccepted(.setCommission(SetCommission(userID: 2, setting: .rates(maker: 0, taker: 20_000))))
        func rates(_ user: UInt64, _ order: UInt64) -> (Int64?, Int64?) {
            d.place(order, user: user, .buy, .limit, price: u(1), quantity: u(1))
            return (d.funded?.makerCommissionRate, d.funded?.takerCommissionRate)
        }
        #expect(rates(1, 1) == (50_000, 80_000))
        #expect(rates(2, 2) == (0, 20_000))
        #expect(rates(3, 3) == (100_000, 100_000))
        // Accounts on a tier follow its later changes.
        d.expectAccepted(.setCommissionTier(CommissionTier(name: "VIP1", makerRate: 40_000, takerRate: 60_000)))
        #expect(rates(1, 4) == (40_000, 60_000))
        d.expectAccepted(.setCommission(SetCommission(userID: 1, setting: .standard)))
        #expect(rates(1, 5) == (100_000, 100_000))
    }

    static let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"

    @Test func apiKeys() {
        var d = LedgerDriver.standard(users: 2)
        let hmac = ApiKeyRecord(
            apiKey: "K1", userID: 1, kind: .hmac, encryptedSecret: [1, 2, 3, 4],
            permissions: ApiKeyPermissions(read: true, trade: true), ipAllowlist: ["10.0.0.1"], label: "bot")
        d.expectAccepted(.apiKey(ApiKeyCommand(action: .create, key: hmac, operatorName: "ops", time: 5)))
        #expect(d.events == [.apiKeyChanged(ApiKeyChanged(action: .create, key: hmac, operatorName: "ops", time: 5))])
        #expect(d.ledger.apiKey("K1") == hmac)
        // Unique across all users.
        var other = hmac
        other.userID = 2
        d.expectRejected(.apiKey(ApiKeyCommand(action: .create, key: other)), .duplicateApiKey)
        // Each type carries exactly its material.
        d.expectRejected(.apiKey(ApiKeyCommand(action: .create, key: ApiKeyRecord(apiKey: "K2", userID: 1, kind: .hmac))), .invalidApiKey)
        d.expectRejected(.apiKey(ApiKeyCommand(action: .create, key: ApiKeyRecord(apiKey: "K2", userID: 1, kind: .ed25519, publicKeyPEM: "junk"))), .invalidApiKey)
        d.expectRejected(.apiKey(ApiKeyCommand(action: .create, key: ApiKeyRecord(apiKey: "K2", userID: 1, kind: .rsa, encryptedSecret: [1], publicKeyPEM: Self.pem))), .invalidApiKey)
        d.expectRejected(.apiKey(ApiKeyCommand(action: .create, key: ApiKeyRecord(apiKey: "bad key", userID: 1, kind: .ed25519, publicKeyPEM: Self.pem))), .invalidApiKey)
        d.expectRejected(.apiKey(ApiKeyCommand(action: .create, key: ApiKeyRecord(apiKey: "K2", userID: 9, kind: .ed25519, publicKeyPEM: Self.pem))), .unknownAccount)
        let ed = ApiKeyRecord(apiKey: "K2", userID: 2, kind: .ed25519, publicKeyPEM: Self.pem)
        d.expectAccepted(.apiKey(ApiKeyCommand(action: .create, key: ed)))
        // Update replaces permissions, allowlist and label only.
        var update = ApiKeyRecord(apiKey: "K1", userID: 1, kind: .rsa, permissions: ApiKeyPermissions(read: true, trade: false, withdraw: true), ipAllowlist: [], label: "new")
        d.expectAccepted(.apiKey(ApiKeyCommand(action: .update, key: update)))
        var expected = hmac
        expected.permissions = update.permissions
        expected.ipAllowlist = []
        expected.label = "new"
        #expect(d.ledger.apiKey("K1") == expected)
        update.userID = 2
        d.expectRejected(.apiKey(ApiKeyCommand(action: .update, key: update)), .unknownApiKey)
        d.expectRejected(.apiKey(ApiKeyCommand(action: .delete, key: ApiKeyRecord(apiKey: "K1", userID: 2, kind: .hmac))), .unknownApiKey)
        d.expectAccepted(.apiKey(ApiKeyCommand(action: .delete, key: ApiKeyRecord(apiKey: "K1", userID: 1, kind: .hmac))))
        #expect(d.events == [.apiKeyChanged(ApiKeyChanged(action: .delete, key: expected, operatorName: "", time: 0))])
        #expect(d.ledger.apiKey("K1") == nil)
        d.expectRejected(.apiKey(ApiKeyCommand(action: .delete, key: ApiKeyRecord(apiKey: "K1", userID: 1, kind: .hmac))), .unknownApiKey)
        // A deleted key's name can be used again.
        d.expectAccepted(.apiKey(ApiKeyCommand(action: .create, key: hmac)))
    }

    @Test func referenceDataRejections() {
        var d = LedgerDriver.standard(users: 1)
        d.expectRejected(.setAsset(AssetSettings(asset: "bad asset")), .invalidName)
        d.expectRejected(.setAsset(AssetSettings(asset: "SOL", marketBuyBudgetCap: 0)), .invalidAmount)
        d.expectRejected(.setAsset(AssetSettings(asset: "SOL", depositConfirmations: -1)), .invalidAmount)
        d.expectRejected(.setSymbol(SymbolSettings(symbol: "SOLUSDT", baseAsset: "SOL", quoteAsset: "USDT")), .unknownAsset)
        d.expectRejected(.setSymbol(SymbolSettings(symbol: "BTCBTC", baseAsset: "BTC", quoteAsset: "BTC")), .invalidName)
        d.expectRejected(.setSymbol(SymbolSettings(symbol: "btc usdt", baseAsset: "BTC", quoteAsset: "USDT")), .invalidName)
        d.expectAccepted(.setAsset(AssetSettings(asset: "SOL")))
        d.expectAccepted(.setSymbol(SymbolSettings(symbol: "SOLUSDT", baseAsset: "SOL", quoteAsset: "USDT")))
    }
}
