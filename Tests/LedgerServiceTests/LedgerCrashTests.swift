import ExchangeProtocol
import ExchangeTestSupport
import Foundation
import LedgerCore
import Logging
import MatchingEngine
import Messaging
import Testing

@testable import LedgerService
@testable import ServiceKit

/// Runs the real `ledger` and `matching` executables against each event-log backend and kills the
/// ledger with SIGKILL at random moments while accounts, deposits, orders and cancels stream in
/// (also while it is still recovering). Afterwards, from the ledger's final state:
/// - the audit is clean: zero drift per asset, no negative balance, every locked balance equal
///   to what the open orders hold;
/// - every user's total (free + locked) per asset equals their deposits plus the effect of every
///   trade on `matching.events` (each settled exactly once, commission exact);
/// - every deposit was credited once (external account = minus the deposits);
/// - the orders the ledger holds open are exactly those matching last reported open;
/// - the Redis balance projection equals the state; every request was answered.
@Suite("ledger service: kill -9 and restart", .serialized)
struct LedgerCrashTests {
    static let routerChannel = RedisNames.replyChannel(instance: "ledger-crash-router")
    static let users: [UInt64] = Array(1...12)
    static let unit: Int64 = 100_000_000

    @Test(arguments: BackendKind.allCases)
    func killNineAtRandomMomentsKeepsTheBooksBalanced(_ backend: BackendKind) async throws {
        let ledgerBinary = try builtExecutable("ledger")
        let matchingBinary = try builtExecutable("matching")
        let catalogPath = repositoryRoot.appendingPathComponent("deploy/symbols.json").path
        let redis = try await RedisTestServer.start()
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-crash-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let testLog = try await ServiceTestLog(backend, redis: redis)
        let log = testLog.log
        let eventLogURL = testLog.url
        try await log.createTopics(Topics.all.map { TopicSpec(name: $0.name, partitions: $0.defaultPartitions) })
        let replies = ReplyCollector(configuration: redis.configuration, channel: Self.routerChannel)
        #expect(try await replies.waitUntilSubscribed(redis.configuration), "reply channel subscription never came up")

        func service(_ binary: String, _ name: String) -> ChildService {
            ChildService(
                executable: binary,
                arguments: [
                    "--event-log", eventLogURL, "--redis", "redis://127.0.0.1:\(redis.port)", "--data-dir", dataDir,
                    "--instance", name, "--admin-port", "0", "--symbols", catalogPath,
                    "--snapshot-every", "300", "--snapshot-interval-ms", "500", "--log-level", "warning",
                ],
                environment: ["EXCHANGE_KAFKA_PROPERTIES": "session.timeout.ms=4000,heartbeat.interval.ms=100,topic.metadata.refresh.interval.ms=1000"],
                logFile: "\(dataDir)-\(name).log")
        }
        let matching = service(matchingBinary, "matching-lc")
        let ledger = service(ledgerBinary, "ledger-lc")
        try matching.start()
        try ledger.start()

        var rng = SplitMix64(seed: backend == .redis ? 0x1ED6E5 : 0xB00C5)
        let requests = Self.workload(orders: 1_500, rng: &rng)
        let producer = try await log.makeProducer()
        let chunks = 6
        let chunkSize = (requests.count + chunks - 1) / chunks
        var kills = 0
        for chunk in 0..<chunks {
            let slice = requests[(chunk * chunkSize)..<min(requests.count, (chunk + 1) * chunkSize)]
            _ = try await producer.send(slice.map { OutgoingRecord(topic: Topics.ordersRequests.name, key: $0.key, value: EnvelopeCodec.encode($0.envelope)) })
            if chunk == chunks - 1 { break }
            // Kill while the chunk is being applied, or (sometimes) right after a restart.
            try await Task.sleep(for: .milliseconds(Int64(rng.chance(25) ? rng.int(1...40) : rng.int(150...900))))
            await ledger.kill()
            kills += 1
            try ledger.start()
        }
        await producer.close()

        // Every request is answered: the ledger answers administration and its rejections,
        // matching answers funded orders and cancels.
        let requestIDs = Set(requests.map(\.envelope.requestID))
        let answered = await replies.waitFor(requestIDs, within: .seconds(90))
        #expect(answered.isSuperset(of: requestIDs), "requests without an outcome: \(requestIDs.subtracting(answered).count)")
        replies.close()

        // Everything matching emitted, to compare the ledger with.
        let events = try await Self.readAll(log, topic: Topics.matchingEvents.name)
        // The ledger has caught up once every partition's snapshot position reaches the end of
        // its input (orders.requests, where matching also writes each user's reports and trades).
        let inputs = try await Self.partitions(log, [Topics.ordersRequests.name])
        let ends = try await log.endOffsets(inputs)
        var processors: [LedgerProcessor]?
        for _ in 0..<30 {
            #expect(await ledger.stop() == 0, "ledger did not stop cleanly; log: \(dataDir)-ledger-lc.log")
            var restored: [LedgerProcessor] = []
            var caughtUp = true
            for partition in inputs {
                let store = SnapshotStore(directory: "\(dataDir)/snapshots/ledger/\(partition.topic)-\(partition.partition)")
                guard let snapshot = try store.loadNewest() else {
                    caughtUp = caughtUp && ends[partition, default: 0] == 0
                    continue
                }
                let state = try ConsumerLoop<LedgerProcessor>.restore(from: snapshot, logger: Logger(label: "test"))
                caughtUp = caughtUp && state.positions[partition, default: 0] >= ends[partition, default: 0]
                restored.append(state.processor)
            }
            if caughtUp {
                processors = restored
                break
            }
            try ledger.start()
            try await Task.sleep(for: .seconds(1))
        }
        _ = await matching.stop()
        let partitionStates = try #require(processors, "the ledger never caught up with its inputs")
        let ledgerState = MergedLedger(partitions: partitionStates.map(\.ledger))

        let audit = LedgerSideEffects.audit(partitionStates)
        #expect(audit.isClean, "audit findings: \(audit.findings.prefix(5))")
        #expect(audit.drift.values.allSatisfy { $0 == 0 })
        #expect(audit.assets.allSatisfy { $0.clearing == 0 }, "every trade's two sides settled")
        #expect(partitionStates.allSatisfy { $0.refusedMatchingEvents == 0 })

        // Totals per user and asset: deposits plus every trade, each once.
        var expected: [UInt64: [String: Int64]] = [:]
        for request in requests {
            if case .deposit(let d) = request.envelope.payload, request.envelope.requestID != "dep-replay",
               d.confirmations >= 30 || d.asset == "USDT" {
                expected[d.userID, default: [:]][d.asset, default: 0] += d.amount
            }
        }
        let deposited = expected
        var lastReport: [UInt64: Exchange_V1_OrderUpdate] = [:]
        var trades = 0
        for envelope in events {
            switch envelope.payload {
            case .trade(let t):
                trades += 1
                expected[t.buyerUserID, default: [:]][t.baseAsset, default: 0] += t.quantity - t.buyerCommission
                expected[t.buyerUserID, default: [:]][t.quoteAsset, default: 0] -= t.quoteQuantity
                expected[t.sellerUserID, default: [:]][t.baseAsset, default: 0] -= t.quantity
                expected[t.sellerUserID, default: [:]][t.quoteAsset, default: 0] += t.quoteQuantity - t.sellerCommission
            case .orderUpdate(let u):
                lastReport[u.orderID] = u
            default:
                continue
            }
        }
        for user in Self.users {
            for asset in ["BTC", "ETH", "USDT"] {
                let b = ledgerState.balance(userID: user, asset: asset)
                #expect(b.free + b.locked == expected[user]?[asset] ?? 0, "user \(user) \(asset)")
            }
        }
        for asset in ["BTC", "USDT"] {
            let total = Self.users.reduce(Int64(0)) { $0 + (deposited[$1]?[asset] ?? 0) }
            #expect(ledgerState.external(asset: asset) == -total, "\(asset) deposits credited once")
        }
        for (orderID, report) in lastReport {
            let open = !LedgerSideEffects.isTerminal(report)
            #expect((ledgerState.openOrder(orderID) != nil) == open, "order \(orderID): matching says \(report.status), ledger disagrees")
        }

        // The projection the router reads equals the state.
        let client = RedisClient(configuration: redis.configuration)
        let balances = ledgerState.allBalances()
        for user in Self.users {
            let reply = try await client.send(["HGETALL", .string(RedisNames.balances(userID: user))])
            var projected: [String: (Int64, Int64)] = [:]
            if case .array(let items) = reply {
                var index = 0
                while index + 1 < items.count {
                    if case .bulk(let field) = items[index], case .bulk(let value) = items[index + 1] {
                        let balance = try Exchange_V1_AssetBalance(serializedBytes: value)
                        projected[String(decoding: field, as: UTF8.self)] = (balance.free, balance.locked)
                    }
                    index += 2
                }
            }
            let stateBalances = balances[user] ?? []
            #expect(projected.count == stateBalances.count, "user \(user): projected \(projected.keys.sorted())")
            for b in stateBalances {
                #expect(projected[b.asset].map { $0 == (b.free, b.locked) } == true, "user \(user) \(b.asset) projection")
            }
        }
        await client.close()

        print("ledger crash test [\(backend)]: \(requests.count) requests, \(kills) kills, \(trades) trades, \(ledgerState.openOrderCount) open orders, \(partitionStates.count) partitions")
        #expect(kills == chunks - 1)
        #expect(trades > 100, "the workload should trade")
        await testLog.shutdown()
        await redis.teardown()
        for name in ["ledger-lc", "matching-lc"] { try? FileManager.default.removeItem(atPath: "\(dataDir)-\(name).log") }
    }

    // MARK: Workload

    /// Accounts and deposits (one replayed txid, one below its confirmations), then LIMIT GTC/IOC
    /// and MARKET orders on BTCUSDT and ETHUSDT around a fixed mid, some beyond the balance,
    /// and cancels, from twelve users.
    static func workload(orders: Int, rng: inout SplitMix64) -> [(key: String, envelope: Exchange_V1_Envelope)] {
        var out: [(key: String, envelope: Exchange_V1_Envelope)] = []
        var time: Int64 = 1_763_000_000_000
        func add(_ user: UInt64, _ payload: Exchange_V1_Envelope.OneOf_Payload, _ id: String) {
            time += 1
            out.append((String(user), Exchange_V1_Envelope(payload: payload, requestID: id, replyTo: routerChannel,
                                                           createdAtMs: time, emittedAtMs: time)))
        }
        for user in users {
            add(user, .accountAdmin(Exchange_V1_AccountAdmin.with {
                $0.userID = user
                $0.action = .create
                $0.canTrade = true
                $0.canWithdraw = true
                $0.canDeposit = true
            }), "acct-\(user)")
            for (asset, amount) in [("USDT", 50_000 * unit), ("BTC", 5 * unit), ("ETH", 40 * unit)] {
                add(user, .deposit(Exchange_V1_Deposit.with {
                    $0.userID = user
                    $0.asset = asset
                    $0.amount = amount
                    $0.txid = "tx-\(user)-\(asset)"
                    // ETH stays pending (12 needed): never credited.
                    $0.confirmations = asset == "ETH" ? 3 : 30
                }), "dep-\(user)-\(asset)")
            }
        }
        // A replayed txid: rejected, credited once.
        add(1, .deposit(Exchange_V1_Deposit.with {
            $0.userID = 1
            $0.asset = "BTC"
            $0.amount = 5 * unit
            $0.txid = "tx-1-BTC"
            $0.confirmations = 31
        }), "dep-replay")
        var placed: [(orderID: UInt64, user: UInt64, symbol: String)] = []
        for i in 0..<orders {
            let user = rng.pick(users)
            let symbol = rng.chance(70) ? "BTCUSDT" : "ETHUSDT"
            let mid: Int64 = symbol == "BTCUSDT" ? 20_000 : 1_500
            let roll = rng.below(100)
            if roll < 15, !placed.isEmpty {
                let target = placed[rng.below(placed.count)]
                add(target.user, .cancelOrder(Exchange_V1_CancelOrder.with {
                    $0.userID = target.user
                    $0.symbol = target.symbol
                    $0.orderID = target.orderID
                }), "cancel-\(i)")
                continue
            }
            var order = Exchange_V1_PlaceOrder()
            order.userID = user
            order.symbol = symbol
            order.orderID = UInt64(10_000 + i)
            order.clientOrderID = "c\(i)"
            order.side = rng.chance(50) ? .buy : .sell
            // Sometimes far beyond the balance: rejected with -2010.
            order.quantity = (roll < 20 ? 1_000 : rng.int(1...20)) * unit / 100
            if roll < 27 {
                order.type = .market
            } else {
                order.type = .limit
                order.timeInForce = roll < 35 ? .ioc : .gtc
                let offset = rng.int(-5...5) * mid / 1000
                order.price = (mid + (order.side == .buy ? -mid / 500 : mid / 500) + offset) * unit
            }
            placed.append((order.orderID, user, symbol))
            add(user, .placeOrder(order), "place-\(i)")
        }
        return out
    }

    /// The partitions' ledgers read as one (each user lives in one partition).
    struct MergedLedger {
        var partitions: [Ledger]
        func balance(userID: UInt64, asset: String) -> (free: Int64, locked: Int64) {
            partitions.reduce((Int64(0), Int64(0))) {
                let b = $1.balance(userID: userID, asset: asset)
                return ($0.0 + b.free, $0.1 + b.locked)
            }
        }
        func external(asset: String) -> Int64 { partitions.reduce(0) { $0 + $1.external(asset: asset) } }
        func openOrder(_ id: UInt64) -> (asset: String, locked: Int64, filled: Int64)? {
            partitions.lazy.compactMap { $0.openOrder(id) }.first
        }
        var openOrderCount: Int { partitions.reduce(0) { $0 + $1.openOrderCount } }
        func allBalances() -> [UInt64: [(asset: String, free: Int64, locked: Int64)]] {
            partitions.reduce(into: [:]) { merged, ledger in merged.merge(ledger.allBalances()) { $0 + $1 } }
        }
    }

    static func partitions(_ log: any EventLog, _ topics: [String]) async throws -> [TopicPartition] {
        var out: [TopicPartition] = []
        for topic in topics {
            for p in 0..<(try await log.partitionCount(of: topic)) { out.append(TopicPartition(topic, p)) }
        }
        return out
    }

    /// Every record of a topic, first occurrence per event id (bounded: 60 s).
    static func readAll(_ log: any EventLog, topic: String) async throws -> [Exchange_V1_Envelope] {
        let partitions = try await partitions(log, [topic])
        let ends = try await log.endOffsets(partitions)
        let total = ends.values.reduce(0, +)
        let reader = try await log.makeConsumer(ConsumerConfiguration(
            groupID: "ledger-crash-reader-\(UUID().uuidString)", topics: [topic], partitions: .explicit(partitions)))
        var seen = Set<String>()
        var out: [Exchange_V1_Envelope] = []
        var read: Int64 = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while read < total && ContinuousClock.now < deadline {
            for record in try await reader.poll(maxRecords: 1000, timeout: .milliseconds(200)) {
                read += 1
                guard let envelope = try? EnvelopeCodec.decode(record.value) else { continue }
                let id = envelope.eventID
                guard seen.insert("\(id.sourceTopic)/\(id.sourcePartition)/\(id.sourceOffset)/\(id.index)").inserted else { continue }
                out.append(envelope)
            }
        }
        await reader.close()
        return out
    }
}
