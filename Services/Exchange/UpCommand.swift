import ArgumentParser
import ExchangeProtocol
import ExchangeSecurity
import Foundation
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle

/// `exchange up`: the whole stack on one machine.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run redis-server and every service on this machine; Ctrl-C stops everything.")

    @Option(help: "Where Redis data, snapshots and logs go.")
    var dataDir: String = "./.exchange"

    @Option(help: "redis (Redis Streams on the managed redis-server) or kafka://HOST:PORT.")
    var eventLog: String = "redis"

    @Option(help: "Added to every default port (Redis 6379 and 6389, REST 8080, WebSocket 8090, admin 9101-9105), to run a second stack beside the first.")
    var portsOffset: Int = 0

    @Option(help: "Directory holding the service executables (default: next to this one).")
    var binDir: String?

    @Flag(help: "Create two funded demo users with HMAC API keys (written to DATA_DIR/demo-credentials.json).")
    var demo = false

    @Option(help: "Symbol catalogue (Binance exchangeInfo symbols plus venue) the services share.")
    var symbols: String = "deploy/symbols.json"

    @Option(help: "Log format of the services: text|json.")
    var logFormat: String = "text"

    @Option(help: "Market data for venue-binance symbols: live (Binance), replay (the recorded capture, served by `exchange replay` on port 9443 + ports offset: offline) or none.")
    var upstream: String = "live"

    @Option(name: .customLong("replay-ws-capture"), help: "Capture `--upstream replay` serves (WebSocket frames).")
    var replayWSCapture: String = "Tests/Fixtures/binance/spot-ws-2021-10-12.txt"

    @Option(name: .customLong("replay-rest-capture"), help: "Capture `--upstream replay` serves (REST snapshots).")
    var replayRESTCapture: String = "Tests/Fixtures/binance/spot-rest-2021-10-12.txt"

    func validate() throws {
        guard ["live", "replay", "none"].contains(upstream) else { throw ValidationError("--upstream live|replay|none") }
    }

    /// The services `up` runs, with their ports shifted by `offset`.
    static func services(offset: Int) -> [ManagedService] {
        [
            ManagedService(name: "market-data", adminPort: DefaultPorts.marketDataAdmin + offset, environment: [:], listens: ""),
            ManagedService(name: "matching", adminPort: DefaultPorts.matchingAdmin + offset, environment: [:], listens: ""),
            ManagedService(name: "ledger", adminPort: DefaultPorts.ledgerAdmin + offset, environment: [:], listens: ""),
            ManagedService(
                name: "order-router", adminPort: DefaultPorts.orderRouterAdmin + offset,
                environment: ["EXCHANGE_API_PORT": String(DefaultPorts.orderRouterAPI + offset)],
                listens: "REST http://127.0.0.1:\(DefaultPorts.orderRouterAPI + offset)"),
            ManagedService(
                name: "notifier", adminPort: DefaultPorts.notifierAdmin + offset,
                environment: ["EXCHANGE_WS_PORT": String(DefaultPorts.notifierWebSocket + offset)],
                listens: "WebSocket ws://127.0.0.1:\(DefaultPorts.notifierWebSocket + offset)"),
        ]
    }

    func run() async throws {
        LoggingSetup.bootstrap(format: .text, level: .info)
        let logger = Logger(label: "exchange.up")
        let dataDir = URL(fileURLWithPath: self.dataDir).standardizedFileURL.path
        let logs = "\(dataDir)/logs"
        try FileManager.default.createDirectory(atPath: "\(dataDir)/redis", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dataDir)/redis-projections", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let binDir = self.binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let services = Self.services(offset: portsOffset)
        let redisPort = DefaultPorts.eventLogRedis + portsOffset
        let projectionsPort = DefaultPorts.projectionsRedis + portsOffset
        for service in services where !FileManager.default.isExecutableFile(atPath: "\(binDir)/\(service.name)") {
            throw ValidationError("missing executable \(binDir)/\(service.name); build with `swift build -c release`")
        }
        guard let redisServer = Self.which("redis-server") else {
            throw ValidationError("redis-server not found; install Debian's redis-server package (make run does)")
        }
        let eventLogRedisURL = "redis://127.0.0.1:\(redisPort)"
        let redisURL = "redis://127.0.0.1:\(projectionsPort)"
        let eventLogURL = eventLog == "redis" ? eventLogRedisURL : eventLog
        guard let endpoint = EventLogEndpoint(eventLogURL) else { throw ValidationError("bad --event-log \(eventLog)") }

        /// A redis-server on loopback with its AOF fsynced before every reply.
        func redis(_ name: String, port: Int, dir: String) -> ChildProcess {
            ChildProcess(
                name: name, executable: redisServer,
                arguments: [
                    "--port", String(port), "--bind", "127.0.0.1", "--dir", "\(dataDir)/\(dir)",
                    "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                    "--protected-mode", "yes",
                ],
                environment: [:], logFile: "\(logs)/\(name).log", logger: logger)
        }
        var children: [any Service] = [
            redis("redis-server", port: redisPort, dir: "redis"),
            // Projections, Pub/Sub, rate limits, as durable as the log's, in a server of their
            // own: the two event loops share the work and neither's fsyncs hold up the other's replies.
            redis("redis-projections", port: projectionsPort, dir: "redis-projections"),
        ]
        let symbolsPath = URL(fileURLWithPath: symbols).standardizedFileURL.path
        _ = try SymbolCatalog.load(path: symbolsPath)  // refuse to start every service on a bad catalogue
        var environment = [
            "EXCHANGE_EVENT_LOG": endpoint.description, "EXCHANGE_REDIS": redisURL,
            "EXCHANGE_DATA_DIR": dataDir, "EXCHANGE_LOG_FORMAT": logFormat, "EXCHANGE_SYMBOLS": symbolsPath,
        ]
        // The master key that seals API-key secrets (order-router, ledger, demo setup): the
        // operator's, passed through, else one generated once and kept in the data dir.
        for name in ["EXCHANGE_MASTER_KEY", "EXCHANGE_MASTER_KEY_FILE"] {
            if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { environment[name] = value }
        }
        let master: MasterKey
        if let given = try MasterKey.fromEnvironment() {
            master = given
        } else {
            let path = "\(dataDir)/master.key"
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(
                    atPath: path, contents: Data(MasterKey.generateHex().utf8), attributes: [.posixPermissions: 0o600])
                logger.info("generated a master key for API-key secrets", metadata: ["path": "\(path)"])
            }
            master = try MasterKey.load(path: path)
            environment["EXCHANGE_MASTER_KEY_FILE"] = path
        }
        var marketData: [String: String] = [:]
        switch upstream {
        case "replay":
            let port = 9443 + portsOffset
            children.append(ChildProcess(
                name: "replay", executable: "\(binDir)/exchange",
                arguments: ["replay", "--ws-capture", URL(fileURLWithPath: replayWSCapture).standardizedFileURL.path,
                            "--rest-capture", URL(fileURLWithPath: replayRESTCapture).standardizedFileURL.path,
                            "--speed", "1", "--port", String(port)],
                environment: [:], logFile: "\(logs)/replay.log", logger: logger))
            marketData = ["EXCHANGE_MD_UPSTREAM_REST": "http://127.0.0.1:\(port)", "EXCHANGE_MD_UPSTREAM_WS": "ws://127.0.0.1:\(port)",
                          "EXCHANGE_MD_STREAMS": "depth@100ms,bookTicker,aggTrade"]
        case "none":
            marketData = ["EXCHANGE_MD_UPSTREAM": "none"]
        default:
            break
        }
        children.append(Startup(endpoint: endpoint, demo: demo ? DemoSetup(dataDir: dataDir, master: master, redis: RedisEndpoint(host: "127.0.0.1", port: projectionsPort)) : nil, logger: logger))
        for service in services {
            let envName = "EXCHANGE_\(service.name.uppercased().replacingOccurrences(of: "-", with: "_"))_ADMIN_PORT"
            children.append(ChildProcess(
                name: service.name, executable: "\(binDir)/\(service.name)", arguments: [],
                environment: environment.merging(service.environment) { _, new in new }
                    .merging(service.name == "market-data" ? marketData : [:]) { _, new in new }
                    .merging([envName: String(service.adminPort)]) { _, new in new },
                logFile: "\(logs)/\(service.name).log", logger: logger))
        }
        children.append(ReadinessReporter(services: services, endpoint: endpoint, redisURL: redisURL, dataDir: dataDir))
        let group = ServiceGroup(configuration: .init(
            services: children.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/sbin", "/usr/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Waits for redis-server, creates the catalogue's topics, then idles until shutdown (a service in
/// the group so that the services after it start once the log exists).
struct Startup: Service {
    let endpoint: EventLogEndpoint
    let demo: DemoSetup?
    let logger: Logger

    func run() async throws {
        let health = HealthState()
        let log = try await ServiceRuntime.connectEventLog(endpoint, health: health, logger: logger)
        logger.info("event log ready, topics created", metadata: ["exchange.eventlog": "\(endpoint)", "exchange.topics": "\(Topics.all.count)"])
        if let demo {
            do {
                let path = try await demo.prepare(log: log, logger: logger)
                logger.info("demo users funded; API keys and secrets in \(path)")
            } catch {
                logger.error("demo setup failed: \(error)")
            }
        }
        await log.shutdown()
        try? await gracefulShutdown()
    }
}

/// Polls every service's readiness and prints one table of where everything listens once all are
/// ready (and again whenever readiness changes).
struct ReadinessReporter: Service {
    let services: [ManagedService]
    let endpoint: EventLogEndpoint
    let redisURL: String
    let dataDir: String

    func run() async throws {
        var lastReport = ""
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var lines: [String] = []
            var allReady = true
            for service in services {
                let ready = await Self.isReady(port: service.adminPort)
                allReady = allReady && ready
                let extra = service.listens.isEmpty ? "" : "  \(service.listens)"
                lines.append("  \(service.name.padding(toLength: 13, withPad: " ", startingAt: 0)) \(ready ? "ready  " : "waiting") admin http://127.0.0.1:\(service.adminPort)/health\(extra)")
            }
            let report = (["exchange stack (\(allReady ? "all ready" : "starting")): event log \(endpoint), projections redis \(redisURL), data \(dataDir)"] + lines).joined(separator: "\n")
            if report != lastReport {
                writeLine(report)
                lastReport = report
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    static func isReady(port: Int) async -> Bool {
        await HTTPProbe.status(host: "127.0.0.1", port: port, path: "/health/ready") == 200
    }
}

/// A service executable `up` runs: its admin port, extra environment, and what it serves.
struct ManagedService: Sendable {
    var name: String
    var adminPort: Int
    var environment: [String: String]
    var listens: String
}
