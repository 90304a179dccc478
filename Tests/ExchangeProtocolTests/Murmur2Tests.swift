import ExchangeProtocol
import Testing

@Suite("murmur2 partitioner")
struct Murmur2Tests {
    /// Vectors from Kafka's Java client (`UtilsTest.testMurmur2`).
    @Test(arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", Int32(-790_332_482)),
        ("a-little-bit-long-string", Int32(-985_981_536)),
        ("a-little-bit-longer-string", Int32(-1_486_304_829)),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", Int32(-58_897_971)),
        ("abc", Int32(479_470_107)),
    ])
    func javaVectors(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    @Test func partitionIsPositiveModulo() {
        for i in 0..<1000 {
            let p = Murmur2.partition(for: "user-\(i)", partitionCount: 7)
            #expect((0..<7).contains(p))
            let h = Murmur2.hash(Array("user-\(i)".utf8))
            #expect(p == (h & 0x7fff_ffff) % 7)
        }
    }

    @Test func emptyKeyHashes() {
        #expect(Murmur2.hash([UInt8]()) == 275_646_681)
    }
}
