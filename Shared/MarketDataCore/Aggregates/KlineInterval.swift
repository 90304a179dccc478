/// Binance's 16 kline intervals.
public enum KlineInterval: String, CaseIterable, Sendable, Hashable {
    case s1 = "1s", m1 = "1m", m3 = "3m", m5 = "5m", m15 = "15m", m30 = "30m"
    case h1 = "1h", h2 = "2h", h4 = "4h", h6 = "6h", h8 = "8h", h12 = "12h"
    case d1 = "1d", d3 = "3d", w1 = "1w", mo1 = "1M"

    /// The length in ms for fixed intervals; nil for `1M` (calendar months).
    public var fixedMilliseconds: Int64? {
        let second: Int64 = 1000, minute = 60 * second, hour = 60 * minute, day = 24 * hour
        switch self {
        case .s1: return second
        case .m1: return minute
        case .m3: return 3 * minute
        case .m5: return 5 * minute
        case .m15: return 15 * minute
        case .m30: return 30 * minute
        case .h1: return hour
        case .h2: return 2 * hour
        case .h4: return 4 * hour
        case .h6: return 6 * hour
        case .h8: return 8 * hour
        case .h12: return 12 * hour
        case .d1: return day
        case .d3: return 3 * day
        case .w1: return 7 * day
        case .mo1: return nil
        }
    }

    /// The open time (UTC) of the interval containing `time` (ms). Weeks start on Monday, as
    /// Binance's do (the epoch was a Thursday); 3-day klines count from the epoch; months are calendar months.
    public func openTime(containing time: Int64) -> Int64 {
        switch self {
        case .w1:
            let week: Int64 = 7 * 86_400_000
            let mondayOffset: Int64 = 4 * 86_400_000  // 1970-01-05 was the first Monday
            return floorDiv(time - mondayOffset, week) * week + mondayOffset
        case .mo1:
            let (year, month) = CivilDate.yearMonth(ofDay: floorDiv(time, 86_400_000))
            return CivilDate.daysFromCivil(year: year, month: month, day: 1) * 86_400_000
        default:
            let length = fixedMilliseconds!
            return floorDiv(time, length) * length
        }
    }

    /// The close time (last ms) of the interval that opens at `openTime`.
    public func closeTime(openTime: Int64) -> Int64 {
        if let length = fixedMilliseconds { return openTime + length - 1 }
        let (year, month) = CivilDate.yearMonth(ofDay: floorDiv(openTime, 86_400_000))
        let next = month == 12 ? (year + 1, Int64(1)) : (year, month + 1)
        return CivilDate.daysFromCivil(year: next.0, month: next.1, day: 1) * 86_400_000 - 1
    }

    /// The interval of Binance's code bytes ("1m"); nil when unknown.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> KlineInterval? {
        KlineInterval(rawValue: String(decoding: bytes, as: UTF8.self))
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), Howard Hinnant's algorithms.
enum CivilDate {
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func yearMonth(ofDay days: Int64) -> (Int64, Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month)
    }
}
