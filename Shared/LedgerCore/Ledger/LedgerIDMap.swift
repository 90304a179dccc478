import ExchangeProtocol

/// The ledger's user, account and open-order indexes (see `IDMap`).
typealias LedgerIDMap = IDMap
