import ExchangeProtocol

/// The fast book's order-id, user-id and price indexes (see `IDMap`).
typealias FastBookIDMap = IDMap
