/// A symbol name (up to 24 ASCII bytes) packed into three words, so a frame's symbol is looked up
/// and compared without allocating a `String`. Binance symbols are at most 20 characters.
public struct SymbolKey: Hashable, Sendable, CustomStringConvertible {
    public var word0: UInt64
    public var word1: UInt64
    public var word2: UInt64
    public var count: UInt8

    public static let maxLength = 24
    public static let empty = SymbolKey(word0: 0, word1: 0, word2: 0, count: 0)

    init(word0: UInt64, word1: UInt64, word2: UInt64, count: UInt8) {
        self.word0 = word0
        self.word1 = word1
        self.word2 = word2
        self.count = count
    }

    /// The key of `bytes` upper-cased (stream names carry lower-case symbols); nil when too long.
    
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= SymbolKey.maxLength else { return nil }
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        for index in 0..<bytes.count {
            var byte = bytes[index]
            if byte >= 0x61 && byte <= 0x7a { byte -= 0x20 }
            let shift = UInt64((index & 7) * 8)
            switch index >> 3 {
            case 0: words.0 |= UInt64(byte) << shift
            case 1: words.1 |= UInt64(byte) << shift
            default: words.2 |= UInt64(byte) << shift
            }
        }
        self.init(word0: words.0, word1: words.1, word2: words.2, count: UInt8(bytes.count))
    }

    /// The key of `name` (upper-cased); nil when longer than 24 bytes.
    public init?(_ name: String) {
        var name = name
        let key = name.withUTF8 { SymbolKey(bytes: $0) }
        guard let key else { return nil }
        self = key
    }

    /// The upper-case symbol name.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let word = index < 8 ? word0 : (index < 16 ? word1 : word2)
            bytes.append(UInt8(truncatingIfNeeded: word >> UInt64((index & 7) * 8)))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
