// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "exchange",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ExchangeProtocol", targets: ["ExchangeProtocol"]),
        .library(name: "Messaging", targets: ["Messaging"]),
        .library(name: "ServiceKit", targets: ["ServiceKit"]),
        .library(name: "MatchingEngine", targets: ["MatchingEngine"]),
        .library(name: "MatchingService", targets: ["MatchingService"]),
        .library(name: "LedgerCore", targets: ["LedgerCore"]),
        .library(name: "LedgerService", targets: ["LedgerService"]),
        .library(name: "ExchangeSecurity", targets: ["ExchangeSecurity"]),
        .library(name: "OrderRouterCore", targets: ["OrderRouterCore"]),
        .library(name: "BinanceClient", targets: ["BinanceClient"]),
        .library(name: "MarketDataCore", targets: ["MarketDataCore"]),
        .library(name: "MarketDataService", targets: ["MarketDataService"]),
        .library(name: "BinanceReplay", targets: ["BinanceReplay"]),
        .library(name: "NotifierCore", targets: ["NotifierCore"]),
        .library(name: "NotifierService", targets: ["NotifierService"]),
        // Preloaded by `exchange bench matching` to count allocations; never linked into a service.
        .library(name: "ExchangeMallocCounter", type: .dynamic, targets: ["CMallocCounter"]),
        .executable(name: "market-data", targets: ["MarketData"]),
        .executable(name: "matching", targets: ["Matching"]),
        .executable(name: "ledger", targets: ["Ledger"]),
        .executable(name: "order-router", targets: ["OrderRouter"]),
        .executable(name: "notifier", targets: ["Notifier"]),
        .executable(name: "exchange", targets: ["ExchangeCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            path: "Shared/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The protoc-generated messages, alone so that they can skip dynamic exclusivity checks:
        // their fields live in private class storage that is never re-entered, and the checks
        // were ~15% of the matching service's CPU. (On the whole ExchangeProtocol module the flag
        // cost FastBook a third of its speed; here it touches only generated code.)
        .target(
            name: "ExchangeMessages",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Shared/ExchangeProtocol/Generated",
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        .target(
            name: "ExchangeProtocol",
            dependencies: ["ExchangeMessages", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Shared/ExchangeProtocol",
            exclude: ["Protos", "Generated"]
        ),
        .target(name: "CMallocCounter", path: "Shared/CMallocCounter"),
        .target(
            name: "MatchingEngine",
            dependencies: ["ExchangeProtocol"],
            path: "Shared/MatchingEngine"
        ),
        .target(
            name: "MatchingService",
            dependencies: ["MatchingEngine", "ServiceKit", "ExchangeProtocol"],
            path: "Shared/MatchingService"
        ),
        .target(
            name: "LedgerCore",
            dependencies: ["ExchangeProtocol"],
            path: "Shared/LedgerCore"
        ),
        // Sealed API-key secrets (AES-256-GCM under the operator's master key); request signatures.
        .target(
            name: "ExchangeSecurity",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Shared/Security"
        ),
        // The Binance REST API: routing, signatures, rate limits, filters, the order flow; the
        // `order-router` executable and the router benchmark run it, tests drive it directly.
        .target(
            name: "OrderRouterCore",
            dependencies: [
                "ExchangeProtocol", "ExchangeSecurity", "Messaging", "MarketDataCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/OrderRouterCore"
        ),
        .target(
            name: "LedgerService",
            dependencies: ["LedgerCore", "ServiceKit", "ExchangeProtocol", .product(name: "Metrics", package: "swift-metrics")],
            path: "Shared/LedgerService"
        ),
        .target(
            name: "Messaging",
            dependencies: [
                "CRdKafka", "CHiredis", "ExchangeProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Shared/Messaging"
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "Messaging", "ExchangeProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Shared/ServiceKit"
        ),
        // Binance REST (public and signed) and combined-stream WebSocket client; no exchange types.
        .target(
            name: "BinanceClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/BinanceClient"
        ),
        // Pure market-data core: the byte parser for Binance frames, local books, aggregates. No I/O.
        .target(
            name: "MarketDataCore", dependencies: ["ExchangeProtocol", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Shared/MarketDataCore"),
        // The ingestion worker: upstream client -> books -> md.* topics and Redis.
        .target(
            name: "MarketDataService",
            dependencies: [
                "MarketDataCore", "BinanceClient", "ServiceKit", "Messaging", "ExchangeProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/MarketDataService"
        ),
        // Serves a recorded Binance capture over Binance-compatible REST and WebSocket (tests, offline runs).
        .target(
            name: "BinanceReplay",
            dependencies: [
                "MarketDataCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/BinanceReplay"
        ),
        .executableTarget(
            name: "MarketData",
            dependencies: [
                "ServiceKit", "MarketDataService", "BinanceClient", "Messaging",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/MarketData"),
        .executableTarget(name: "Matching", dependencies: ["ServiceKit", "MatchingEngine", "MatchingService"], path: "Services/Matching"),
        .executableTarget(name: "Ledger", dependencies: ["ServiceKit", "LedgerService", "LedgerCore"], path: "Services/Ledger"),
        // The notifier's pure part: stream names, Binance payloads, live methods, depth windows, books.
        .target(
            name: "NotifierCore",
            dependencies: ["ExchangeProtocol", "OrderRouterCore", "MarketDataCore"],
            path: "Shared/NotifierCore"
        ),
        // The WebSocket edge: Redis fan-out hub, connections, WebSocket API sessions.
        .target(
            name: "NotifierService",
            dependencies: [
                "NotifierCore", "ExchangeProtocol", "Messaging", "OrderRouterCore", "ExchangeSecurity",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Shared/NotifierService"
        ),
        .executableTarget(
            name: "Notifier",
            dependencies: [
                "ServiceKit", "Messaging", "NotifierCore", "NotifierService", "ExchangeSecurity", "ExchangeProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Notifier"
        ),
        .executableTarget(
            name: "OrderRouter",
            dependencies: [
                "ServiceKit", "OrderRouterCore", "ExchangeSecurity", "Messaging",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/OrderRouter"
        ),
        .executableTarget(
            name: "ExchangeCLI",
            dependencies: [
                "ServiceKit", "Messaging", "ExchangeProtocol", "CRdKafka", "MatchingEngine", "MatchingService", "LedgerCore",
                "LedgerService", "OrderRouterCore", "ExchangeSecurity",
                "MarketDataCore", "MarketDataService", "BinanceReplay", "BinanceClient",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Exchange"
        ),
        .testTarget(name: "MatchingEngineTests", dependencies: ["MatchingEngine", "ExchangeProtocol"], path: "Tests/MatchingEngineTests"),
        // MatchingEngine only to drive real books in end-to-end settlement tests; LedgerCore itself does not use it.
        .testTarget(
            name: "LedgerCoreTests", dependencies: ["LedgerCore", "MatchingEngine", "ExchangeProtocol"],
            path: "Tests/LedgerCoreTests"),
        .testTarget(
            name: "MatchingServiceTests",
            dependencies: ["MatchingService", "MatchingEngine", "ServiceKit", "Messaging", "ExchangeProtocol", "ExchangeTestSupport"],
            path: "Tests/MatchingServiceTests"
        ),
        .testTarget(
            name: "LedgerServiceTests",
            dependencies: ["LedgerService", "LedgerCore", "MatchingService", "MatchingEngine", "ServiceKit", "Messaging", "ExchangeProtocol", "ExchangeTestSupport"],
            path: "Tests/LedgerServiceTests"
        ),
        .testTarget(
            name: "OrderRouterTests",
            dependencies: [
                "OrderRouterCore", "ExchangeSecurity", "ExchangeProtocol", "Messaging", "ExchangeTestSupport",
                "MarketDataCore", "MarketDataService", "ServiceKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/OrderRouterTests"
        ),
        .testTarget(
            name: "MarketDataTests",
            dependencies: [
                "MarketDataCore", "MarketDataService", "BinanceClient", "BinanceReplay", "ServiceKit", "Messaging",
                "ExchangeProtocol", "ExchangeTestSupport", "MatchingEngine",
            ],
            path: "Tests/MarketDataTests"
        ),
        .testTarget(
            name: "NotifierTests",
            dependencies: [
                "NotifierCore", "NotifierService", "ExchangeProtocol", "ExchangeSecurity", "Messaging", "MarketDataCore",
                "ExchangeTestSupport",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/NotifierTests"
        ),
        .testTarget(name: "SecurityTests", dependencies: ["ExchangeSecurity"], path: "Tests/SecurityTests"),
        .testTarget(name: "ExchangeProtocolTests", dependencies: ["ExchangeProtocol"], path: "Tests/ExchangeProtocolTests"),
        .target(name: "ExchangeTestSupport", dependencies: ["Messaging", "ServiceKit", "ExchangeProtocol"], path: "Tests/Support"),
        .testTarget(
            name: "MessagingTests",
            dependencies: ["Messaging", "ExchangeProtocol", "CRdKafka", "CHiredis", "ExchangeTestSupport"],
            path: "Tests/MessagingTests"
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: ["ServiceKit", "Messaging", "ExchangeProtocol", "ExchangeTestSupport"],
            path: "Tests/ServiceKitTests"
        ),
    ]
)
