import ExchangeProtocol
import LedgerCore
import Testing

/// Drives a `Ledger` in scenario tests: applies commands, keeps the last command's events, and
/// checks on every command that a rejection left the state (snapshot bytes and hash) unchanged.
struct LedgerDriver {
    var ledger: Ledger
    var events: [LedgerEvent] = []
    var time: Int64 = 1_700_000_000_000

    /// Whole units to Fixed8 raw.
    static func u(_ value: Int64) -> Int64 { value * 100_000_000 }

    init(configuration: LedgerConfiguration = LedgerConfiguration()) {
        ledger = Ledger(configuration: configuration)
    }

    /// BTC, ETH, USDT; BTCUSDT, ETHUSDT; users 1...userCount with every flag.
    static func standard(users userCount: UInt64 = 3, configuration: LedgerConfiguration = LedgerConfiguration()) -> LedgerDriver {
        var d = LedgerDriver(configuration: configuration)
        for asset in ["BTC", "ETH", "USDT"] { d.expectAccepted(.setAsset(AssetSettings(asset: asset))) }
        d.expectAccepted(.setSymbol(SymbolSettings(symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT")))
        d.expectAccepted(.setSymbol(SymbolSettings(symbol: "ETHUSDT", baseAsset: "ETH", quoteAsset: "USDT")))
        for user in 1...userCount { d.expectAccepted(.createAccount(CreateAccount(userID: user))) }
        return d
    }

    @discardableResult
    mutating func apply(_ command: LedgerCommand, sourceLocation: SourceLocation = #_sourceLocation) -> [LedgerEvent] {
        let before = ledger.snapshot()
        let hashBefore = ledger.stateHash()
        events.removeAll(keepingCapacity: true)
        ledger.apply(command, into: &events)
        time += 1
        if events.contains(where: { if case .rejected = $0 { return true } else { return false } }) {
            #expect(events.count == 1, "a rejection is the only event", sourceLocation: sourceLocation)
            #expect(ledger.stateHash() == hashBefore, "a rejection changes nothing", sourceLocation: sourceLocation)
            #expect(ledger.snapshot() == before, "a rejection changes nothing", sourceLocation: sourceLocation)
        }
        return events
    }

    mutating func expectAccepted(_ command: LedgerCommand, sourceLocation: SourceLocation = #_sourceLocation) {
        apply(command, sourceLocation: sourceLocation)
        #expect(rejection == nil, "unexpected rejection \(String(describing: rejection))", sourceLocation: sourceLocation)
    }

    mutating func expectRejected(
        _ command: LedgerCommand, _ reason: LedgerRejectionReason, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        apply(command, sourceLocation: sourceLocation)
        #expect(rejection?.reason == reason, sourceLocation: sourceLocation)
    }

    /// The last command's rejection, if any.
    var rejection: LedgerRejection? {
        for event in events { if case .rejected(let r) = event { return r } }
        return nil
    }

    var balanceChanges: [BalanceChange] {
        events.compactMap { if case .balanceChanged(let c) = $0 { return c } else { return nil } }
    }

    var postings: [Posting] {
        events.compactMap { if case .posting(let p) = $0 { return p } else { return nil } }
    }

    var funded: FundedOrderInfo? {
        for event in events { if case .orderFunded(let f) = event { return f } }
        return nil
    }

    var closed: OrderClosed? {
        for event in events { if case .orderClosed(let c) = event { return c } }
        return nil
    }

    /// Credits `amount` (raw) of `asset` to `user` with enough confirmations.
    mutating func fund(_ user: UInt64, _ asset: String, _ amount: Int64) {
        let txid = "fund-\(user)-\(asset)-\(time)"
        expectAccepted(.deposit(DepositRecord(userID: user, asset: asset, amount: amount, txid: txid, confirmations: 1_000, time: time)))
    }

    @discardableResult
    mutating func place(
        _ orderID: UInt64, user: UInt64, symbol: String = "BTCUSDT", _ side: Side, _ type: OrderType,
        price: Int64 = 0, quantity: Int64 = 0, quoteOrderQty: Int64 = 0
    ) -> [LedgerEvent] {
        apply(.placeOrder(PlaceOrderRequest(
            userID: user, orderID: orderID, symbol: symbol, side: side, type: type, quantity: quantity,
            quoteOrderQty: quoteOrderQty, price: price, time: time)))
    }

    func balance(_ user: UInt64, _ asset: String) -> (free: Int64, locked: Int64) {
        ledger.balance(userID: user, asset: asset)
    }

    func expectClean(sourceLocation: SourceLocation = #_sourceLocation) {
        let audit = ledger.audit()
        #expect(audit.findings == [], sourceLocation: sourceLocation)
        #expect(audit.assets.allSatisfy { $0.drift == 0 }, sourceLocation: sourceLocation)
    }
}
