import ArgumentParser
import Foundation
import Logging

/// Flags every service takes; each falls back to an `EXCHANGE_*` environment variable, then to
/// the documented default. Flag beats environment beats default.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("event-log"), help: "Event log: redis://HOST:PORT or kafka://HOST:PORT[,...] (EXCHANGE_EVENT_LOG, default redis://127.0.0.1:6379)")
    public var eventLog: String?

    @Option(name: .customLong("redis"), help: "Redis for projections, Pub/Sub, rate limits (EXCHANGE_REDIS, default redis://127.0.0.1:6389; it may be the event log's own)")
    public var redis: String?

    @Option(name: .customLong("admin-host"), help: "Host of /metrics and /health (EXCHANGE_ADMIN_HOST, default 127.0.0.1)")
    public var adminHost: String?

    @Option(name: .customLong("admin-port"), help: "Port of /metrics and /health (EXCHANGE_<SERVICE>_ADMIN_PORT, default per service; 0 picks a free one)")
    public var adminPort: Int?

    @Option(name: .customLong("data-dir"), help: "Snapshots and local state (EXCHANGE_DATA_DIR, default ./.exchange)")
    public var dataDir: String?

    @Option(name: .customLong("instance"), help: "Instance name, unique per running process (EXCHANGE_INSTANCE, default <service>-0)")
    public var instance: String?

    @Option(name: .customLong("snapshot-every"), help: "Snapshot state after this many input records (EXCHANGE_SNAPSHOT_EVERY, default 100000)")
    public var snapshotEvery: Int?

    @Option(name: .customLong("snapshot-interval-ms"), help: "...or this long after the last snapshot, if anything changed (EXCHANGE_SNAPSHOT_INTERVAL_MS, default 10000)")
    public var snapshotIntervalMs: Int?

    @Option(name: .customLong("max-batch"), help: "Input records applied per batch: one durable append (one fsync) per batch (EXCHANGE_MAX_BATCH, default 1000)")
    public var maxBatch: Int?

    @Option(name: .customLong("log-level"), help: "trace|debug|info|notice|warning|error|critical (EXCHANGE_LOG_LEVEL, default info)")
    public var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text|json (EXCHANGE_LOG_FORMAT, default text)")
    public var logFormat: String?

    public init() {}

    /// Resolves flags, environment and defaults into a configuration; throws a usage error for
    /// malformed values.
    public func resolve(
        service: String, defaultAdminPort: Int, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServiceConfiguration {
        func pick(_ flag: String?, _ env: String, _ fallback: String) -> String { flag ?? environment[env] ?? fallback }
        let envPortName = "EXCHANGE_\(service.uppercased().replacingOccurrences(of: "-", with: "_"))_ADMIN_PORT"
        let eventLogText = pick(eventLog, "EXCHANGE_EVENT_LOG", "redis://127.0.0.1:\(DefaultPorts.eventLogRedis)")
        guard let eventLogEndpoint = EventLogEndpoint(eventLogText) else {
            throw ValidationError("bad --event-log \(eventLogText): want redis://HOST:PORT or kafka://HOST:PORT")
        }
        let redisText = pick(redis, "EXCHANGE_REDIS", "redis://127.0.0.1:\(DefaultPorts.projectionsRedis)")
        guard let redisEndpoint = RedisEndpoint(redisText) else { throw ValidationError("bad --redis \(redisText)") }
        let portText = adminPort.map(String.init) ?? environment[envPortName] ?? String(defaultAdminPort)
        guard let port = Int(portText), (0...65535).contains(port) else { throw ValidationError("bad admin port \(portText)") }
        let levelText = pick(logLevel, "EXCHANGE_LOG_LEVEL", "info")
        guard let level = Logger.Level(rawValue: levelText) else { throw ValidationError("bad log level \(levelText)") }
        let formatText = pick(logFormat, "EXCHANGE_LOG_FORMAT", "text")
        guard let format = LogFormat(rawValue: formatText) else { throw ValidationError("bad log format \(formatText)") }
        let everyText = snapshotEvery.map(String.init) ?? environment["EXCHANGE_SNAPSHOT_EVERY"] ?? "100000"
        guard let every = Int(everyText), every > 0 else { throw ValidationError("bad snapshot cadence \(everyText): want a positive record count") }
        let intervalText = snapshotIntervalMs.map(String.init) ?? environment["EXCHANGE_SNAPSHOT_INTERVAL_MS"] ?? "10000"
        guard let interval = Int(intervalText), interval > 0 else { throw ValidationError("bad snapshot interval \(intervalText): want positive milliseconds") }
        let batchText = maxBatch.map(String.init) ?? environment["EXCHANGE_MAX_BATCH"] ?? "1000"
        guard let batch = Int(batchText), batch > 0 else { throw ValidationError("bad max batch \(batchText): want a positive record count") }
        return ServiceConfiguration(
            service: service,
            instance: pick(instance, "EXCHANGE_INSTANCE", "\(service)-0"),
            eventLog: eventLogEndpoint,
            redis: redisEndpoint,
            adminHost: pick(adminHost, "EXCHANGE_ADMIN_HOST", "127.0.0.1"),
            adminPort: port,
            dataDirectory: pick(dataDir, "EXCHANGE_DATA_DIR", "./.exchange"),
            logLevel: level,
            logFormat: format,
            snapshotEveryRecords: every,
            snapshotInterval: .milliseconds(interval),
            maxBatch: batch)
    }
}

/// Everything a service needs to start, resolved from flags and environment.
public struct ServiceConfiguration: Sendable {
    /// `ledger`, `matching`, ...
    public var service: String
    public var instance: String
    public var eventLog: EventLogEndpoint
    public var redis: RedisEndpoint
    public var adminHost: String
    public var adminPort: Int
    public var dataDirectory: String
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// Consumer loops snapshot after this many input records...
    public var snapshotEveryRecords: Int
    /// ...or this long after the last snapshot, whichever comes first.
    public var snapshotInterval: Duration
    /// Input records a consumer loop applies per batch (outputs of a batch go out in one append).
    public var maxBatch: Int

    public init(
        service: String, instance: String, eventLog: EventLogEndpoint, redis: RedisEndpoint, adminHost: String,
        adminPort: Int, dataDirectory: String, logLevel: Logger.Level, logFormat: LogFormat,
        snapshotEveryRecords: Int = 100_000, snapshotInterval: Duration = .seconds(10), maxBatch: Int = 1_000
    ) {
        self.service = service
        self.instance = instance
        self.eventLog = eventLog
        self.redis = redis
        self.adminHost = adminHost
        self.adminPort = adminPort
        self.dataDirectory = dataDirectory
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.snapshotEveryRecords = snapshotEveryRecords
        self.snapshotInterval = snapshotInterval
        self.maxBatch = maxBatch
    }

    /// Where this instance keeps its snapshots.
    public var snapshotDirectory: String { "\(dataDirectory)/snapshots/\(instance)" }
}

/// Default admin ports, one per service, so one machine runs them all side by side.
public enum DefaultPorts {
    /// The event log's Redis (Redis Streams backend, `appendfsync always`).
    public static let eventLogRedis = 6379
    /// The Redis for projections, Pub/Sub and rate limits (a server of its own, so the log's
    /// fsyncs and these writes do not queue behind each other).
    public static let projectionsRedis = 6389
    public static let orderRouterAPI = 8080
    public static let notifierWebSocket = 8090
    public static let marketDataAdmin = 9101
    public static let matchingAdmin = 9102
    public static let ledgerAdmin = 9103
    public static let orderRouterAdmin = 9104
    public static let notifierAdmin = 9105
}
