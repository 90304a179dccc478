import ExchangeProtocol
import Foundation
import LedgerCore
import Messaging
import ServiceKit
import Testing

@testable import LedgerService

/// The ledger service's processor and planner, with the real matching processor in between
/// (`LedgerPipeline`): funds reserved and forwarded, trades settled for both sides with
/// commission, releases, rejections answered and changing nothing, projections as the router
/// reads them.
@Suite struct LedgerProcessorTests {
    /// Two funded users, BTC 1 for the seller, USDT 20,000 for the buyer.
    static func funded() -> LedgerPipeline {
        var p = LedgerPipeline()
        p.createAccount(1)
        p.createAccount(2)
        p.deposit(1, "USDT", "20000", txid: "t-usdt")
        p.deposit(2, "BTC", "1", txid: "t-btc", confirmations: 30)
        return p
    }

    @Test func aTradeSettlesBothSidesWithCommissionAndReleasesPriceImprovement() throws {
        var p = Self.funded()
        let sell = p.place(2, 100, .sell, price: "20000", quantity: "0.5")
        #expect(sell.map(\.topic) == [Topics.ledgerEvents.name, Topics.matchingCommands.name])
        let funded = try #require(sell.last?.envelope.fundedOrder)
        #expect(funded.reservedAsset == "BTC" && funded.reservedAmount == fx("0.5"))
        #expect(funded.makerCommissionRate == 100_000 && funded.takerCommissionRate == 100_000)
        #expect(funded.baseAsset == "BTC" && funded.quoteAsset == "USDT")
        #expect(sell.last?.envelope.replyTo == "reply.router-test", "matching answers the router")

        p.place(1, 101, .buy, price: "20100", quantity: "0.7")
        // Buyer: locked 14,070, paid 10,000, 50 of price improvement back, 4,020 still locked for 0.2.
        #expect(p.balance(1, "USDT") == ("5980.00000000", "4020.00000000"))
        #expect(p.balance(1, "BTC") == ("0.49950000", "0.00000000"))
        #expect(p.balance(2, "BTC") == ("0.50000000", "0.00000000"))
        #expect(p.balance(2, "USDT") == ("9990.00000000", "0.00000000"))
        #expect(p.ledger.ledger.feeRevenue(asset: "BTC") == fx("0.0005"))
        #expect(p.ledger.ledger.feeRevenue(asset: "USDT") == fx("10"))
        #expect(p.projectedBalance(1, "USDT")! == ("5980.00000000", "4020.00000000"))
        #expect(p.projectedBalance(2, "USDT")! == ("9990.00000000", "0.00000000"))

        // Open orders projection: the buyer's remainder is open, the filled sell is not.
        #expect(p.redis.hashes[RedisNames.openOrders(userID: 1)]?.keys.sorted() == ["101"])
        #expect(p.redis.hashes[RedisNames.openOrders(userID: 2)] == nil)
        let filled = try Exchange_V1_OrderUpdate(serializedBytes: try #require(p.redis.strings[RedisNames.order(userID: 2, orderID: 100)]))
        #expect(filled.status == .filled)
        #expect(p.redis.strings[RedisNames.clientOrder(userID: 1, symbol: "BTCUSDT", clientOrderID: "c101")] == Array("101".utf8))

        p.cancel(1, 101)
        #expect(p.balance(1, "USDT") == ("10000.00000000", "0.00000000"))
        #expect(p.projectedBalance(1, "USDT")! == ("10000.00000000", "0.00000000"))
        #expect(p.redis.hashes[RedisNames.openOrders(userID: 1)] == nil)
        #expect(p.ledger.ledger.openOrderCount == 0)
        #expect(p.ledger.awaitingFirstReport.isEmpty)
        let audit = p.ledger.ledger.audit()
        #expect(audit.isClean, "\(audit.findings)")
        #expect(audit.drift.values.allSatisfy { $0 == 0 })

        // The user channel carries the reports and balance changes in the ledger's order.
        let userOne = p.redis.published.filter { $0.channel == RedisNames.userChannel(userID: 1) }
            .compactMap { try? EnvelopeCodec.decode($0.message) }
        let kinds = userOne.map(\.payloadKind)
        #expect(kinds.first == "balance_change")  // deposit
        #expect(kinds.suffix(2) == ["order_update", "balance_change"])  // cancel report, then its release
    }

    @Test func rejectionsAreAnsweredAndChangeNothing() throws {
        var p = Self.funded()
        let before = p.ledger.encodeState()

        // Insufficient balance: -2010 on ledger.events and on the router's reply channel.
        let poor = p.place(1, 200, .buy, price: "30000", quantity: "1")
        let rejected = try #require(poor.first?.envelope.orderRejected)
        #expect(poor.count == 1 && poor[0].topic == Topics.ledgerEvents.name)
        #expect(rejected.code == -2010 && rejected.msg == "Account has insufficient balance for requested action.")
        #expect(rejected.orderID == 200 && rejected.clientOrderID == "c200")
        #expect(p.lastReplies.map(\.requestID) == ["place-200"])
        #expect(p.lastReplies.first?.events.first?.orderRejected.code == -2010)

        // Unknown symbol (not in the catalogue), unknown account.
        #expect(p.place(1, 201, .buy, symbol: "DOGEUSDT", price: "1", quantity: "1").first?.envelope.orderRejected.code == -1121)
        #expect(p.place(9, 202, .buy, price: "1", quantity: "1").first?.envelope.orderRejected.code == -2015)
        // Operator mistakes: a deposit for an unknown account, a replayed txid.
        let unknown = p.deposit(9, "USDT", "1", txid: "t-x")
        #expect(unknown.first?.envelope.adminRejected.reason == "unknownAccount")
        #expect(p.lastReplies.first?.events.first?.adminRejected.code == -2015)
        #expect(p.deposit(1, "USDT", "20000", txid: "t-usdt").first?.envelope.adminRejected.reason == "depositAlreadyCredited")
        let negative = p.send(.deposit(Exchange_V1_Deposit.with {
            $0.userID = 1
            $0.asset = "USDT"
            $0.amount = -5
            $0.txid = "t-neg"
            $0.confirmations = 100
        }))
        #expect(negative.first?.envelope.adminRejected.reason == "invalidAmount")
        #expect(p.ledger.encodeState() == before)
    }

    @Test func aMatchingRejectionOfThePlaceReleasesButACancelRejectionDoesNot() throws {
        var p = Self.funded()
        p.place(2, 300, .sell, price: "20000", quantity: "0.1")
        // LIMIT_MAKER that would take: matching rejects it (-2010), the ledger gives the lock back.
        p.place(1, 301, .buy, .limitMaker, price: "20000", quantity: "0.1")
        let rejection = try #require(p.matchingOutputs.last?.envelope.orderRejected)
        #expect(rejection.code == -2010 && rejection.msg == "Order would immediately match and take.")
        #expect(p.balance(1, "USDT") == ("20000.00000000", "0.00000000"))
        #expect(p.ledger.ledger.openOrder(301) == nil)

        // A cancel of an unknown order is rejected by matching (-2011); nothing is released.
        p.place(1, 302, .buy, price: "19000", quantity: "0.1")
        let locked = p.balance(1, "USDT")
        p.cancel(1, 999)
        #expect(p.matchingOutputs.last?.envelope.orderRejected.code == -2011)
        #expect(p.balance(1, "USDT") == locked)
        #expect(p.ledger.ledger.audit().isClean)
    }

    @Test func marketBuyByQuantitySpendsWithinItsBudgetAndGetsTheRestBack() throws {
        var p = Self.funded()
        p.place(2, 400, .sell, price: "20000", quantity: "0.25")
        p.place(1, 401, .buy, .market, quantity: "0.5")
        // Budget: the whole free 20,000; 0.25 fill costs 5,000; the rest comes back on expiry.
        #expect(p.balance(1, "USDT") == ("15000.00000000", "0.00000000"))
        #expect(p.balance(1, "BTC") == ("0.24975000", "0.00000000"))
        #expect(p.ledger.ledger.audit().isClean)
    }

    @Test func cancelReplaceWhoseNewOrderCannotBeFundedStillCancels() throws {
        var p = Self.funded()
        p.place(1, 500, .buy, price: "19000", quantity: "1")  // locks 19,000 of 20,000
        let outputs = p.send(.cancelReplaceOrder(Exchange_V1_CancelReplaceOrder.with {
            $0.userID = 1
            $0.symbol = "BTCUSDT"
            $0.mode = .stopOnFailure
            $0.cancel = Exchange_V1_CancelOrder.with { c in
                c.userID = 1
                c.symbol = "BTCUSDT"
                c.orderID = 500
            }
            $0.place = LedgerPipeline.order(1, 501, .buy, price: "19500", quantity: "1")
        }), requestID: "cr-1")
        #expect(outputs.map(\.topic) == [Topics.matchingCommands.name, Topics.ledgerEvents.name])
        #expect(outputs[0].envelope.cancelOrder.orderID == 500)
        #expect(outputs[1].envelope.orderRejected.orderID == 501 && outputs[1].envelope.orderRejected.code == -2010)
        #expect(p.balance(1, "USDT") == ("20000.00000000", "0.00000000"))

        // Funded: one FundedCancelReplace; the cancel and the new order both happen in matching.
        p.place(1, 502, .buy, price: "10000", quantity: "1")
        let funded = p.send(.cancelReplaceOrder(Exchange_V1_CancelReplaceOrder.with {
            $0.userID = 1
            $0.symbol = "BTCUSDT"
            $0.mode = .stopOnFailure
            $0.cancel = Exchange_V1_CancelOrder.with { c in
                c.userID = 1
                c.symbol = "BTCUSDT"
                c.orderID = 502
            }
            $0.place = LedgerPipeline.order(1, 503, .buy, price: "9000", quantity: "1")
        }), requestID: "cr-2")
        #expect(funded.last?.envelope.fundedCancelReplace.place.reservedAmount == fx("9000"))
        #expect(p.balance(1, "USDT") == ("11000.00000000", "9000.00000000"))
        #expect(p.ledger.ledger.openOrder(502) == nil && p.ledger.ledger.openOrder(503) != nil)
        #expect(p.ledger.ledger.audit().isClean)
    }

    @Test func binanceVenueOrdersGoToRoutingCommands() throws {
        var p = Self.funded()
        p.deposit(1, "EUR", "100", txid: "t-eur")
        let outputs = p.place(1, 600, .buy, symbol: "RUNEEUR", price: "5", quantity: "2")
        #expect(outputs.last?.topic == Topics.routingCommands.name)
        #expect(outputs.last?.key == "RUNEEUR")
        #expect(p.balance(1, "EUR") == ("90.00000000", "10.00000000"))
    }

    @Test func accountsApiKeysAndWithdrawalsAreProjectedAndAnswered() throws {
        var p = Self.funded()
        p.send(.apiKeyAdmin(Exchange_V1_ApiKeyAdmin.with {
            $0.userID = 1
            $0.action = .create
            $0.apiKey = "key-1"
            $0.keyType = .hmac
            $0.encryptedSecret = Data([1, 2, 3])
            $0.permitRead = true
            $0.permitTrade = true
        }))
        let key = try Exchange_V1_ApiKeyAdmin(serializedBytes: try #require(p.redis.strings[RedisNames.apiKey("key-1")]))
        #expect(key.userID == 1 && key.permitTrade && key.encryptedSecret == Data([1, 2, 3]))
        p.send(.apiKeyAdmin(Exchange_V1_ApiKeyAdmin.with {
            $0.userID = 1
            $0.action = .delete
            $0.apiKey = "key-1"
        }))
        #expect(p.redis.strings[RedisNames.apiKey("key-1")] == nil)

        p.send(.commissionTierAdmin(Exchange_V1_CommissionTierAdmin.with {
            $0.name = "vip1"
            $0.makerRate = 50_000
            $0.takerRate = 75_000
        }))
        p.send(.accountAdmin(Exchange_V1_AccountAdmin.with {
            $0.userID = 2
            $0.action = .setCommission
            $0.commissionTier = "vip1"
        }))
        var account = try Exchange_V1_AccountAdmin(serializedBytes: try #require(p.redis.strings[RedisNames.account(userID: 2)]))
        #expect(account.makerCommissionRate == 50_000 && account.takerCommissionRate == 75_000 && account.commissionTier == "vip1")
        // A tier change reaches the accounts on it.
        p.send(.commissionTierAdmin(Exchange_V1_CommissionTierAdmin.with {
            $0.name = "vip1"
            $0.makerRate = 40_000
            $0.takerRate = 60_000
        }))
        account = try Exchange_V1_AccountAdmin(serializedBytes: try #require(p.redis.strings[RedisNames.account(userID: 2)]))
        #expect(account.makerCommissionRate == 40_000)
        #expect(p.place(2, 700, .sell, price: "20000", quantity: "0.1").last?.envelope.fundedOrder.takerCommissionRate == 60_000)

        // Withdrawal above the dual-approval threshold: two operators, then complete.
        p.send(.assetAdmin(Exchange_V1_AssetAdmin.with {
            $0.asset = "USDT"
            $0.dualApprovalAbove = fx("1000")
        }))
        func step(_ action: Exchange_V1_WithdrawalAction, _ op: String, amount: String = "0") -> [ProcessorOutput] {
            p.send(.withdrawal(Exchange_V1_Withdrawal.with {
                $0.userID = 1
                $0.withdrawalID = "w-1"
                $0.action = action
                $0.asset = "USDT"
                $0.amount = fx(amount)
                $0.fee = fx("1")
                $0.operator = op
            }))
        }
        #expect(step(.request, "", amount: "5000").last?.envelope.withdrawal.state == "REQUESTED")
        #expect(p.balance(1, "USDT") == ("14999.00000000", "5001.00000000"))
        #expect(step(.approve, "alice").last?.envelope.withdrawal.state == "REQUESTED")
        #expect(step(.approve, "alice").first?.envelope.adminRejected.reason == "duplicateApprover")
        let approved = step(.approve, "bob").last?.envelope.withdrawal
        #expect(approved?.state == "APPROVED" && approved?.approvers == ["alice", "bob"] && approved?.requiredApprovals == 2)
        #expect(step(.complete, "bob").last?.envelope.withdrawal.state == "COMPLETED")
        #expect(p.balance(1, "USDT") == ("14999.00000000", "0.00000000"))
        #expect(p.ledger.ledger.feeRevenue(asset: "USDT") == fx("1"))
        #expect(p.ledger.ledger.audit().isClean)
    }

    @Test func stateRoundTripsByteExact() throws {
        var p = Self.funded()
        p.place(2, 800, .sell, price: "21000", quantity: "0.3")
        p.place(1, 801, .buy, price: "20000", quantity: "0.2")
        let bytes = p.ledger.encodeState()
        let restored = try LedgerProcessor(state: bytes)
        #expect(restored.encodeState() == bytes)
        #expect(restored.stateHash() == p.ledger.stateHash())
        #expect(restored.awaitingFirstReport == p.ledger.awaitingFirstReport)
        #expect(throws: (any Error).self) { try LedgerProcessor(state: Array(bytes.dropLast(3))) }
        #expect(throws: (any Error).self) { try LedgerProcessor(state: [0, 1, 2, 3]) }
    }

    @Test func aRestartedPlannerRewritesTheProjectionsFromState() throws {
        var p = Self.funded()
        p.place(1, 900, .buy, price: "20000", quantity: "0.5")
        var fresh = LedgerSideEffects(instance: "ledger-test", auditIntervalMs: 0)
        var model = RedisModel()
        model.apply(fresh.plan(durable: [], processors: [p.ledger], nowMs: 0))
        #expect(model.hashes == p.redis.hashes.filter { $0.key.hasPrefix("balances:") })
        // The same account settings (the rebuilt record has no operator and time: those are the change's).
        var rebuilt = try Exchange_V1_AccountAdmin(serializedBytes: try #require(model.strings[RedisNames.account(userID: 1)]))
        var live = try Exchange_V1_AccountAdmin(serializedBytes: try #require(p.redis.strings[RedisNames.account(userID: 1)]))
        live.operator = ""
        live.time = 0
        rebuilt.time = 0
        #expect(rebuilt == live)
        let audit = try #require(model.strings[LedgerSideEffects.auditKey(instance: "ledger-test")])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(audit)) as? [String: Any])
        #expect(json["clean"] as? Bool == true)
        #expect(json["driftTotal"] as? String == "0")
    }
}

extension LedgerProcessorTests {
    /// A MARKET SELL by quoteOrderQty worth more than the user's base sells only what was reserved
    /// (the whole free base) and expires; its settlement never needs more than the lock.
    @Test func marketSellByQuoteNeverSellsMoreBaseThanReserved() throws {
        var p = Self.funded()
        p.place(1, 1000, .buy, price: "20000", quantity: "0.5")  // 10,000 USDT of bids
        let sell = p.place(2, 1001, .sell, .market, quoteOrderQty: "40000")  // user 2 has only 1 BTC (20,000 worth)
        #expect(sell.last?.envelope.fundedOrder.baseBudget == fx("1"))
        // 0.5 BTC fills against the only bid; the order expires with the rest of its quote unspent.
        #expect(p.balance(2, "BTC") == ("0.50000000", "0.00000000"))
        #expect(p.balance(2, "USDT") == ("9990.00000000", "0.00000000"))
        p.place(1, 1002, .buy, price: "19000", quantity: "0.52")  // bids for more than user 2 still owns
        p.place(2, 1003, .sell, .market, quoteOrderQty: "50000")
        #expect(p.balance(2, "BTC") == ("0.00000000", "0.00000000"))
        #expect(p.ledger.refusedMatchingEvents == 0)
        #expect(p.ledger.ledger.audit().isClean)
    }
}
