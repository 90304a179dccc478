import ArgumentParser
import ExchangeProtocol
import Foundation
import MarketDataService
import Messaging
import ServiceKit
import ServiceLifecycle

/// `market-data`: upstream Binance ingestion (books, trades, book tickers to `md.*` and Redis),
/// sharded statically (`--shard i/n`) or through a Kafka consumer group (`--shard group`).
/// Its aggregates (`MarketAggregatesProcessor`) turn `matching.events` and upstream `md.trades`
/// into klines, tickers, avgPrice, aggTrades and internal books' depth diffs and book tickers.
@main
struct MarketDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market-data", abstract: "Market data: ingestion workers and aggregates, publishes md.* topics.")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("upstream-rest"), help: "Binance REST base URL (env EXCHANGE_MD_UPSTREAM_REST).")
    var upstreamREST: String?

    @Option(name: .customLong("upstream-ws"), help: "Binance stream base URL (env EXCHANGE_MD_UPSTREAM_WS).")
    var upstreamWS: String?

    @Option(name: .customLong("md-symbols"), help: "Comma-separated symbols to ingest; default: the catalogue's venue=binance symbols (env EXCHANGE_MD_SYMBOLS).")
    var mdSymbols: String?

    @Option(help: "Symbol catalogue (env EXCHANGE_SYMBOLS).")
    var symbols: String?

    @Option(help: "i/n: static shard i of n workers; 'group': Kafka consumer group on md.control; 'all' (default) (env EXCHANGE_MD_SHARD).")
    var shard: String?

    @Option(name: .customLong("md-streams"), help: "Streams per symbol (env EXCHANGE_MD_STREAMS).")
    var mdStreams: String?

    @Option(name: .customLong("upstream"), help: "'binance' (default) or 'none': no ingestion (env EXCHANGE_MD_UPSTREAM).")
    var upstream: String?

    @Option(help: "'on' (default): klines, tickers, avgPrice, aggTrades and REST projections from matching.events and md.trades; 'off' on extra ingestion workers sharing a Redis Streams log, where every instance would read every partition (env EXCHANGE_MD_AGGREGATES).")
    var aggregates: String?

    func run() async throws {
        let configuration = try options.resolve(service: "market-data", defaultAdminPort: DefaultPorts.marketDataAdmin)
        let env = ProcessInfo.processInfo.environment
        let upstreamMode = upstream ?? env["EXCHANGE_MD_UPSTREAM"] ?? "binance"
        let symbolList = try resolveSymbols(env: env)
        var ingestion = IngestionConfiguration(
            restBaseURL: upstreamREST ?? env["EXCHANGE_MD_UPSTREAM_REST"] ?? "https://api.binance.com",
            streamBaseURL: upstreamWS ?? env["EXCHANGE_MD_UPSTREAM_WS"] ?? "wss://stream.binance.com:9443",
            symbols: symbolList, instance: configuration.instance)
        if let streams = mdStreams ?? env["EXCHANGE_MD_STREAMS"] {
            ingestion.streamKinds = streams.split(separator: ",").map(String.init)
        }
        let shardMode = shard ?? env["EXCHANGE_MD_SHARD"] ?? "all"
        if shardMode != "all" && shardMode != "group" {
            let parts = shardMode.split(separator: "/").compactMap { Int32($0) }
            guard parts.count == 2, parts[1] > 0, (0..<parts[1]).contains(parts[0]) else { throw ValidationError("--shard i/n, group or all") }
            ingestion.symbols = SymbolShards.symbols(symbolList, inShards: SymbolShards.staticShards(index: parts[0], workers: parts[1]),
                                                     count: SymbolShards.controlTopic.defaultPartitions)
        }
        let redisEndpoint = configuration.redis
        let ingestionConfiguration = ingestion
        let workers: @Sendable (ServiceContext) async throws -> [any Service] = { context in
            guard upstreamMode != "none", !symbolList.isEmpty else { return [any Service]() }
            let redis = RedisClient(configuration: RedisConfiguration(host: redisEndpoint.host, port: redisEndpoint.port), label: "md-redis", logger: context.logger)
            if shardMode == "group" {
                return [ShardCoordinator(symbols: symbolList, base: ingestionConfiguration, eventLog: context.eventLog, redis: redis, logger: context.logger)]
            }
            return [IngestionWorker(configuration: ingestionConfiguration, eventLog: context.eventLog, redis: redis, logger: context.logger)]
        }
        let aggregatesMode = aggregates ?? env["EXCHANGE_MD_AGGREGATES"] ?? "on"
        guard aggregatesMode == "on" || aggregatesMode == "off" else { throw ValidationError("--aggregates on|off") }
        if aggregatesMode == "on" {
            // One processor per input partition (symbols are disjoint between matching.events and
            // md.trades), so instances sharing a Kafka group split the symbols with their state.
            try await StandardService.run(
                configuration, inputs: [Topics.matchingEvents, Topics.mdTrades], processor: MarketAggregatesProcessor.self,
                stateScope: .perPartition, planner: MarketAggregatesSideEffects(), extra: workers)
        } else {
            try await StandardService.run(configuration, inputs: [Topics.matchingEvents], processor: RecordTally.self, extra: workers)
        }
    }

    func resolveSymbols(env: [String: String]) throws -> [String] {
        if let list = mdSymbols ?? env["EXCHANGE_MD_SYMBOLS"] {
            return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
        }
        let path = symbols ?? env["EXCHANGE_SYMBOLS"] ?? "deploy/symbols.json"
        guard path != "none", FileManager.default.fileExists(atPath: path) else { return [] }
        let catalog = try SymbolCatalog.load(path: path)
        return catalog.symbols.values.filter { $0.venue == .binance && $0.status == "TRADING" }.map(\.symbol).sorted()
    }
}
