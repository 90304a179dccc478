import Foundation
import ExchangeProtocol
import Testing

@Suite("Fixed8 decimals")
struct Fixed8Tests {
    @Test(arguments: [
        ("0.001", Int64(100_000), "0.00100000"),
        ("1", Int64(100_000_000), "1.00000000"),
        ("1.5", Int64(150_000_000), "1.50000000"),
        ("0.00000001", Int64(1), "0.00000001"),
        ("00012.34000000", Int64(1_234_000_000), "12.34000000"),
        ("0.1000000000", Int64(10_000_000), "0.10000000"),
        ("92233720368.54775807", Int64.max, "92233720368.54775807"),
        ("0", Int64(0), "0.00000000"),
    ])
    func parsesAndFormatsLikeBinance(text: String, raw: Int64, formatted: String) throws {
        let value = try Fixed8.parse(text).get()
        #expect(value.raw == raw)
        #expect(value.description == formatted)
        #expect(try Fixed8.parse(value.description).get() == value)
    }

    @Test(arguments: [
        ("", Fixed8ParseError.illegalCharacters),
        (".5", .illegalCharacters),
        ("1.", .illegalCharacters),
        ("-1", .illegalCharacters),
        ("+1", .illegalCharacters),
        ("1e-8", .illegalCharacters),
        ("1,5", .illegalCharacters),
        (" 1", .illegalCharacters),
        ("1.0 ", .illegalCharacters),
        ("0.000000001", .tooMuchPrecision),
        ("1.123456789", .tooMuchPrecision),
        ("92233720368.54775808", .overflow),
        ("99999999999999999999", .overflow),
        ("123456789012345678901", .illegalCharacters),
        ("1.123456789012345678901", .illegalCharacters),
    ])
    func refusesWhatBinanceRefuses(text: String, error: Fixed8ParseError) {
        #expect(Fixed8.parse(text) == .failure(error))
    }

    @Test func signedParsingAndNegativeFormatting() throws {
        let value = try Fixed8.parseSigned("-12.5").get()
        #expect(value.raw == -1_250_000_000)
        #expect(value.description == "-12.50000000")
        #expect(Fixed8(raw: -1).description == "-0.00000001")
        #expect(Fixed8(raw: 123_456_789).formatted(decimals: 2) == "1.23")
        #expect(Fixed8(raw: 123_456_789).formatted(decimals: 0) == "1")
    }

    @Test func overflowCheckedArithmetic() {
        let a = Fixed8("1.5")!
        let b = Fixed8("0.25")!
        #expect(a.adding(b) == Fixed8("1.75"))
        #expect(b.subtracting(a)?.description == "-1.25000000")
        #expect(Fixed8.max.adding(Fixed8(raw: 1)) == nil)
        #expect(Fixed8(raw: .min).subtracting(Fixed8(raw: 1)) == nil)
    }

    @Test func productsUseInt128AndRoundExplicitly() {
        let price = Fixed8("60000.12345678")!
        let qty = Fixed8("0.00123457")!
        // 60000.12345678 * 0.00123457 = 74.0743524160368846 exactly; the raw Int64 product would overflow.
        #expect(price.exactProduct(qty) == Int128(6_000_012_345_678) * Int128(123_457))
        #expect(price.multiplied(by: qty, rounding: .down)?.description == "74.07435241")
        #expect(price.multiplied(by: qty, rounding: .up)?.description == "74.07435242")
        let big = Fixed8("90000000000")!
        #expect(big.multiplied(by: big) == nil)
        // Commission: 0.1% of 2.5 = 0.0025.
        #expect(Fixed8("2.5")!.multiplied(by: Fixed8("0.001")!) == Fixed8("0.0025"))
        // Quote budget / price = quantity, rounded down.
        #expect(Fixed8("100")!.divided(by: Fixed8("3")!)?.description == "33.33333333")
        #expect(Fixed8("100")!.divided(by: Fixed8("3")!, rounding: .up)?.description == "33.33333334")
        #expect(Fixed8("1")!.divided(by: .zero) == nil)
        #expect(Fixed8(raw: -1).multiplied(by: Fixed8("0.5")!, rounding: .down) == Fixed8(raw: -1))
        #expect(Fixed8(raw: -1).multiplied(by: Fixed8("0.5")!, rounding: .up) == Fixed8(raw: 0))
    }

    @Test func stepMultiples() {
        #expect(Fixed8("0.003")!.isMultiple(of: Fixed8("0.001")!))
        #expect(!Fixed8("0.0035")!.isMultiple(of: Fixed8("0.001")!))
    }

    @Test func codableAsBinanceString() throws {
        struct Box: Codable { var price: Fixed8 }
        let data = try JSONEncoder().encode(Box(price: Fixed8("0.001")!))
        #expect(String(decoding: data, as: UTF8.self) == #"{"price":"0.00100000"}"#)
        #expect(try JSONDecoder().decode(Box.self, from: data).price == Fixed8("0.001"))
    }
}
