import ExchangeProtocol

extension OrderRouterAPI {
    /// A commission rate (fixed-point fraction) in Binance's integer basis points: 0.001 → 10.
    static func basisPoints(_ rate: Int64) -> Int64 { rate / 10_000 }

    // GET /api/v3/account: omitZeroBalances.
    func account(_ call: inout Call) async throws -> String {
        let omitZero = try call.parameters.boolean("omitZeroBalances").value() ?? false
        try call.finish()
        guard let account = try await store.account(userID: call.userID) else { throw APIError.rejectedAPIKey }
        let balances = try await store.balances(userID: call.userID)
        var w = JSONWriter()
        w.objectStart()
        w.field("makerCommission", Self.basisPoints(account.makerCommissionRate))
        w.field("takerCommission", Self.basisPoints(account.takerCommissionRate))
        w.field("buyerCommission", 0)
        w.field("sellerCommission", 0)
        w.key("commissionRates")
        w.objectStart()
        w.field("maker", decimal: Fixed8(raw: account.makerCommissionRate))
        w.field("taker", decimal: Fixed8(raw: account.takerCommissionRate))
        w.field("buyer", decimal: .zero)
        w.field("seller", decimal: .zero)
        w.objectEnd()
        w.field("canTrade", account.canTrade)
        w.field("canWithdraw", account.canWithdraw)
        w.field("canDeposit", account.canDeposit)
        w.field("brokered", false)
        w.field("requireSelfTradePrevention", false)
        w.field("preventSor", false)
        w.field("updateTime", account.time)
        w.field("accountType", account.accountType.isEmpty ? "SPOT" : account.accountType)
        w.key("balances")
        w.arrayStart()
        for b in balances where !(omitZero && b.free == 0 && b.locked == 0) {
            w.objectStart()
            w.field("asset", b.asset)
            w.field("free", decimal: Fixed8(raw: b.free))
            w.field("locked", decimal: Fixed8(raw: b.locked))
            w.objectEnd()
        }
        w.arrayEnd()
        w.key("permissions"); w.arrayStart(); w.string("SPOT"); w.arrayEnd()
        w.field("uid", call.userID)
        w.objectEnd()
        return w.text
    }

    // GET /api/v3/account/commission: symbol.
    func commission(_ call: inout Call) async throws -> String {
        let rules = try self.rules(&call)
        try call.finish()
        guard let account = try await store.account(userID: call.userID) else { throw APIError.rejectedAPIKey }
        var w = JSONWriter()
        w.objectStart()
        w.field("symbol", rules.config.symbol)
        for (name, maker, taker) in [
            ("standardCommission", account.makerCommissionRate, account.takerCommissionRate), ("specialCommission", 0, 0), ("taxCommission", 0, 0),
        ] {
            w.key(name)
            w.objectStart()
            w.field("maker", decimal: Fixed8(raw: maker))
            w.field("taker", decimal: Fixed8(raw: taker))
            w.field("buyer", decimal: .zero)
            w.field("seller", decimal: .zero)
            w.objectEnd()
        }
        Self.discount(&w)
        w.objectEnd()
        return w.text
    }

    // POST /api/v3/userDataStream: a new listenKey (60 min).
    func createListenKey(_ call: inout Call) async throws -> String {
        try call.finish()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        let key = String((0..<60).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
        try await store.createListenKey(key, userID: call.userID)
        return "{\"listenKey\":\(OrderResponses.quoted(key))}"
    }

    private func ownedListenKey(_ call: inout Call) async throws -> String {
        guard let key = call.parameters.optional("listenKey") else { throw APIError.mandatory("listenKey") }
        try call.finish()
        guard let owner = try await store.listenKeyUser(key), owner == call.userID else { throw APIError.invalidListenKey }
        return key
    }

    // PUT /api/v3/userDataStream: keepalive, 60 more minutes.
    func keepAliveListenKey(_ call: inout Call) async throws -> String {
        let key = try await ownedListenKey(&call)
        guard try await store.keepAliveListenKey(key) else { throw APIError.invalidListenKey }
        return "{}"
    }

    // DELETE /api/v3/userDataStream.
    func closeListenKey(_ call: inout Call) async throws -> String {
        let key = try await ownedListenKey(&call)
        _ = try await store.deleteListenKey(key)
        return "{}"
    }
}
