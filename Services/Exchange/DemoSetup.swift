import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Logging
import Messaging
import ServiceKit

/// `exchange up --demo`: two users (ids 1 and 2) with accounts, an HMAC API key each (read and
/// trade) and deposits of 100,000 USDT, 10 BTC, 100 ETH and 1,000 BNB, appended to `orders.requests` like
/// `exchange admin` does; the keys and secrets go to `demo-credentials.json` in the data dir.
/// Runs once per data dir: with the file present, nothing is appended again. The file is written
/// once the ledger has projected the users (account, API key, every deposit's balance), so a
/// client that reads it can trade at once.
struct DemoSetup: Sendable {
    let dataDir: String
    let master: MasterKey
    /// The Redis the ledger projects into.
    let redis: RedisEndpoint
    /// How long to wait for the projections before writing the file anyway (with a warning).
    static let projectionTimeout: Duration = .seconds(60)

    static let users: [UInt64] = [1, 2]
    static let deposits: [(asset: String, amount: String)] = [("USDT", "100000"), ("BTC", "10"), ("ETH", "100"), ("BNB", "1000")]

    func prepare(log: any EventLog, logger: Logger) async throws -> String {
        let path = "\(dataDir)/demo-credentials.json"
        if FileManager.default.fileExists(atPath: path) { return path }
        var records: [OutgoingRecord] = []
        var credentials: [[String: Any]] = []
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        func append(_ user: UInt64, _ payload: Exchange_V1_Envelope.OneOf_Payload) {
            let envelope = Exchange_V1_Envelope(
                payload: payload, requestID: "demo-\(UUID().uuidString)", createdAtMs: now, emittedAtMs: now, producer: "exchange-up")
            records.append(OutgoingRecord(topic: Topics.ordersRequests.name, key: String(user), value: EnvelopeCodec.encode(envelope)))
        }
        for user in Self.users {
            append(user, .accountAdmin(Exchange_V1_AccountAdmin.with {
                $0.userID = user
                $0.action = .create
                $0.canTrade = true
                $0.canWithdraw = true
                $0.canDeposit = true
                $0.accountType = "SPOT"
                $0.operator = "demo"
            }))
            let apiKey = AdminApiKeyCommand.randomToken()
            let secret = AdminApiKeyCommand.randomToken()
            let sealed = try SecretBox.seal(Array(secret.utf8), apiKey: apiKey, with: master)
            append(user, .apiKeyAdmin(Exchange_V1_ApiKeyAdmin.with {
                $0.userID = user
                $0.action = .create
                $0.apiKey = apiKey
                $0.keyType = .hmac
                $0.encryptedSecret = Data(sealed)
                $0.permitRead = true
                $0.permitTrade = true
                $0.label = "demo"
                $0.operator = "demo"
            }))
            for deposit in Self.deposits {
                append(user, .deposit(Exchange_V1_Deposit.with {
                    $0.userID = user
                    $0.asset = deposit.asset
                    $0.amount = Fixed8(deposit.amount)!.raw
                    $0.txid = "demo-\(user)-\(deposit.asset)"
                    $0.confirmations = 100
                }))
            }
            credentials.append(["userId": user, "apiKey": apiKey, "secretKey": secret])
        }
        let producer = try await log.makeProducer()
        _ = try await producer.send(records)
        await producer.close()
        if !(await projected(apiKeys: credentials.compactMap { $0["apiKey"] as? String })) {
            logger.warning("demo users not visible in the ledger's projections after \(Self.projectionTimeout); writing the credentials anyway")
        }
        let data = try JSONSerialization.data(withJSONObject: ["users": credentials], options: [.prettyPrinted, .sortedKeys])
        FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
        return path
    }

    /// Polls Redis until every demo user's account, API key and deposit balances are projected.
    private func projected(apiKeys: [String]) async -> Bool {
        let client = RedisClient(configuration: RedisConfiguration(host: redis.host, port: redis.port), label: "demo-setup")
        // Each check and the least integer reply that passes it.
        var checks: [(command: [RedisArgument], atLeast: Int64)] = []
        for user in Self.users {
            checks.append((["EXISTS", .string(RedisNames.account(userID: user))], 1))
            checks.append((["HLEN", .string(RedisNames.balances(userID: user))], Int64(Self.deposits.count)))
        }
        for key in apiKeys { checks.append((["EXISTS", .string(RedisNames.apiKey(key))], 1)) }
        let deadline = ContinuousClock.now + Self.projectionTimeout
        while ContinuousClock.now < deadline {
            if let replies = try? await client.pipeline(checks.map(\.command)) {
                let ready = zip(replies, checks).allSatisfy { reply, check in
                    if case .integer(let n) = reply { return n >= check.atLeast }
                    return false
                }
                if ready {
                    await client.close()
                    return true
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        await client.close()
        return false
    }
}
