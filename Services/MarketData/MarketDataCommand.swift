import ArgumentParser
import ExchangeProtocol
import Foundation
import MarketDataService
import Messaging
import ServiceKit
import ServiceLifecycle

/// `market-data`: upstream Binance ingestion (books, trades, book tickers to `md.*` and Redis),
/// sharded statically (`--shard i/n`) or through a Kafka consumer group (`--shard group`).
/// It still consumes `matching.events` with the tallying processor; aggregates of internal
/// symbols are not built yet.
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
        try await StandardService.run(configuration, inputs: [Topics.matchingEvents], processor: RecordTally.self, extra: { context in
            guard upstreamMode != "none", !symbolList.isEmpty else { return [any Service]() }
            let redis = RedisClient(configuration: RedisConfiguration(host: redisEndpoint.host, port: redisEndpoint.port), label: "md-redis", logger: context.logger)
            if shardMode == "group" {
                return [ShardCoordinator(symbols: symbolList, base: ingestionConfiguration, eventLog: context.eventLog, redis: redis, logger: context.logger)]
            }
            return [IngestionWorker(configuration: ingestionConfiguration, eventLog: context.eventLog, redis: redis, logger: context.logger)]
        })
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
