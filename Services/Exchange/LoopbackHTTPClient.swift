import ExchangeSecurity
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One blocking keep-alive HTTP/1.1 connection to 127.0.0.1, for the benchmarks that drive the
/// REST API (`bench router`, `bench api`). Use it from a thread of its own, never from the
/// cooperative pool: every call blocks.
final class LoopbackHTTPConnection {
    struct Response {
        var status: Int
        var body: [UInt8]
    }

    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackHTTPError("socket failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw LoopbackHTTPError("connect to 127.0.0.1:\(port) failed")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends one request and reads its whole answer (head, then Content-Length bytes of body).
    func exchange(_ request: [UInt8]) throws -> Response {
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw LoopbackHTTPError("send failed") }
            sent += n
        }
        var received: [UInt8] = []
        var bodyStart = 0
        var expected: Int?
        var status = 0
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw LoopbackHTTPError("connection closed") }
            received += buffer[0..<n]
            if expected == nil, let headEnd = Self.find(received, Self.headTerminator) {
                let head = String(decoding: received[0..<headEnd], as: UTF8.self).lowercased()
                let lines = head.split(separator: "\r\n")
                status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
                let length = lines.first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                bodyStart = headEnd + 4
                expected = bodyStart + length
            }
            if let expected, received.count >= expected {
                return Response(status: status, body: Array(received[bodyStart..<expected]))
            }
        }
    }

    /// A request with an HMAC-SHA256-signed form body (Binance's SIGNED endpoints): `params`
    /// plus `&signature=<hex>` over exactly those bytes.
    static func signedRequest(method: String, path: String, params: String, apiKey: String, secret: [UInt8]) -> [UInt8] {
        let signature = SignatureVerifier.hmacHex(payload: Array(params.utf8), secret: secret)
        let body = params + "&signature=" + signature
        if method == "GET" || method == "DELETE" {
            return Array("\(method) \(path)?\(body) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: \(apiKey)\r\n\r\n".utf8)
        }
        return Array((
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: \(apiKey)\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8)
    }

    static let headTerminator = Array("\r\n\r\n".utf8)

    static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }
}

struct LoopbackHTTPError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
