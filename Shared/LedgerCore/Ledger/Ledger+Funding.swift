/// Deposits and withdrawals.
extension Ledger {
    // MARK: - Deposits

    mutating func deposit(_ d: DepositRecord, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: d.userID, time: d.time)))
        }
        guard let u = userIndex[d.userID] else { return reject(.unknownAccount) }
        guard let a = assetIndex[d.asset] else { return reject(.unknownAsset) }
        guard d.amount > 0, !d.txid.isEmpty, d.confirmations >= 0 else { return reject(.invalidAmount) }
        guard users[Int(u)].permissions.canDeposit else { return reject(.actionDisabled) }
        if let known = deposits[d.txid] {
            guard known.userID == d.userID, known.asset == a, known.amount == d.amount else { return reject(.depositMismatch) }
            guard !known.credited else { return reject(.depositAlreadyCredited) }
            guard d.confirmations > known.confirmations else { return reject(.depositNotAdvanced) }
        }
        let required = assetStates[Int(a)].depositConfirmations
        let credit = d.confirmations >= required
        if credit {
            let (_, freeOverflow) = freeBalance(user: u, asset: a).addingReportingOverflow(d.amount)
            let (_, externalOverflow) = external[Int(a)].subtractingReportingOverflow(d.amount)
            guard !freeOverflow, !externalOverflow else { return reject(.overflow) }
        }

        deposits[d.txid] = DepositEntry(userID: d.userID, asset: a, amount: d.amount, confirmations: d.confirmations, credited: credit)
        if credit {
            let account = account(user: u, asset: a)
            let entry = nextJournalEntry()
            post(a, from: .external, to: .free(account), d.amount, entry: entry, into: &events)
            events.append(.balanceChanged(BalanceChange(
                userID: d.userID, reason: .deposit, journalEntryID: entry, orderID: 0, time: d.time,
                first: movement(account, freeDelta: d.amount, lockedDelta: 0))))
        }
        events.append(.depositRecorded(DepositRecorded(
            userID: d.userID, asset: d.asset, amount: d.amount, txid: d.txid, confirmations: d.confirmations,
            requiredConfirmations: required, status: credit ? .credited : .pending, time: d.time)))
    }

    // MARK: - Withdrawals

    mutating func requestWithdrawal(_ w: WithdrawalRequest, into events: inout [LedgerEvent]) {
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: w.userID, time: w.time)))
        }
        guard let u = userIndex[w.userID] else { return reject(.unknownAccount) }
        guard let a = assetIndex[w.asset] else { return reject(.unknownAsset) }
        guard !w.withdrawalID.isEmpty, w.amount > 0, w.fee >= 0 else { return reject(.invalidAmount) }
        let (total, overflow) = w.amount.addingReportingOverflow(w.fee)
        guard !overflow else { return reject(.overflow) }
        guard users[Int(u)].permissions.canWithdraw else { return reject(.actionDisabled) }
        guard withdrawals[w.withdrawalID] == nil else { return reject(.duplicateWithdrawal) }
        guard freeBalance(user: u, asset: a) >= total else { return reject(.insufficientBalance) }

        let account = account(user: u, asset: a)
        let required = w.amount > assetStates[Int(a)].dualApprovalAbove ? 2 : 1
        withdrawals[w.withdrawalID] = WithdrawalEntry(
            withdrawalID: w.withdrawalID, userID: w.userID, asset: a, amount: w.amount, fee: w.fee, address: w.address,
            state: .requested, approvers: [], requiredApprovals: required)
        let entry = nextJournalEntry()
        post(a, from: .free(account), to: .locked(account), total, entry: entry, into: &events)
        events.append(.balanceChanged(BalanceChange(
            userID: w.userID, reason: .withdrawal, journalEntryID: entry, orderID: 0, time: w.time,
            first: movement(account, freeDelta: -total, lockedDelta: total))))
        events.append(.withdrawalChanged(changed(withdrawals[w.withdrawalID]!, operatorName: "", detail: "", time: w.time)))
    }

    mutating func approveWithdrawal(_ step: WithdrawalStep, into events: inout [LedgerEvent]) {
        guard var w = withdrawalForStep(step, into: &events) else { return }
        func reject(_ reason: LedgerRejectionReason) {
            events.append(.rejected(LedgerRejection(reason: reason, userID: step.userID, time: step.time)))
        }
        guard w.state == .requested else { return reject(.invalidWithdrawalState) }
        guard !step.operatorName.isEmpty else { return reject(.invalidName) }
        guard !w.approvers.contains(step.operatorName) else { return reject(.duplicateApprover) }
        w.approvers.append(step.operatorName)
        if w.approvers.count >= w.requiredApprovals { w.state = .approved }
        withdrawals[step.withdrawalID] = w
        events.append(.withdrawalChanged(changed(w, operatorName: step.operatorName, detail: step.detail, time: step.time)))
    }

    /// Sent on chain: the amount leaves to the external account, the fee to fee revenue.
    mutating func completeWithdrawal(_ step: WithdrawalStep, into events: inout [LedgerEvent]) {
        guard var w = withdrawalForStep(step, into: &events) else { return }
        guard w.state == .approved else {
            events.append(.rejected(LedgerRejection(reason: .invalidWithdrawalState, userID: step.userID, time: step.time)))
            return
        }
        w.state = .completed
        withdrawals[step.withdrawalID] = w
        let account = account(user: userIndex[w.userID]!, asset: w.asset)
        let entry = nextJournalEntry()
        post(w.asset, from: .locked(account), to: .external, w.amount, entry: entry, into: &events)
        post(w.asset, from: .locked(account), to: .fee, w.fee, entry: entry, into: &events)
        events.append(.balanceChanged(BalanceChange(
            userID: w.userID, reason: .withdrawal, journalEntryID: entry, orderID: 0, time: step.time,
            first: movement(account, freeDelta: 0, lockedDelta: -(w.amount + w.fee)))))
        events.append(.withdrawalChanged(changed(w, operatorName: step.operatorName, detail: step.detail, time: step.time)))
    }

    /// Not sent (rejected by an operator, or failed on chain): amount and fee return to free.
    mutating func failWithdrawal(_ step: WithdrawalStep, into events: inout [LedgerEvent]) {
        guard var w = withdrawalForStep(step, into: &events) else { return }
        guard w.state == .requested || w.state == .approved else {
            events.append(.rejected(LedgerRejection(reason: .invalidWithdrawalState, userID: step.userID, time: step.time)))
            return
        }
        w.state = .failed
        withdrawals[step.withdrawalID] = w
        let account = account(user: userIndex[w.userID]!, asset: w.asset)
        let total = w.amount + w.fee
        let entry = nextJournalEntry()
        post(w.asset, from: .locked(account), to: .free(account), total, entry: entry, into: &events)
        events.append(.balanceChanged(BalanceChange(
            userID: w.userID, reason: .withdrawalReturned, journalEntryID: entry, orderID: 0, time: step.time,
            first: movement(account, freeDelta: total, lockedDelta: -total))))
        events.append(.withdrawalChanged(changed(w, operatorName: step.operatorName, detail: step.detail, time: step.time)))
    }

    /// The withdrawal a step names, or a rejection (unknown id, or another user's).
    func withdrawalForStep(_ step: WithdrawalStep, into events: inout [LedgerEvent]) -> WithdrawalEntry? {
        guard let w = withdrawals[step.withdrawalID], w.userID == step.userID else {
            events.append(.rejected(LedgerRejection(reason: .unknownWithdrawal, userID: step.userID, time: step.time)))
            return nil
        }
        return w
    }

    func changed(_ w: WithdrawalEntry, operatorName: String, detail: String, time: Int64) -> WithdrawalChanged {
        WithdrawalChanged(
            withdrawalID: w.withdrawalID, userID: w.userID, asset: assetNames[Int(w.asset)], amount: w.amount, fee: w.fee,
            state: w.state, approvers: w.approvers, requiredApprovals: w.requiredApprovals, operatorName: operatorName,
            detail: detail, time: time)
    }
}
