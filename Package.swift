// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "exchange",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ExchangeProtocol", targets: ["ExchangeProtocol"]),
        .library(name: "Messaging", targets: ["Messaging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
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
        .target(
            name: "ExchangeProtocol",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Shared/ExchangeProtocol",
            exclude: ["Protos"]
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
        .testTarget(name: "ExchangeProtocolTests", dependencies: ["ExchangeProtocol"], path: "Tests/ExchangeProtocolTests"),
        .testTarget(name: "MessagingTests", dependencies: ["Messaging", "ExchangeProtocol", "CRdKafka", "CHiredis"], path: "Tests/MessagingTests"),
    ]
)
