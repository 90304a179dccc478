import ArgumentParser
import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Messaging
import ServiceKit
import Synchronization

/// Where the admin commands reach the stack, and who is acting.
struct AdminConnection: ParsableArguments {
    @Option(help: "Event log: redis://HOST:PORT or kafka://HOST:PORT (EXCHANGE_EVENT_LOG).")
    var eventLog: String = ProcessInfo.processInfo.environment["EXCHANGE_EVENT_LOG"] ?? "redis://127.0.0.1:\(DefaultPorts.eventLogRedis)"

    @Option(help: "Redis for the ledger's answer and projections (EXCHANGE_REDIS).")
    var redis: String = ProcessInfo.processInfo.environment["EXCHANGE_REDIS"] ?? "redis://127.0.0.1:\(DefaultPorts.projectionsRedis)"

    @Option(name: .customLong("operator"), help: "Operator name recorded with the change (default $USER).")
    var operatorName: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    @Option(help: "Seconds to wait for the ledger's answer.")
    var timeout: Int = 10

    var redisConfiguration: RedisConfiguration {
        get throws {
            guard let endpoint = RedisEndpoint(redis) else { throw ValidationError("bad --redis \(redis)") }
            return RedisConfiguration(host: endpoint.host, port: endpoint.port)
        }
    }

    /// Appends `payload` to `orders.requests` (keyed by `user`, or once per partition when
    /// `everyPartition`: operator settings each ledger partition keeps), waits for the ledger's
    /// answer on a private reply channel, prints the answer's records as JSON lines and fails
    /// when the ledger refused.
    func request(_ payload: Exchange_V1_Envelope.OneOf_Payload, user: UInt64, everyPartition: Bool = false) async throws {
        guard let endpoint = EventLogEndpoint(eventLog) else { throw ValidationError("bad --event-log \(eventLog)") }
        LoggingSetup.bootstrap(format: .text, level: .warning)
        let redisConfiguration = try self.redisConfiguration
        let log = try await EventLogFactory.connect(endpoint, logger: .init(label: "exchange.admin"))
        let channel = RedisNames.replyChannel(instance: "admin-\(UUID().uuidString.prefix(8))")
        let answers = Mutex<[String: Exchange_V1_RequestOutcome]>([:])
        let subscriber = RedisSubscriber(configuration: redisConfiguration, channels: [channel])
        let listening = Task {
            for await message in subscriber {
                if let outcome = try? Exchange_V1_RequestOutcome(fastSerializedBytes: message.payload) {
                    answers.withLock { $0[outcome.requestID] = outcome }
                }
            }
        }
        defer {
            subscriber.close()
            listening.cancel()
        }
        // Subscribed once a probe comes back (an answer published before would be missed).
        let client = RedisClient(configuration: redisConfiguration)
        var probe = Exchange_V1_RequestOutcome()
        probe.requestID = "probe"
        let probeEnd = ContinuousClock.now + .seconds(5)
        while answers.withLock({ $0["probe"] == nil }) && ContinuousClock.now < probeEnd {
            _ = try await client.send(["PUBLISH", .string(channel), .bytes(EnvelopeCodec.encode(message: probe))])
            try await Task.sleep(for: .milliseconds(50))
        }
        await client.close()

        let partitions = try await log.partitionCount(of: Topics.ordersRequests.name)
        let keys = everyPartition ? Self.keysCoveringPartitions(partitions) : [String(user)]
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let requests = keys.map { key in
            (key: key, envelope: Exchange_V1_Envelope(
                payload: payload, requestID: "admin-\(UUID().uuidString)", replyTo: channel, createdAtMs: now, emittedAtMs: now,
                producer: "exchange-admin"))
        }
        let producer = try await log.makeProducer()
        _ = try await producer.send(requests.map {
            OutgoingRecord(topic: Topics.ordersRequests.name, key: $0.key, value: EnvelopeCodec.encode($0.envelope))
        })
        await producer.close()
        await log.shutdown()

        let wanted = Set(requests.map(\.envelope.requestID))
        let end = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < end, !answers.withLock({ Set($0.keys).isSuperset(of: wanted) }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let received = answers.withLock { $0 }
        var refused = false
        var printed = Set<String>()
        for request in requests {
            guard let outcome = received[request.envelope.requestID] else {
                throw AdminError("no answer from the ledger within \(timeout) s (request \(request.envelope.requestID) is in the log and will still be applied)")
            }
            for event in outcome.events {
                if case .adminRejected = event.payload { refused = true }
                if case .orderRejected = event.payload { refused = true }
                var shown = event
                shown.eventID = Exchange_V1_EventID()
                shown.requestID = ""
                shown.replyTo = ""
                shown.producer = ""
                shown.emittedAtMs = 0
                shown.createdAtMs = 0
                let line = (try? shown.jsonString()) ?? "{}"
                if printed.insert(line).inserted { print(line) }  // once per distinct answer
            }
        }
        if refused { throw ExitCode(1) }
    }

    /// One key per partition of `orders.requests` (the smallest "operator-N" that lands there).
    static func keysCoveringPartitions(_ count: Int32) -> [String] {
        var keys = [String?](repeating: nil, count: Int(count))
        var n = 0
        while keys.contains(where: { $0 == nil }) {
            let key = "operator-\(n)"
            let partition = Int(Topics.ordersRequests.partition(for: key, partitionCount: count))
            if keys[partition] == nil { keys[partition] = key }
            n += 1
        }
        return keys.map { $0! }
    }
}

struct AdminError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A Fixed8 decimal option ("0.001", "1500").
func fixed8(_ text: String, _ name: String) throws -> Int64 {
    guard let value = Fixed8(text) else { throw ValidationError("\(name): not a decimal with at most 8 places: \(text)") }
    return value.raw
}

// MARK: Accounts

struct AdminAccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account", abstract: "Create accounts, freeze/unfreeze them, set their commission.",
        subcommands: [Create.self, Permissions.self, Commission.self])

    /// An account record with its three flags.
    static func flags(
        _ user: UInt64, _ action: Exchange_V1_AccountAction, trade: Bool, withdraw: Bool, deposit: Bool, by connection: AdminConnection
    ) -> Exchange_V1_AccountAdmin {
        Exchange_V1_AccountAdmin.with {
            $0.userID = user
            $0.action = action
            $0.canTrade = trade
            $0.canWithdraw = withdraw
            $0.canDeposit = deposit
            $0.accountType = "SPOT"
            $0.operator = connection.operatorName
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account (all permissions on unless turned off).")
        @OptionGroup var connection: AdminConnection
        @Option(help: "User id (> 0).") var user: UInt64
        @Flag(help: "Create it unable to trade.") var noTrade = false
        @Flag(help: "Create it unable to withdraw.") var noWithdraw = false
        @Flag(help: "Create it unable to deposit.") var noDeposit = false

        func run() async throws {
            try await connection.request(.accountAdmin(AdminAccountCommand.flags(
                user, .create, trade: !noTrade, withdraw: !noWithdraw, deposit: !noDeposit, by: connection)), user: user)
        }
    }

    struct Permissions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set canTrade/canWithdraw/canDeposit (freeze: all false).")
        @OptionGroup var connection: AdminConnection
        @Option(help: "User id.") var user: UInt64
        @Option(help: "true/false") var canTrade: Bool
        @Option(help: "true/false") var canWithdraw: Bool
        @Option(help: "true/false") var canDeposit: Bool

        func run() async throws {
            try await connection.request(.accountAdmin(AdminAccountCommand.flags(
                user, .setPermissions, trade: canTrade, withdraw: canWithdraw, deposit: canDeposit, by: connection)), user: user)
        }
    }

    struct Commission: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Standard rates, a tier, or explicit maker/taker rates (fractions: 0.001 = 0.1%).")
        @OptionGroup var connection: AdminConnection
        @Option(help: "User id.") var user: UInt64
        @Flag(help: "The ledger's default rates (0.1%/0.1%).") var standard = false
        @Option(help: "A commission tier's name.") var tier: String?
        @Option(help: "Maker rate, e.g. 0.00075.") var maker: String?
        @Option(help: "Taker rate, e.g. 0.001.") var taker: String?

        func validate() throws {
            let choices = [standard, tier != nil, maker != nil || taker != nil].filter { $0 }.count
            guard choices == 1 else { throw ValidationError("give exactly one of --standard, --tier, or --maker with --taker") }
            if maker != nil || taker != nil, maker == nil || taker == nil { throw ValidationError("--maker and --taker go together") }
        }

        func run() async throws {
            let makerRate = try maker.map { try fixed8($0, "--maker") } ?? 0
            let takerRate = try taker.map { try fixed8($0, "--taker") } ?? 0
            try await connection.request(.accountAdmin(Exchange_V1_AccountAdmin.with {
                $0.userID = user
                $0.action = .setCommission
                $0.commissionTier = standard ? "standard" : (tier ?? "")
                $0.makerCommissionRate = makerRate
                $0.takerCommissionRate = takerRate
                $0.operator = connection.operatorName
            }), user: user)
        }
    }
}

// MARK: API keys

struct AdminApiKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey", abstract: "Create, update and delete API keys (HMAC secrets sealed with the master key).",
        subcommands: [Create.self, Update.self, Delete.self])

    static func permissions(_ text: String) throws -> (read: Bool, trade: Bool, withdraw: Bool) {
        let names = Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        guard names.isSubset(of: ["read", "trade", "withdraw"]) else {
            throw ValidationError("--permissions: a comma list of read, trade, withdraw")
        }
        return (names.contains("read"), names.contains("trade"), names.contains("withdraw"))
    }

    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// 64 characters of [A-Za-z0-9], like Binance's keys and secrets.
    static func randomToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<64).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; prints the HMAC secret once (it is stored sealed).")
        @OptionGroup var connection: AdminConnection
        @Option(help: "User id.") var user: UInt64
        @Option(help: "hmac, ed25519 or rsa.") var type: String = "hmac"
        @Option(help: "Ed25519/RSA: the public key PEM file.") var publicKey: String?
        @Option(help: "Comma list of read, trade, withdraw.") var permissions: String = "read,trade"
        @Option(help: "Comma list of allowed client IPs (empty: any).") var ip: String?
        @Option(help: "A label.") var label: String = ""
        @Option(help: "Use this key name instead of a random one.") var apiKey: String?

        func run() async throws {
            let permits = try AdminApiKeyCommand.permissions(permissions)
            let key = apiKey ?? AdminApiKeyCommand.randomToken()
            var record = Exchange_V1_ApiKeyAdmin.with {
                $0.userID = user
                $0.action = .create
                $0.apiKey = key
                $0.permitRead = permits.read
                $0.permitTrade = permits.trade
                $0.permitWithdraw = permits.withdraw
                $0.ipAllowlist = AdminApiKeyCommand.list(ip)
                $0.label = label
                $0.operator = connection.operatorName
            }
            var secret: String?
            switch type.lowercased() {
            case "hmac":
                guard let master = try MasterKey.fromEnvironment() else {
                    throw ValidationError("HMAC keys need the master key: set EXCHANGE_MASTER_KEY (64 hex digits) or EXCHANGE_MASTER_KEY_FILE")
                }
                let plain = AdminApiKeyCommand.randomToken()
                record.keyType = .hmac
                record.encryptedSecret = Data(try SecretBox.seal(Array(plain.utf8), apiKey: key, with: master))
                secret = plain
            case "ed25519", "rsa":
                guard let path = publicKey, let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ValidationError("--public-key PEMFILE is required for \(type) keys")
                }
                record.keyType = type.lowercased() == "rsa" ? .rsa : .ed25519
                record.publicKeyPem = pem
            default:
                throw ValidationError("--type: hmac, ed25519 or rsa")
            }
            try await connection.request(.apiKeyAdmin(record), user: user)
            if let secret {
                print("{\"apiKey\":\"\(key)\",\"secretKey\":\"\(secret)\"}")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a key's permissions, IP allowlist and label.")
        @OptionGroup var connection: AdminConnection
        @Option(help: "User id.") var user: UInt64
        @Option(help: "The API key.") var apiKey: String
        @Option(help: "Comma list of read, trade, withdraw.") var permissions: String
        @Option(help: "Comma list of allowed client IPs (empty: any).") var ip: String?
        @Option(help: "A label.") var label: String = ""

        func run() async throws {
            let permits = try AdminApiKeyCommand.permissions(permissions)
            try await connection.request(.apiKeyAdmin(Exchange_V1_ApiKeyAdmin.with {
                $0.userID = user
                $0.action = .update
                $0.apiKey = apiKey
                $0.permitRead = permits.read
                $0.permitTrade = permits.trade
                $0.permitWithdraw = permits.withdraw
                $0.ipAllowlist = AdminApiKeyCommand.list(ip)
                $0.label = label
                $0.operator = connection.operatorName
            }), user: user)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key.")
        @OptionGroup var connection: AdminConnection
        @Option(help: "User id.") var user: UInt64
        @Option(help: "The API key.") var apiKey: String

        func run() async throws {
            try await connection.request(.apiKeyAdmin(Exchange_V1_ApiKeyAdmin.with {
                $0.userID = user
                $0.action = .delete
                $0.apiKey = apiKey
                $0.operator = connection.operatorName
            }), user: user)
        }
    }
}

// MARK: Funding

struct AdminDepositCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deposit",
        abstract: "Record a deposit seen on chain; credited once its confirmations reach the asset's threshold (idempotent on txid).")
    @OptionGroup var connection: AdminConnection
    @Option(help: "User id.") var user: UInt64
    @Option(help: "Asset, e.g. BTC.") var asset: String
    @Option(help: "Amount, e.g. 0.5.") var amount: String
    @Option(help: "Chain transaction id.") var txid: String
    @Option(help: "Confirmations seen so far.") var confirmations: Int32
    @Option(help: "Network.") var network: String = ""
    @Option(help: "Deposit address.") var address: String = ""

    func run() async throws {
        let raw = try fixed8(amount, "--amount")
        try await connection.request(.deposit(Exchange_V1_Deposit.with {
            $0.userID = user
            $0.asset = asset
            $0.amount = raw
            $0.txid = txid
            $0.confirmations = confirmations
            $0.network = network
            $0.address = address
        }), user: user)
    }
}

struct AdminWithdrawCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "A withdrawal's steps: request (locks amount + fee), approve (two operators above the asset's threshold), complete, fail (returns the funds).")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "request, approve, complete or fail.") var step: String
    @Option(help: "User id.") var user: UInt64
    @Option(help: "Withdrawal id.") var id: String
    @Option(help: "request: asset.") var asset: String = ""
    @Option(help: "request: amount.") var amount: String = "0"
    @Option(help: "request: fee.") var fee: String = "0"
    @Option(help: "request: destination address.") var address: String = ""
    @Option(help: "complete: chain transaction id.") var txid: String = ""
    @Option(help: "fail: reason.") var reason: String = ""

    func run() async throws {
        let action: Exchange_V1_WithdrawalAction
        switch step {
        case "request": action = .request
        case "approve": action = .approve
        case "complete": action = .complete
        case "fail": action = .fail
        default: throw ValidationError("step: request, approve, complete or fail")
        }
        let rawAmount = try fixed8(amount, "--amount")
        let rawFee = try fixed8(fee, "--fee")
        try await connection.request(.withdrawal(Exchange_V1_Withdrawal.with {
            $0.userID = user
            $0.withdrawalID = id
            $0.action = action
            $0.asset = asset
            $0.amount = rawAmount
            $0.fee = rawFee
            $0.address = address
            $0.operator = connection.operatorName
            $0.txid = txid
            $0.reason = reason
        }), user: user)
    }
}

// MARK: Settings

struct AdminAssetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asset", abstract: "Set an asset's deposit confirmations, dual-approval threshold and MARKET BUY budget cap.")
    @OptionGroup var connection: AdminConnection
    @Option(help: "Asset, e.g. BTC.") var asset: String
    @Option(help: "Confirmations to credit a deposit.") var confirmations: Int32?
    @Option(help: "Withdrawals above this amount need two approvers.") var dualApprovalAbove: String?
    @Option(help: "MARKET BUY by quantity reserves at most this much of the asset.") var marketBuyCap: String?

    func run() async throws {
        let dual = try dualApprovalAbove.map { try fixed8($0, "--dual-approval-above") }
        let cap = try marketBuyCap.map { try fixed8($0, "--market-buy-cap") }
        var settings = Exchange_V1_AssetAdmin()
        settings.asset = asset
        if let confirmations { settings.depositConfirmations = confirmations }
        if let dual { settings.dualApprovalAbove = dual }
        if let cap { settings.marketBuyBudgetCap = cap }
        settings.operator = connection.operatorName
        try await connection.request(.assetAdmin(settings), user: 0, everyPartition: true)
    }
}

struct AdminTierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tier", abstract: "Create or change a commission tier (accounts on it follow).")
    @OptionGroup var connection: AdminConnection
    @Option(help: "Tier name.") var name: String
    @Option(help: "Maker rate, e.g. 0.00075.") var maker: String
    @Option(help: "Taker rate, e.g. 0.001.") var taker: String

    func run() async throws {
        let makerRate = try fixed8(maker, "--maker")
        let takerRate = try fixed8(taker, "--taker")
        try await connection.request(.commissionTierAdmin(Exchange_V1_CommissionTierAdmin.with {
            $0.name = name
            $0.makerRate = makerRate
            $0.takerRate = takerRate
            $0.operator = connection.operatorName
        }), user: 0, everyPartition: true)
    }
}

// MARK: Audit and keys

struct AdminAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The ledger instances' latest audits (drift per asset must be 0); exits 1 unless clean.")
    @OptionGroup var connection: AdminConnection

    func run() async throws {
        let client = RedisClient(configuration: try connection.redisConfiguration)
        defer { Task { await client.close() } }
        var instances: [[String: Any]] = []
        if case .array(let keys) = try await client.send(["KEYS", "audit:ledger:*"]) {
            for case .bulk(let key) in keys {
                if case .bulk(let value) = try await client.send(["GET", .bytes(key)]),
                   let object = try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] {
                    instances.append(object)
                }
            }
        }
        var drift: [String: Int64] = [:]
        var clearing: [String: Int64] = [:]
        var clean = !instances.isEmpty
        for instance in instances {
            clean = clean && (instance["clean"] as? Bool ?? false)
            for asset in instance["assets"] as? [[String: Any]] ?? [] {
                guard let name = asset["asset"] as? String else { continue }
                drift[name, default: 0] += Int64(asset["drift"] as? String ?? "0") ?? 0
                clearing[name, default: 0] += Int64(asset["clearing"] as? String ?? "0") ?? 0
            }
        }
        clean = clean && drift.values.allSatisfy { $0 == 0 }
        let report: [String: Any] = [
            "clean": clean, "instances": instances,
            "drift": drift.mapValues { Fixed8(raw: $0).description },
            // Nets to zero once both sides of every trade are settled (momentarily not, mid-flight).
            "clearing": clearing.mapValues { Fixed8(raw: $0).description },
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
        if instances.isEmpty { throw AdminError("no ledger audit in Redis (is a ledger running?)") }
        if !clean { throw ExitCode(1) }
    }
}

struct AdminMasterKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "master-key", abstract: "Print a new random master key (64 hex digits) for EXCHANGE_MASTER_KEY.")
    func run() throws { print(MasterKey.generateHex()) }
}
