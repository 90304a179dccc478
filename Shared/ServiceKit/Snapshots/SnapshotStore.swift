import ExchangeProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A service's state at a point of its input log: the state bytes and the positions (next offset
/// to read) of every input partition consumed so far.
public struct Snapshot: Sendable, Equatable {
    public var sequence: UInt64
    public var positions: [TopicPartition: Int64]
    public var state: [UInt8]
    public var createdAtMs: Int64

    public init(sequence: UInt64, positions: [TopicPartition: Int64], state: [UInt8], createdAtMs: Int64) {
        self.sequence = sequence
        self.positions = positions
        self.state = state
        self.createdAtMs = createdAtMs
    }
}

/// Snapshots in a directory, written atomically (temp file, fsync, rename, fsync of the directory)
/// so a crash at any point leaves either the old newest snapshot or the new one, never a torn file.
/// Keeps the newest `keep`; a file that fails its checksum is skipped on load.
public struct SnapshotStore: Sendable {
    public let directory: String
    public let keep: Int

    static let magic = Array("EXSNAP01".utf8)

    public init(directory: String, keep: Int = 3) {
        precondition(keep >= 1)
        self.directory = directory
        self.keep = keep
    }

    /// Writes a snapshot durably and prunes old ones.
    public func save(_ snapshot: Snapshot) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = Self.fileName(snapshot.sequence)
        let temp = "\(directory)/.tmp-\(name)"
        let bytes = try Self.encode(snapshot)
        try Self.writeDurably(bytes, to: temp)
        guard rename(temp, "\(directory)/\(name)") == 0 else { throw SnapshotError("rename \(temp): errno \(errno)") }
        try Self.fsyncDirectory(directory)
        for old in try sequences().dropLast(keep) {
            unlink("\(directory)/\(Self.fileName(old))")
        }
    }

    /// The newest snapshot that reads back intact, or nil when there is none.
    public func loadNewest() throws -> Snapshot? {
        for sequence in try sequences().reversed() {
            let path = "\(directory)/\(Self.fileName(sequence))"
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            if let snapshot = try? Self.decode([UInt8](data)) { return snapshot }
        }
        return nil
    }

    /// Sequences of the snapshot files present, ascending.
    public func sequences() throws -> [UInt64] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { name in
            guard name.hasPrefix("snapshot-"), name.hasSuffix(".snap") else { return nil }
            return UInt64(name.dropFirst("snapshot-".count).dropLast(".snap".count))
        }.sorted()
    }

    static func fileName(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return "snapshot-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    struct Header: Codable {
        var sequence: UInt64
        var createdAtMs: Int64
        var positions: [String: Int64]
    }

    static func encode(_ snapshot: Snapshot) throws -> [UInt8] {
        var positions: [String: Int64] = [:]
        for (tp, offset) in snapshot.positions { positions["\(tp.partition):\(tp.topic)"] = offset }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = try [UInt8](encoder.encode(Header(sequence: snapshot.sequence, createdAtMs: snapshot.createdAtMs, positions: positions)))
        var out = magic
        out.appendLittleEndian(UInt32(header.count))
        out += header
        out.appendLittleEndian(UInt64(snapshot.state.count))
        out += snapshot.state
        out.appendLittleEndian(CRC32.checksum(out))
        return out
    }

    static func decode(_ bytes: [UInt8]) throws -> Snapshot {
        guard bytes.count >= magic.count + 4 + 8 + 4, Array(bytes.prefix(magic.count)) == magic else {
            throw SnapshotError("not a snapshot file")
        }
        let body = bytes.dropLast(4)
        guard CRC32.checksum(body) == bytes.readLittleEndian(UInt32.self, at: bytes.count - 4) else {
            throw SnapshotError("checksum mismatch")
        }
        var index = magic.count
        let headerLength = Int(bytes.readLittleEndian(UInt32.self, at: index))
        index += 4
        guard index + headerLength + 8 <= body.count else { throw SnapshotError("truncated header") }
        let header = try JSONDecoder().decode(Header.self, from: Data(bytes[index..<index + headerLength]))
        index += headerLength
        let stateLength = Int(bytes.readLittleEndian(UInt64.self, at: index))
        index += 8
        guard index + stateLength == body.count else { throw SnapshotError("truncated state") }
        var positions: [TopicPartition: Int64] = [:]
        for (key, offset) in header.positions {
            let parts = key.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let partition = Int32(parts[0]) else { throw SnapshotError("bad position key \(key)") }
            positions[TopicPartition(String(parts[1]), partition)] = offset
        }
        return Snapshot(sequence: header.sequence, positions: positions, state: Array(bytes[index..<index + stateLength]), createdAtMs: header.createdAtMs)
    }

    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SnapshotError("open \(path): errno \(errno)") }
        defer { close(fd) }
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SnapshotError("write \(path): errno \(errno)")
                }
                written += n
            }
        }
        guard fsync(fd) == 0 else { throw SnapshotError("fsync \(path): errno \(errno)") }
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SnapshotError("open dir \(path): errno \(errno)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SnapshotError("fsync dir \(path): errno \(errno)") }
    }
}

/// A snapshot could not be written or read.
public struct SnapshotError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var file: String
    public var line: Int
    public var isRetriable: Bool { false }
    public init(_ reason: String, file: String = #fileID, line: Int = #line) {
        self.reason = reason
        self.file = file
        self.line = line
    }
    public var description: String { "SnapshotError: \(reason) (\(file):\(line))" }
}

/// CRC-32 (IEEE 802.3), for detecting torn or corrupted snapshot files.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at index: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(self[index + i]) << (8 * i) }
        return value
    }
}
