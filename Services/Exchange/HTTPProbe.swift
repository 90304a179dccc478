import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A GET against a loopback admin endpoint, for readiness polling.
enum HTTPProbe {
    /// The HTTP status, or nil when nothing answered within a second.
    static func status(host: String, port: Int, path: String) async -> Int? {
        guard let url = URL(string: "http://\(host):\(port)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.timeoutInterval = 1
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode
        } catch {
            return nil
        }
    }
}
