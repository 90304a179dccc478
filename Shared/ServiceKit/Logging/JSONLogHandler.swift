import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line to standard error:
/// `{"ts":"2026-11-22T10:00:00.000Z","level":"info","label":"ledger","msg":"...","exchange.symbol":"BTCUSDT"}`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Self.render(
            level: event.level, label: label, message: event.message.description, source: event.source,
            metadata: merged, date: Date())
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// One log line: a JSON object with `ts`, `level`, `label`, `msg`, `source` and the metadata
    /// keys (sorted), so log shippers can index every field.
    public static func render(
        level: Logger.Level, label: String, message: String, source: String, metadata: Logger.Metadata, date: Date
    ) -> String {
        var object: [String: Any] = [
            "ts": timestampStyle.format(date),
            "level": level.rawValue,
            "label": label,
            "msg": message,
            "source": source,
        ]
        for (key, value) in metadata { object[key] = json(value) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return #"{"level":"error","msg":"unencodable log event"}"#
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let values): return values.map(json)
        case .dictionary(let dict): return dict.mapValues(json)
        }
    }
}

/// Installs the process-wide log handler once, per the configured format and level.
public enum LoggingSetup {
    /// `format` is `text` (swift-log's stream handler) or `json`.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler
            switch format {
            case .json: handler = JSONLogHandler(label: label)
            case .text: handler = StreamLogHandler.standardError(label: label)
            }
            handler.logLevel = level
            return handler
        }
    }
}

/// How logs are written.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}
