import ExchangeProtocol
import LedgerCore
import Testing

/// Byte-exact snapshots and the state hash.
@Suite struct SnapshotTests {
    static let u = LedgerDriver.u
    let u = SnapshotTests.u

    /// A ledger with something in every table.
    static func busy() -> LedgerDriver {
        var d = LedgerDriver.standard()
        d.expectAccepted(.setCommissionTier(CommissionTier(name: "VIP1", makerRate: 1, takerRate: 2)))
        d.expectAccepted(.setCommission(SetCommission(userID: 2, setting: .tier("VIP1"))))
        d.expectAccepted(.setCommission(SetCommission(userID: 3, setting: .rates(maker: 3, taker: 4))))
        d.fund(1, "USDT", u(1_000))
        d.fund(2, "BTC", u(10))
        d.expectAccepted(.deposit(DepositRecord(userID: 3, asset: "BTC", amount: 5, txid: "pending", confirmations: 3)))
        d.place(1, user: 1, .buy, .limit, price: u(100), quantity: u(2))
        d.place(2, user: 2, .sell, .limit, price: u(100), quantity: u(3))
        d.expectAccepted(.settleTrade(TradeSettlement(
            tradeID: 1, price: u(100), quantity: u(1), quoteQuantity: u(100), buyerOrderID: 1, sellerOrderID: 2,
            buyerUserID: 1, sellerUserID: 2, buyerCommission: 7, sellerCommission: 9)))
        d.expectAccepted(.requestWithdrawal(WithdrawalRequest(withdrawalID: "w", userID: 2, asset: "BTC", amount: 100, fee: 1)))
        d.expectAccepted(.approveWithdrawal(WithdrawalStep(withdrawalID: "w", userID: 2, operatorName: "alice")))
        d.expectAccepted(.apiKey(ApiKeyCommand(action: .create, key: ApiKeyRecord(
            apiKey: "K", userID: 1, kind: .hmac, encryptedSecret: [9, 8, 7], ipAllowlist: ["1.2.3.4"], label: "x"))))
        return d
    }

    @Test func restoreIsByteExactAndBehavesTheSame() throws {
        var a = Self.busy()
        let bytes = a.ledger.snapshot()
        var b = LedgerDriver()
        b.ledger = try Ledger(snapshot: bytes)
        #expect(b.ledger.snapshot() == bytes)
        #expect(b.ledger.stateHash() == a.ledger.stateHash())
        b.time = a.time
        // Same commands afterwards: same events and hash.
        let next: [LedgerCommand] = [
            .settleTrade(TradeSettlement(
                tradeID: 2, price: u(100), quantity: u(1), quoteQuantity: u(100), buyerOrderID: 1, sellerOrderID: 2,
                buyerUserID: 1, sellerUserID: 2)),
            .orderProgress(OrderProgress(orderID: 2, userID: 2, executionType: .canceled, status: .canceled)),
            .completeWithdrawal(WithdrawalStep(withdrawalID: "w", userID: 2, operatorName: "bob")),
            .deposit(DepositRecord(userID: 3, asset: "BTC", amount: 5, txid: "pending", confirmations: 30)),
            .placeOrder(PlaceOrderRequest(userID: 3, orderID: 9, symbol: "BTCUSDT", side: .sell, type: .market, quantity: 5)),
        ]
        for command in next {
            #expect(a.apply(command) == b.apply(command))
            #expect(a.ledger.stateHash() == b.ledger.stateHash())
        }
        a.expectClean()
    }

    @Test func equalStatesGiveEqualBytesWhateverTheOrderOfCreation() {
        var a = LedgerDriver()
        var b = LedgerDriver()
        for asset in ["BTC", "USDT"] { a.expectAccepted(.setAsset(AssetSettings(asset: asset))) }
        for asset in ["USDT", "BTC"] { b.expectAccepted(.setAsset(AssetSettings(asset: asset))) }
        for user: UInt64 in [1, 2] { a.expectAccepted(.createAccount(CreateAccount(userID: user))) }
        for user: UInt64 in [2, 1] { b.expectAccepted(.createAccount(CreateAccount(userID: user))) }
        let btc = LedgerCommand.deposit(DepositRecord(userID: 1, asset: "BTC", amount: 5, txid: "t1", confirmations: 99))
        let usdt = LedgerCommand.deposit(DepositRecord(userID: 2, asset: "USDT", amount: 7, txid: "t2", confirmations: 99))
        a.expectAccepted(btc)
        a.expectAccepted(usdt)
        b.expectAccepted(usdt)
        b.expectAccepted(btc)
        #expect(a.ledger.snapshot() == b.ledger.snapshot())
        #expect(a.ledger.stateHash() == b.ledger.stateHash())
    }

    @Test func corruptSnapshotsAreRefused() {
        let bytes = Self.busy().ledger.snapshot()
        #expect(throws: LedgerSnapshotError.badHeader) { try Ledger(snapshot: Array("NOPE".utf8) + bytes.dropFirst(4)) }
        #expect(throws: LedgerSnapshotError.corrupt) { try Ledger(snapshot: Array(bytes.dropLast())) }
        #expect(throws: LedgerSnapshotError.corrupt) { try Ledger(snapshot: bytes + [0]) }
    }
}
