import ExchangeProtocol
import LedgerCore
import MatchingEngine

/// What the ledger service will do with matching's output, for tests: trades become settlements,
/// reports become progress, and a rejection of the place just sent releases that order (a
/// rejection of a cancel or amend is not about funds and is dropped).
enum MatchingBridge {
    static func ledgerCommands(for events: [MatchingEvent], placedOrderID: UInt64?) -> [LedgerCommand] {
        var commands: [LedgerCommand] = []
        for event in events {
            switch event {
            case .trade(let t):
                commands.append(.settleTrade(TradeSettlement(
                    tradeID: t.tradeID, price: t.price, quantity: t.quantity, quoteQuantity: t.quoteQuantity,
                    buyerOrderID: t.buyerOrderID, sellerOrderID: t.sellerOrderID, buyerUserID: t.buyerUserID,
                    sellerUserID: t.sellerUserID, buyerIsMaker: t.buyerIsMaker, buyerCommission: t.buyerCommission,
                    sellerCommission: t.sellerCommission, time: t.time)))
            case .report(let r):
                commands.append(.orderProgress(OrderProgress(
                    orderID: r.orderID, userID: r.userID, executionType: r.executionType, status: r.status,
                    quantity: r.quantity, cumulativeQty: r.cumulativeQty, preventedQuantity: r.preventedQuantity,
                    time: r.transactionTime)))
            case .rejected(let r):
                if let placedOrderID, r.orderID == placedOrderID {
                    commands.append(.orderProgress(OrderProgress(
                        orderID: r.orderID, userID: r.userID, executionType: .rejected, status: .rejected)))
                }
            case .levelChanged:
                break
            }
        }
        return commands
    }

    /// The book's request for a funded order.
    static func orderRequest(
        _ r: PlaceOrderRequest, funded f: FundedOrderInfo, timeInForce: TimeInForce = .gtc, stopPrice: Int64 = 0,
        icebergQty: Int64 = 0, stp: SelfTradePreventionMode? = nil
    ) -> OrderRequest {
        OrderRequest(
            orderID: r.orderID, userID: r.userID, side: r.side, type: r.type, timeInForce: timeInForce, price: r.price,
            quantity: r.quantity, quoteOrderQty: r.quoteOrderQty, stopPrice: stopPrice, icebergQty: icebergQty,
            selfTradePrevention: stp, quoteBudget: f.quoteBudget, makerCommissionRate: f.makerCommissionRate,
            takerCommissionRate: f.takerCommissionRate, time: r.time)
    }
}
