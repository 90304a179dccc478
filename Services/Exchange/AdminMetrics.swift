import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A service's Prometheus text from its loopback admin port, for benchmarks that read counters.
enum AdminMetrics {
    /// Every sample as (series as written, `name{labels}`, and value); nil while nothing answers.
    static func samples(port: Int, timeout: Double = 1) async -> [(series: String, value: Double)]? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics") else { return nil }
        var request = URLRequest(url: url)
        request.timeoutInterval = timeout
        guard let (data, _) = try? await URLSession.shared.data(for: request) else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                return nil
            }
            return (String(line[..<space]), value)
        }
    }

    /// The value of one label of a series (`reason` of `x{reason="slowConsumer"}`).
    static func label(_ name: String, of series: String) -> String? {
        guard let start = series.range(of: "\(name)=\"") else { return nil }
        return String(series[start.upperBound...].prefix { $0 != "\"" })
    }
}
