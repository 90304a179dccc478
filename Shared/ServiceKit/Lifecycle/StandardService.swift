import ExchangeProtocol
import Logging
import Messaging
import ServiceLifecycle

/// The shape every event-sourced service shares: admin endpoints, the event log, a Redis
/// liveness probe, and a consumer loop over its input topics running `Processor`, whose side
/// effects (replies, projections) go to Redis.
public enum StandardService {
    /// Builds and runs the service until SIGTERM/SIGINT. `extra` adds components such as an API
    /// server; they start after the event log is reachable.
    public static func run<Processor: EventProcessor>(
        _ configuration: ServiceConfiguration,
        inputs: [TopicDescriptor],
        processor: Processor.Type,
        stateScope: ConsumerLoop<Processor>.StateScope = .whole,
        planner: (any SideEffectPlanner<Processor>)? = nil,
        prepare: @escaping @Sendable (inout Processor) -> Void = { _ in },
        extra: @escaping @Sendable (ServiceContext) async throws -> [any Service] = { _ in [] }
    ) async throws {
        try await ServiceRuntime.run(configuration) { context in
            let loop = ConsumerLoop<Processor>(
                configuration: .init(
                    groupID: configuration.service, topics: inputs.map(\.name), instance: configuration.instance,
                    snapshotEveryRecords: configuration.snapshotEveryRecords, snapshotInterval: configuration.snapshotInterval,
                    maxBatch: configuration.maxBatch, stateScope: stateScope),
                eventLog: context.eventLog,
                // Per-partition state moves between instances, so its snapshots are the group's.
                store: SnapshotStore(directory: stateScope == .whole
                    ? configuration.snapshotDirectory : "\(configuration.dataDirectory)/snapshots/\(configuration.service)"),
                health: context.health,
                logger: context.logger,
                effects: planner.map {
                    .init(planner: $0, sink: RedisSideEffectSink(endpoint: configuration.redis, logger: context.logger))
                },
                prepare: prepare)
            let probe = RedisHealthProbe(endpoint: configuration.redis, health: context.health, logger: context.logger)
            return [probe, loop] + (try await extra(context))
        }
    }
}

/// Pings the Redis that carries projections and Pub/Sub every couple of seconds and mirrors the
/// answer into the `redis` readiness check.
public struct RedisHealthProbe: Service {
    let endpoint: RedisEndpoint
    let health: HealthState
    let logger: Logger
    let interval: Duration

    public init(endpoint: RedisEndpoint, health: HealthState, logger: Logger, interval: Duration = .seconds(2)) {
        self.endpoint = endpoint
        self.health = health
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        let client = RedisClient(configuration: RedisConfiguration(host: endpoint.host, port: endpoint.port), label: "health-probe", logger: logger)
        defer { health.set("redis", ready: false, detail: "stopped") }
        // Cancelled on graceful shutdown so the sleep between pings does not delay stopping.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await client.send(["PING"])
                    health.set("redis", ready: true, detail: "\(endpoint)")
                } catch {
                    health.set("redis", ready: false, detail: "\(endpoint): \(error)")
                }
                try await Task.sleep(for: interval)
            }
        }
        await client.close()
    }
}
