import ExchangeSecurity
import Testing

@Suite struct SecretBoxTests {
    let master = try! MasterKey(hex: String(repeating: "0f", count: 32))

    @Test func sealThenOpenGivesTheSecretBack() throws {
        let secret = Array("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".utf8)
        let sealed = try SecretBox.seal(secret, apiKey: "key-1", with: master)
        #expect(sealed.count == 12 + secret.count + 16)
        #expect(!sealed.contains(subsequence: secret))
        #expect(try SecretBox.open(sealed, apiKey: "key-1", with: master) == secret)
    }

    @Test func wrongKeyOtherApiKeyOrFlippedByteDoNotOpen() throws {
        let sealed = try SecretBox.seal(Array("s3cret".utf8), apiKey: "key-1", with: master)
        let other = try MasterKey(hex: String(repeating: "a0", count: 32))
        #expect(throws: SecretBoxError.cannotOpen) { try SecretBox.open(sealed, apiKey: "key-1", with: other) }
        #expect(throws: SecretBoxError.cannotOpen) { try SecretBox.open(sealed, apiKey: "key-2", with: master) }
        var flipped = sealed
        flipped[14] ^= 1
        #expect(throws: SecretBoxError.cannotOpen) { try SecretBox.open(flipped, apiKey: "key-1", with: master) }
    }

    @Test func masterKeyParsing() throws {
        #expect(throws: SecretBoxError.self) { try MasterKey(hex: "abcd") }
        #expect(throws: SecretBoxError.self) { try MasterKey(hex: String(repeating: "zz", count: 32)) }
        #expect(try MasterKey.fromEnvironment([:]) == nil)
        let generated = MasterKey.generateHex()
        #expect(generated.count == 64)
        _ = try MasterKey.fromEnvironment(["EXCHANGE_MASTER_KEY": generated])
        #expect(Hex.decode(Hex.encode([0, 1, 0xAB, 0xFF])) == [0, 1, 0xAB, 0xFF])
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        for start in 0...(count - subsequence.count) where Array(self[start..<start + subsequence.count]) == subsequence {
            return true
        }
        return false
    }
}
