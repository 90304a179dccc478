import Crypto
import Foundation

/// The operator's master key: 32 bytes that seal API-key secrets (AES-256-GCM) before they enter
/// the log or Redis. Read from `EXCHANGE_MASTER_KEY` (64 hex digits) or from the file named by
/// `EXCHANGE_MASTER_KEY_FILE` (32 raw bytes, or 64 hex digits with optional whitespace).
public struct MasterKey: Sendable {
    public let key: SymmetricKey

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw SecretBoxError.badMasterKey("the master key must be 32 bytes, got \(bytes.count)") }
        key = SymmetricKey(data: bytes)
    }

    /// Parses 64 hex digits.
    public init(hex: String) throws {
        let trimmed = hex.filter { !$0.isWhitespace }
        guard let bytes = Hex.decode(trimmed) else {
            throw SecretBoxError.badMasterKey("the master key must be 64 hex digits")
        }
        try self.init(bytes: bytes)
    }

    /// `EXCHANGE_MASTER_KEY`, else `EXCHANGE_MASTER_KEY_FILE`; nil when neither is set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MasterKey? {
        if let hex = environment["EXCHANGE_MASTER_KEY"], !hex.isEmpty { return try MasterKey(hex: hex) }
        if let path = environment["EXCHANGE_MASTER_KEY_FILE"], !path.isEmpty { return try load(path: path) }
        return nil
    }

    /// Reads a key file: 32 raw bytes, or 64 hex digits.
    public static func load(path: String) throws -> MasterKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretBoxError.badMasterKey("cannot read master key file \(path)")
        }
        if data.count == 32 { return try MasterKey(bytes: Array(data)) }
        return try MasterKey(hex: String(decoding: data, as: UTF8.self))
    }

    /// A fresh random key, hex (for `exchange admin master-key`).
    public static func generateHex() -> String {
        Hex.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }
}

public enum SecretBoxError: Error, CustomStringConvertible, Equatable {
    case badMasterKey(String)
    case cannotOpen

    public var description: String {
        switch self {
        case .badMasterKey(let why): return why
        case .cannotOpen: return "sealed secret does not open with this master key (wrong key or corrupted bytes)"
        }
    }
}

/// AES-256-GCM sealed secrets: nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes), with the API key
/// itself as associated data, so a sealed secret copied onto another key does not open.
public enum SecretBox {
    public static func seal(_ secret: [UInt8], apiKey: String, with master: MasterKey) throws -> [UInt8] {
        let box = try AES.GCM.seal(secret, using: master.key, authenticating: Array(apiKey.utf8))
        guard let combined = box.combined else { throw SecretBoxError.cannotOpen }
        return Array(combined)
    }

    public static func open(_ sealed: [UInt8], apiKey: String, with master: MasterKey) throws -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: master.key, authenticating: Array(apiKey.utf8)))
        } catch {
            throw SecretBoxError.cannotOpen
        }
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil unless the string is an even number of hex digits (either case).
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
