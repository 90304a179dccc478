import Foundation

/// One fully populated example of every payload: every field of every message is set to a
/// non-default value, so a round trip that dropped or confused a field would show. Used by the
/// round-trip tests, `exchange bench codec` and as documentation of the JSON form.
public enum EnvelopeSamples {
    static let placeOrder = """
        {"userId":"42","symbol":"BTCUSDT","orderId":"9000000000000001","clientOrderId":"my-1","side":"SIDE_SELL",
         "type":"ORDER_TYPE_STOP_LOSS_LIMIT","timeInForce":"TIME_IN_FORCE_FOK","quantity":"100000","quoteOrderQty":"2",
         "price":"6000000000000","stopPrice":"5900000000000","trailingDelta":"100","icebergQty":"50000","strategyId":"7",
         "strategyType":1000000,"selfTradePreventionMode":"SELF_TRADE_PREVENTION_MODE_EXPIRE_BOTH",
         "newOrderRespType":"RESPONSE_TYPE_FULL","venue":"VENUE_BINANCE","receivedAtMs":"1763000000000","testOnly":true}
        """
    static let cancelOrder = """
        {"userId":"42","symbol":"BTCUSDT","orderId":"9000000000000001","origClientOrderId":"my-1","newClientOrderId":"c-1",
         "cancelRestrictions":"CANCEL_RESTRICTIONS_ONLY_PARTIALLY_FILLED","receivedAtMs":"1763000000001"}
        """
    static let fundedOrder = """
        {"order":\(placeOrder),"makerCommissionRate":"100000","takerCommissionRate":"75000","reservedAsset":"BTC",
         "reservedAmount":"100000","quoteBudget":"12345","baseAsset":"BTC","quoteAsset":"USDT","baseBudget":"7"}
        """
    /// (payload kind, payload) for each of the 17 payload types.
    public static let payloads: [(String, Exchange_V1_Envelope.OneOf_Payload)] = [
        ("place_order", .placeOrder(try! Exchange_V1_PlaceOrder(jsonString: placeOrder))),
        ("cancel_order", .cancelOrder(try! Exchange_V1_CancelOrder(jsonString: cancelOrder))),
        ("cancel_open_orders", .cancelOpenOrders(try! Exchange_V1_CancelOpenOrders(jsonString:
            #"{"userId":"42","symbol":"ETHBTC","receivedAtMs":"1"}"#))),
        ("cancel_replace_order", .cancelReplaceOrder(try! Exchange_V1_CancelReplaceOrder(jsonString:
            #"{"userId":"42","symbol":"BTCUSDT","mode":"CANCEL_REPLACE_MODE_ALLOW_FAILURE","cancel":\#(cancelOrder),"place":\#(placeOrder)}"#))),
        ("amend_order", .amendOrder(try! Exchange_V1_AmendOrder(jsonString: """
            {"userId":"42","symbol":"BTCUSDT","orderId":"5","origClientOrderId":"a","newClientOrderId":"b","newQuantity":"3","receivedAtMs":"4"}
            """))),
        ("funded_order", .fundedOrder(try! Exchange_V1_FundedOrder(jsonString: fundedOrder))),
        ("order_rejected", .orderRejected(try! Exchange_V1_OrderRejected(jsonString: """
            {"userId":"42","symbol":"BTCUSDT","orderId":"5","clientOrderId":"x","code":-2010,
             "msg":"Account has insufficient balance for requested action.","time":"9"}
            """))),
        ("order_update", .orderUpdate(try! Exchange_V1_OrderUpdate(jsonString: """
            {"userId":"42","symbol":"BTCUSDT","orderId":"5","clientOrderId":"x","origClientOrderId":"y","side":"SIDE_BUY",
             "type":"ORDER_TYPE_LIMIT","timeInForce":"TIME_IN_FORCE_GTC","quantity":"1","price":"2","stopPrice":"3",
             "icebergQty":"4","quoteOrderQty":"5","executionType":"EXECUTION_TYPE_TRADE_PREVENTION",
             "status":"ORDER_STATUS_EXPIRED_IN_MATCH","rejectReason":"NONE","lastExecutedQty":"6","cumulativeFilledQty":"7",
             "cumulativeQuoteQty":"8","lastExecutedPrice":"9","lastQuoteQty":"10","commissionAmount":"11","commissionAsset":"BNB",
             "transactionTime":"12","tradeId":"13","isMaker":true,"isWorking":true,"workingTime":"14","orderCreationTime":"15",
             "selfTradePreventionMode":"SELF_TRADE_PREVENTION_MODE_DECREMENT","preventedMatchId":"16","preventedQuantity":"17",
             "lastPreventedQuantity":"18","strategyId":"19","strategyType":20,"trailingDelta":"21"}
            """))),
        ("trade", .trade(try! Exchange_V1_Trade(jsonString: """
            {"symbol":"BTCUSDT","tradeId":"1","price":"2","quantity":"3","quoteQuantity":"4","buyerOrderId":"5","sellerOrderId":"6",
             "buyerUserId":"7","sellerUserId":"8","buyerIsMaker":true,"time":"9","buyerCommission":"10","sellerCommission":"11",
             "baseAsset":"BTC","quoteAsset":"USDT"}
            """))),
        ("book_delta", .bookDelta(try! Exchange_V1_BookDelta(jsonString: """
            {"symbol":"BTCUSDT","firstUpdateId":"100","lastUpdateId":"105","bids":[{"price":"1","quantity":"2"},{"price":"3","quantity":"0"}],
             "asks":[{"price":"4","quantity":"5"}],"eventTime":"6","isSnapshot":true}
            """))),
        ("balance_change", .balanceChange(try! Exchange_V1_BalanceChange(jsonString: """
            {"userId":"42","reason":"BALANCE_CHANGE_REASON_TRADE","balances":[{"asset":"BTC","free":"1","locked":"2"}],
             "deltas":[{"asset":"BTC","freeDelta":"-3","lockedDelta":"4"}],"journalEntryId":"5","orderId":"6","time":"7"}
            """))),
        ("deposit", .deposit(try! Exchange_V1_Deposit(jsonString: """
            {"userId":"42","asset":"BTC","amount":"1","txid":"0xabc","network":"BTC","address":"bc1q","confirmations":30,
             "status":"DEPOSIT_STATUS_CREDITED","time":"2","requiredConfirmations":30}
            """))),
        ("withdrawal", .withdrawal(try! Exchange_V1_Withdrawal(jsonString: """
            {"userId":"42","withdrawalId":"w1","action":"WITHDRAWAL_ACTION_FAIL","asset":"ETH","amount":"1","fee":"2",
             "address":"0x1","network":"ETH","operator":"alice","txid":"0x2","reason":"node down","time":"3",
             "state":"FAILED","approvers":["alice"],"requiredApprovals":1}
            """))),
        ("account_admin", .accountAdmin(try! Exchange_V1_AccountAdmin(jsonString: """
            {"userId":"42","action":"ACCOUNT_ACTION_SET_COMMISSION","canTrade":true,"canWithdraw":true,"canDeposit":true,
             "makerCommissionRate":"1","takerCommissionRate":"2","accountType":"SPOT","operator":"bob","time":"3",
             "commissionTier":"vip1"}
            """))),
        ("api_key_admin", .apiKeyAdmin(try! Exchange_V1_ApiKeyAdmin(jsonString: """
            {"userId":"42","action":"API_KEY_ACTION_UPDATE","apiKey":"k","keyType":"API_KEY_TYPE_ED25519","encryptedSecret":"AAEC",
             "publicKeyPem":"-----BEGIN","permitRead":true,"permitTrade":true,"permitWithdraw":true,"ipAllowlist":["127.0.0.1","::1"],
             "label":"bot","operator":"carol","time":"4"}
            """))),
        ("dead_letter", .deadLetter(try! Exchange_V1_DeadLetter(jsonString: """
            {"sourceTopic":"orders.requests","sourcePartition":3,"sourceOffset":"99","consumerGroup":"ledger","reason":"bad",
             "key":"AQ==","value":"AgM=","time":"5"}
            """))),
        ("funded_cancel_replace", .fundedCancelReplace(try! Exchange_V1_FundedCancelReplace(jsonString:
            #"{"mode":"CANCEL_REPLACE_MODE_STOP_ON_FAILURE","cancel":\#(cancelOrder),"place":\#(fundedOrder)}"#))),
        ("asset_admin", .assetAdmin(try! Exchange_V1_AssetAdmin(jsonString: """
            {"asset":"BTC","depositConfirmations":30,"dualApprovalAbove":"100000000","marketBuyBudgetCap":"5","operator":"dan","time":"6"}
            """))),
        ("commission_tier_admin", .commissionTierAdmin(try! Exchange_V1_CommissionTierAdmin(jsonString: """
            {"name":"vip1","makerRate":"90000","takerRate":"100000","operator":"dan","time":"7"}
            """))),
        ("admin_rejected", .adminRejected(try! Exchange_V1_AdminRejected(jsonString: """
            {"userId":"42","reason":"unknownAccount","code":-2015,"msg":"Invalid API-key, IP, or permissions for action.","time":"8"}
            """))),
        ("md_depth_diff", .mdDepthDiff(try! Exchange_V1_MdDepthDiff(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","firstUpdateId":"499869750","finalUpdateId":"499869752","eventTime":"1633998512068",
             "bids":[{"price":"100","quantity":"2"}],"asks":[{"price":"100","quantity":"2"}],"duplicate":true,"worker":"market-data-0","syncEpoch":"3"}
            """))),
        ("md_depth_snapshot", .mdDepthSnapshot(try! Exchange_V1_MdDepthSnapshot(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","lastUpdateId":"499869752","bids":[{"price":"100","quantity":"2"}],"asks":[{"price":"100","quantity":"2"}],"time":"1633998512068",
             "duplicate":true,"worker":"market-data-0","syncEpoch":"3"}
            """))),
        ("md_depth_resync", .mdDepthResync(try! Exchange_V1_MdDepthResync(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","reason":"gap","lastGoodUpdateId":"499869752","time":"1633998512068",
             "worker":"market-data-0","syncEpoch":"4"}
            """))),
        ("md_trade", .mdTrade(try! Exchange_V1_MdTrade(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","tradeId":"12","price":"35210000","quantity":"100","buyerOrderId":"7",
             "sellerOrderId":"8","tradeTime":"1633998512068","eventTime":"1633998512069","buyerIsMaker":true,"duplicate":true}
            """))),
        ("md_agg_trade", .mdAggTrade(try! Exchange_V1_MdAggTrade(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","aggTradeId":"5","price":"35210000","quantity":"100","firstTradeId":"12",
             "lastTradeId":"14","tradeTime":"1633998512068","eventTime":"1633998512069","buyerIsMaker":true,"duplicate":true}
            """))),
        ("md_book_ticker", .mdBookTicker(try! Exchange_V1_MdBookTicker(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","updateId":"499869752","bidPrice":"35210000","bidQuantity":"67200000000",
             "askPrice":"35290000","askQuantity":"1","eventTime":"1633998512068","duplicate":true}
            """))),
        ("md_kline", .mdKline(try! Exchange_V1_MdKline(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","interval":"1m","openTime":"1633998480000","closeTime":"1633998539999",
             "firstTradeId":"1","lastTradeId":"9","open":"1","high":"3","low":"1","close":"2","volume":"10","quoteVolume":"20",
             "tradeCount":"9","takerBuyBaseVolume":"4","takerBuyQuoteVolume":"8","closed":true,"eventTime":"1633998512068",
             "duplicate":true}
            """))),
        ("md_ticker", .mdTicker(try! Exchange_V1_MdTicker(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","window":"1d","priceChange":"-1","priceChangePercent":"-2","weightedAvgPrice":"3",
             "prevClosePrice":"4","lastPrice":"5","lastQuantity":"6","bidPrice":"7","bidQuantity":"8","askPrice":"9",
             "askQuantity":"10","openPrice":"11","highPrice":"12","lowPrice":"13","volume":"14","quoteVolume":"15",
             "openTime":"16","closeTime":"17","firstTradeId":"18","lastTradeId":"19","tradeCount":"20","eventTime":"21",
             "mini":true}
            """))),
        ("md_avg_price", .mdAvgPrice(try! Exchange_V1_MdAvgPrice(jsonString: """
            {"symbol":"NKNUSDT","venue":"binance","minutes":5,"price":"35210000","closeTime":"1633998512068"}
            """))),
    ]

    /// The payload in an envelope with every envelope field set.
    public static func envelope(_ payload: Exchange_V1_Envelope.OneOf_Payload) -> Exchange_V1_Envelope {
        Exchange_V1_Envelope(
            payload: payload,
            eventID: Exchange_V1_EventID(sourceTopic: "orders.requests", sourcePartition: 2, sourceOffset: 77, index: 3),
            requestID: "req-1", replyTo: "reply.router-1", createdAtMs: 1_763_000_000_000,
            emittedAtMs: 1_763_000_000_005, producer: "ledger-0")
    }
}
