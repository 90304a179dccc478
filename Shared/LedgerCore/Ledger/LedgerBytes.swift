import ExchangeProtocol

extension SnapshotWriter {
    mutating func permissions(_ p: AccountPermissions) {
        bool(p.canTrade)
        bool(p.canWithdraw)
        bool(p.canDeposit)
    }

    /// 0 standard; 1 tier + name; 2 rates + maker + taker.
    mutating func commission(_ c: CommissionSetting) {
        switch c {
        case .standard: u8(0)
        case .tier(let name):
            u8(1)
            string(name)
        case .rates(let maker, let taker):
            u8(2)
            i64(maker)
            i64(taker)
        }
    }
}

extension SnapshotReader {
    mutating func permissions() throws -> AccountPermissions {
        AccountPermissions(canTrade: try bool(), canWithdraw: try bool(), canDeposit: try bool())
    }

    mutating func commission() throws -> CommissionSetting {
        switch try u8() {
        case 0: return .standard
        case 1: return .tier(try string())
        case 2: return .rates(maker: try i64(), taker: try i64())
        default: throw LedgerSnapshotError.corrupt
        }
    }
}
