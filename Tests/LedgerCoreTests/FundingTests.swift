import ExchangeProtocol
import LedgerCore
import Testing

/// Deposits (thresholds, txid idempotence) and withdrawals (approvals, completion, failure).
@Suite struct FundingTests {
    static let u = LedgerDriver.u
    let u = FundingTests.u

    func deposit(_ user: UInt64, _ asset: String, _ amount: Int64, _ txid: String, _ confirmations: Int32) -> LedgerCommand {
        .deposit(DepositRecord(userID: user, asset: asset, amount: amount, txid: txid, confirmations: confirmations))
    }

    struct ThresholdCase: Sendable, CustomTestStringConvertible {
        var asset: String
        var threshold: Int32
        var testDescription: String { "\(asset) credits at \(threshold)" }
    }

    @Test(arguments: [ThresholdCase(asset: "BTC", threshold: 30), ThresholdCase(asset: "ETH", threshold: 12), ThresholdCase(asset: "USDT", threshold: 1)])
    func creditedOnceAtTheAssetsThreshold(_ c: ThresholdCase) {
        var d = LedgerDriver.standard()
        if c.threshold > 1 {
            d.expectAccepted(deposit(1, c.asset, u(2), "tx1", c.threshold - 1))
            #expect(d.balance(1, c.asset) == (0, 0))
            #expect(d.events == [.depositRecorded(DepositRecorded(
                userID: 1, asset: c.asset, amount: u(2), txid: "tx1", confirmations: c.threshold - 1,
                requiredConfirmations: c.threshold, status: .pending, time: 0))])
            d.expectRejected(deposit(1, c.asset, u(2), "tx1", c.threshold - 1), .depositNotAdvanced)
        }
        d.expectAccepted(deposit(1, c.asset, u(2), "tx1", c.threshold))
        #expect(d.balance(1, c.asset) == (u(2), 0))
        #expect(d.balanceChanges.map(\.reason) == [.deposit])
        #expect(d.postings.map(\.from) == [.external] && d.postings.map(\.to) == [.free(userID: 1)])
        #expect(d.ledger.external(asset: c.asset) == -u(2))
        // Replays after the credit change nothing.
        d.expectRejected(deposit(1, c.asset, u(2), "tx1", c.threshold + 5), .depositAlreadyCredited)
        d.expectRejected(deposit(1, c.asset, u(2), "tx1", c.threshold), .depositAlreadyCredited)
        d.expectRejected(deposit(1, c.asset, u(3), "tx1", c.threshold), .depositMismatch)
        d.expectRejected(deposit(2, c.asset, u(2), "tx1", c.threshold), .depositMismatch)
        #expect(d.balance(1, c.asset) == (u(2), 0))
        d.expectClean()
    }

    @Test func thresholdsAreConfigurable() {
        var d = LedgerDriver.standard(configuration: LedgerConfiguration(depositConfirmations: ["BTC": 2], defaultDepositConfirmations: 3))
        d.expectAccepted(.setAsset(AssetSettings(asset: "SOL")))
        #expect(d.ledger.assetState("SOL")?.depositConfirmations == 3)
        #expect(d.ledger.assetState("BTC")?.depositConfirmations == 2)
        d.expectAccepted(.setAsset(AssetSettings(asset: "USDT", depositConfirmations: 6)))
        d.expectAccepted(deposit(1, "USDT", u(1), "a", 5))
        #expect(d.balance(1, "USDT").free == 0)
        d.expectAccepted(deposit(1, "USDT", u(1), "a", 6))
        #expect(d.balance(1, "USDT").free == u(1))
        d.expectAccepted(deposit(1, "BTC", u(1), "b", 2))
        #expect(d.balance(1, "BTC").free == u(1))
    }

    @Test func depositRejections() {
        var d = LedgerDriver.standard()
        d.expectRejected(deposit(9, "BTC", u(1), "x", 99), .unknownAccount)
        d.expectRejected(deposit(1, "DOGE", u(1), "x", 99), .unknownAsset)
        d.expectRejected(deposit(1, "BTC", 0, "x", 99), .invalidAmount)
        d.expectRejected(deposit(1, "BTC", -5, "x", 99), .invalidAmount)
        d.expectRejected(deposit(1, "BTC", u(1), "", 99), .invalidAmount)
        d.expectRejected(deposit(1, "BTC", u(1), "x", -1), .invalidAmount)
        d.expectAccepted(.setPermissions(SetPermissions(userID: 1, permissions: AccountPermissions(canDeposit: false))))
        d.expectRejected(deposit(1, "BTC", u(1), "x", 99), .actionDisabled)
        d.expectAccepted(deposit(2, "BTC", .max, "big", 99))
        d.expectRejected(deposit(3, "BTC", 2, "more", 99), .overflow)
        d.expectClean()
    }

    func request(_ id: String, user: UInt64 = 1, _ asset: String = "BTC", amount: Int64, fee: Int64 = 0) -> LedgerCommand {
        .requestWithdrawal(WithdrawalRequest(withdrawalID: id, userID: user, asset: asset, amount: amount, fee: fee, address: "bc1q"))
    }

    func step(_ id: String, user: UInt64 = 1, by op: String) -> WithdrawalStep {
        WithdrawalStep(withdrawalID: id, userID: user, operatorName: op)
    }

    static func withFunds() -> LedgerDriver {
        var d = LedgerDriver.standard()
        d.expectAccepted(.setAsset(AssetSettings(asset: "BTC", dualApprovalAbove: u(1))))
        d.fund(1, "BTC", u(10))
        return d
    }

    @Test func singleApprovalThenComplete() {
        var d = Self.withFunds()
        d.expectAccepted(request("w1", amount: u(1), fee: 50_000))
        #expect(d.balance(1, "BTC") == (u(9) - 50_000, u(1) + 50_000))
        #expect(d.balanceChanges.map(\.reason) == [.withdrawal])
        #expect(d.ledger.withdrawal("w1")?.requiredApprovals == 1)
        d.expectRejected(.completeWithdrawal(step("w1", by: "alice")), .invalidWithdrawalState)
        d.expectAccepted(.approveWithdrawal(step("w1", by: "alice")))
        #expect(d.ledger.withdrawal("w1")?.state == .approved)
        d.expectRejected(.approveWithdrawal(step("w1", by: "bob")), .invalidWithdrawalState)
        d.expectAccepted(.completeWithdrawal(WithdrawalStep(withdrawalID: "w1", userID: 1, operatorName: "alice", detail: "txid-1")))
        #expect(d.balance(1, "BTC") == (u(9) - 50_000, 0))
        #expect(d.ledger.external(asset: "BTC") == -u(9))
        #expect(d.ledger.feeRevenue(asset: "BTC") == 50_000)
        #expect(d.postings.map(\.to) == [.external, .feeRevenue])
        #expect(d.ledger.withdrawal("w1")?.state == .completed)
        d.expectRejected(.completeWithdrawal(step("w1", by: "alice")), .invalidWithdrawalState)
        d.expectRejected(.failWithdrawal(step("w1", by: "alice")), .invalidWithdrawalState)
        d.expectRejected(request("w1", amount: 1), .duplicateWithdrawal)
        d.expectClean()
    }

    @Test func twoDistinctApproversAboveTheThreshold() {
        var d = Self.withFunds()
        d.expectAccepted(request("w2", amount: u(1) + 1))
        #expect(d.ledger.withdrawal("w2")?.requiredApprovals == 2)
        d.expectRejected(.approveWithdrawal(step("w2", by: "")), .invalidName)
        d.expectAccepted(.approveWithdrawal(step("w2", by: "alice")))
        #expect(d.ledger.withdrawal("w2")?.state == .requested)
        d.expectRejected(.completeWithdrawal(step("w2", by: "alice")), .invalidWithdrawalState)
        d.expectRejected(.approveWithdrawal(step("w2", by: "alice")), .duplicateApprover)
        d.expectAccepted(.approveWithdrawal(step("w2", by: "bob")))
        guard case .withdrawalChanged(let changed) = d.events.last else { Issue.record("no event"); return }
        #expect(changed.state == .approved && changed.approvers == ["alice", "bob"] && changed.requiredApprovals == 2)
        d.expectAccepted(.completeWithdrawal(step("w2", by: "carol")))
        #expect(d.balance(1, "BTC") == (u(9) - 1, 0))
        d.expectClean()
    }

    @Test func failureReturnsAmountAndFee() {
        var d = Self.withFunds()
        d.expectAccepted(request("w3", amount: u(2), fee: u(1)))
        #expect(d.balance(1, "BTC") == (u(7), u(3)))
        d.expectAccepted(.approveWithdrawal(step("w3", by: "alice")))
        d.expectAccepted(.failWithdrawal(WithdrawalStep(withdrawalID: "w3", userID: 1, operatorName: "alice", detail: "chain rejected")))
        #expect(d.balance(1, "BTC") == (u(10), 0))
        #expect(d.balanceChanges.map(\.reason) == [.withdrawalReturned])
        d.expectRejected(.approveWithdrawal(step("w3", by: "bob")), .invalidWithdrawalState)
        // Failing straight from REQUESTED works too.
        d.expectAccepted(request("w4", amount: u(1)))
        d.expectAccepted(.failWithdrawal(step("w4", by: "alice")))
        #expect(d.balance(1, "BTC") == (u(10), 0))
        d.expectClean()
    }

    @Test func withdrawalRejections() {
        var d = Self.withFunds()
        d.expectRejected(request("x", amount: u(10), fee: 1), .insufficientBalance)
        d.expectRejected(request("x", amount: 0), .invalidAmount)
        d.expectRejected(request("x", amount: u(1), fee: -1), .invalidAmount)
        d.expectRejected(request("", amount: u(1)), .invalidAmount)
        d.expectRejected(request("x", amount: .max, fee: .max), .overflow)
        d.expectRejected(request("x", "DOGE", amount: 1), .unknownAsset)
        d.expectRejected(request("x", user: 77, amount: 1), .unknownAccount)
        d.expectRejected(.approveWithdrawal(step("nope", by: "alice")), .unknownWithdrawal)
        d.expectAccepted(request("mine", amount: 1))
        d.expectRejected(.approveWithdrawal(step("mine", user: 2, by: "alice")), .unknownWithdrawal)
        d.expectRejected(.failWithdrawal(step("mine", user: 2, by: "alice")), .unknownWithdrawal)
        d.expectAccepted(.setPermissions(SetPermissions(userID: 1, permissions: AccountPermissions(canWithdraw: false))))
        d.expectRejected(request("y", amount: 1), .actionDisabled)
        d.expectClean()
    }
}
