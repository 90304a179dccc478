import ExchangeProtocol
import Foundation
import Hummingbird
import Logging
import Messaging
import Metrics
import Prometheus
import ServiceLifecycle

/// What a service's builder gets once its backing services are reachable.
public struct ServiceContext: Sendable {
    public var configuration: ServiceConfiguration
    public var eventLog: any EventLog
    public var health: HealthState
    public var logger: Logger
    public var registry: PrometheusCollectorRegistry

    /// Wall-clock Unix milliseconds (the only clock a service reads; pure cores get times from inputs).
    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// Starts a service the same way everywhere: logging and metrics bootstrap, the admin endpoints
/// (`/metrics`, `/health*`) immediately, then the event log (retried with backoff, readiness false
/// meanwhile), then the service's own components; graceful shutdown on SIGTERM/SIGINT.
public enum ServiceRuntime {
    /// Installs process-wide logging and Prometheus metrics; returns the registry `/metrics` renders.
    public static func bootstrap(_ configuration: ServiceConfiguration) -> PrometheusCollectorRegistry {
        LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// Runs until SIGTERM/SIGINT. `build` returns the service's components in dependency order.
    public static func run(
        _ configuration: ServiceConfiguration,
        build: @escaping @Sendable (ServiceContext) async throws -> [any Service]
    ) async throws {
        let registry = bootstrap(configuration)
        var logger = Logger(label: configuration.service)
        logger[metadataKey: "exchange.instance"] = "\(configuration.instance)"
        let health = HealthState()
        let admin = makeAdminServer(configuration, health: health, registry: registry, logger: logger)
        let staged = StagedServices(configuration: configuration, health: health, registry: registry, logger: logger, build: build)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: admin), .init(service: staged)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// The admin HTTP server (Hummingbird) with `/metrics` and `/health*`.
    public static func makeAdminServer(
        _ configuration: ServiceConfiguration, health: HealthState, registry: PrometheusCollectorRegistry, logger: Logger,
        onListening: (@Sendable (Int) async -> Void)? = nil
    ) -> some Service {
        let router = Router()
        AdminRoutes.add(to: router, service: configuration.service, health: health, registry: registry)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.adminHost, port: configuration.adminPort), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.adminPort
                logger.info("admin endpoints listening", metadata: ["exchange.admin": "http://\(configuration.adminHost):\(port)"])
                await onListening?(port)
            },
            logger: logger)
    }

    /// Connects to the configured event log, retrying with capped exponential backoff while the
    /// backend is down (readiness check `eventlog` stays false meanwhile), and makes sure the
    /// catalogue's topics exist.
    public static func connectEventLog(
        _ endpoint: EventLogEndpoint, health: HealthState, logger: Logger
    ) async throws -> any EventLog {
        var backoff = Backoff()
        while true {
            do {
                let log = try await EventLogFactory.connect(endpoint, logger: logger)
                try await ensureTopics(log)
                health.set("eventlog", ready: true, detail: "\(endpoint)")
                return log
            } catch {
                try Task.checkCancellation()
                if Task.isShuttingDownGracefully { throw CancellationError() }
                health.set("eventlog", ready: false, detail: "\(endpoint): \(error)")
                let delay = backoff.next()
                logger.warning("event log unreachable, retrying", metadata: ["error": "\(error)", "exchange.retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
            }
        }
    }
}

extension ServiceRuntime {
    /// Creates the catalogue's topics that do not exist yet. Existing ones are not touched, so no
    /// admin request is sent when the operator created them (and librdkafka's mock cluster, which
    /// does not answer CreateTopics, works with topics made by `exchange kafka-mock --create-topics`).
    public static func ensureTopics(_ log: any EventLog) async throws {
        var missing: [TopicSpec] = []
        for topic in Topics.all {
            do {
                _ = try await log.partitionCount(of: topic.name)
            } catch let error as MessagingError where error.code == .unknownTopic {
                missing.append(TopicSpec(name: topic.name, partitions: topic.defaultPartitions))
            }
        }
        if !missing.isEmpty { try await log.createTopics(missing) }
    }
}

/// Connects the backing services, then runs the components the builder returns, each in a child
/// task (graceful shutdown reaches them through the task-local shutdown handler).
struct StagedServices: Service {
    let configuration: ServiceConfiguration
    let health: HealthState
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let build: @Sendable (ServiceContext) async throws -> [any Service]

    func run() async throws {
        health.set("eventlog", ready: false, detail: "connecting to \(configuration.eventLog)")
        let eventLog = try await ServiceRuntime.connectEventLog(configuration.eventLog, health: health, logger: logger)
        let context = ServiceContext(configuration: configuration, eventLog: eventLog, health: health, logger: logger, registry: registry)
        let services = try await build(context)
        logger.info("service started", metadata: ["exchange.eventlog": "\(configuration.eventLog)", "exchange.components": "\(services.count)"])
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for service in services {
                    group.addTask { try await service.run() }
                }
            }
        } catch {
            await eventLog.shutdown()
            throw error
        }
        await eventLog.shutdown()
    }
}
