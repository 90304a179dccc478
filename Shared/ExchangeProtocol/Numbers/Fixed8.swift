/// A price, quantity, amount or rate: Int64 fixed-point with 8 decimals, Binance's precision.
///
/// `Fixed8(raw: 100_000)` is 0.001 and formats as Binance does, `"0.00100000"`. Products of two
/// values go through Int128 so price x quantity never overflows silently; nothing here uses Double.
public struct Fixed8: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Units of 1e-8.
    public var raw: Int64

    /// 10^8: raw units per whole unit.
    public static let scale: Int64 = 100_000_000
    /// Number of decimals.
    public static let decimals = 8
    public static let zero = Fixed8(raw: 0)
    public static let one = Fixed8(raw: scale)
    public static let max = Fixed8(raw: .max)

    public init(raw: Int64) { self.raw = raw }

    /// A whole number of units; nil when it does not fit.
    public init?(units: Int64) {
        let (value, overflow) = units.multipliedReportingOverflow(by: Fixed8.scale)
        if overflow { return nil }
        self.raw = value
    }

    public static func < (lhs: Fixed8, rhs: Fixed8) -> Bool { lhs.raw < rhs.raw }

    public var isZero: Bool { raw == 0 }
    public var isNegative: Bool { raw < 0 }

    // MARK: Formatting

    /// Binance's string form: always 8 decimals, `"0.00100000"`, `"-12.50000000"`.
    public var description: String { formatted(decimals: Fixed8.decimals) }

    /// The value with `decimals` (0...8) fraction digits, truncated toward zero past them.
    /// Binance uses 8 everywhere in the spot API; fewer is for filters shown with a step's precision.
    public func formatted(decimals: Int) -> String {
        precondition((0...8).contains(decimals), "0 to 8 decimals")
        let magnitude = raw.magnitude
        let whole = magnitude / UInt64(Fixed8.scale)
        let fraction = magnitude % UInt64(Fixed8.scale)
        var text = raw < 0 ? "-" : ""
        text += String(whole)
        if decimals > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 8 - digits.count) + digits
            text += "." + digits.prefix(decimals)
        }
        return text
    }

    // MARK: Arithmetic (overflow-checked)

    /// `self + other`, nil on overflow.
    public func adding(_ other: Fixed8) -> Fixed8? {
        let (value, overflow) = raw.addingReportingOverflow(other.raw)
        return overflow ? nil : Fixed8(raw: value)
    }

    /// `self - other`, nil on overflow.
    public func subtracting(_ other: Fixed8) -> Fixed8? {
        let (value, overflow) = raw.subtractingReportingOverflow(other.raw)
        return overflow ? nil : Fixed8(raw: value)
    }

    /// `self * other` as an exact Int128 in units of 1e-16 (e.g. price x quantity before rounding).
    public func exactProduct(_ other: Fixed8) -> Int128 {
        Int128(raw) * Int128(other.raw)
    }

    /// `self * other` rounded to 8 decimals; nil when the result does not fit in Int64.
    /// Price x quantity gives the quote amount; amount x rate gives a commission.
    public func multiplied(by other: Fixed8, rounding: Rounding = .down) -> Fixed8? {
        Fixed8.rescale(exactProduct(other), divisor: Int128(Fixed8.scale), rounding: rounding)
    }

    /// `self / other` rounded to 8 decimals (quote amount / price = quantity); nil when `other` is
    /// zero or the result does not fit.
    public func divided(by other: Fixed8, rounding: Rounding = .down) -> Fixed8? {
        guard other.raw != 0 else { return nil }
        let numerator = Int128(raw) * Int128(Fixed8.scale)
        return Fixed8.rescale(numerator, divisor: Int128(other.raw), rounding: rounding)
    }

    /// How a result with more than 8 decimals is cut.
    public enum Rounding: Sendable {
        /// Toward negative infinity (what a buyer can afford, what a seller is owed at most).
        case down
        /// Toward positive infinity (reservations that must cover the worst case).
        case up
    }

    private static func rescale(_ value: Int128, divisor: Int128, rounding: Rounding) -> Fixed8? {
        var (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        if remainder != 0 {
            let negative = (value < 0) != (divisor < 0)
            switch rounding {
            case .down where negative: quotient -= 1
            case .up where !negative: quotient += 1
            default: break
            }
        }
        guard quotient >= Int128(Int64.min), quotient <= Int128(Int64.max) else { return nil }
        return Fixed8(raw: Int64(quotient))
    }

    /// Whether the value is a whole multiple of `step` (LOT_SIZE / PRICE_FILTER tick checks).
    public func isMultiple(of step: Fixed8) -> Bool {
        step.raw == 0 || raw % step.raw == 0
    }
}
