import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Free loopback ports for tests, benchmarks and a second stack beside the first.
public enum LoopbackPort {
    /// A free port on 127.0.0.1, picked by the kernel (bind to port 0) and released at once.
    public static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MessagingError(.connectionFailed, "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw MessagingError(.connectionFailed, "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
