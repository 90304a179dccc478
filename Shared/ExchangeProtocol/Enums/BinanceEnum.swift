import SwiftProtobuf

/// A Binance enum: its cases spell Binance's strings exactly (`rawValue`), and map one to one onto
/// the exchange.v1 protobuf enum whose values 1...n are declared in the same order (0 is
/// "unspecified" there and has no case here).
public protocol BinanceEnum: RawRepresentable, CaseIterable, Hashable, Sendable, Codable
where RawValue == String, AllCases: RandomAccessCollection, AllCases.Index == Int {
    associatedtype Proto: SwiftProtobuf.Enum where Proto.RawValue == Int
}

extension BinanceEnum {
    /// The position of this case in `allCases` (declaration order). A payload-free enum of 2 to 256
    /// cases is stored as one byte holding exactly that position, so this reads the byte instead
    /// of searching a freshly built `allCases` array (which cost an allocation and an unspecialized
    /// search per call on the services' hot paths); any other layout falls back to the search. A
    /// test checks every case of every conforming enum.
    @inlinable public var caseIndex: Int {
        if MemoryLayout<Self>.size == 1 {
            return withUnsafeBytes(of: self) { Int($0[0]) }
        }
        return Self.allCases.firstIndex(of: self)!
    }

    /// The wire enum value.
    @inlinable public var proto: Proto {
        Proto(rawValue: caseIndex + 1)!
    }

    /// nil for "unspecified" and values this version does not know.
    public init?(proto: Proto) {
        let index = proto.rawValue - 1
        guard index >= 0, index < Self.allCases.count else { return nil }
        self = Self.allCases[index]
    }
}

/// BUY / SELL.
public enum Side: String, BinanceEnum {
    public typealias Proto = Exchange_V1_Side
    case buy = "BUY"
    case sell = "SELL"

    @inlinable public var opposite: Side { self == .buy ? .sell : .buy }
}

/// Binance spot order types.
public enum OrderType: String, BinanceEnum {
    public typealias Proto = Exchange_V1_OrderType
    case limit = "LIMIT"
    case market = "MARKET"
    case stopLoss = "STOP_LOSS"
    case stopLossLimit = "STOP_LOSS_LIMIT"
    case takeProfit = "TAKE_PROFIT"
    case takeProfitLimit = "TAKE_PROFIT_LIMIT"
    case limitMaker = "LIMIT_MAKER"
}

/// GTC / IOC / FOK.
public enum TimeInForce: String, BinanceEnum {
    public typealias Proto = Exchange_V1_TimeInForce
    case gtc = "GTC"
    case ioc = "IOC"
    case fok = "FOK"
}

/// Order status as Binance reports it.
public enum OrderStatus: String, BinanceEnum {
    public typealias Proto = Exchange_V1_OrderStatus
    case new = "NEW"
    case pendingNew = "PENDING_NEW"
    case partiallyFilled = "PARTIALLY_FILLED"
    case filled = "FILLED"
    case canceled = "CANCELED"
    case pendingCancel = "PENDING_CANCEL"
    case rejected = "REJECTED"
    case expired = "EXPIRED"
    case expiredInMatch = "EXPIRED_IN_MATCH"

    /// Whether the order can still trade or be canceled.
    @inlinable public var isOpen: Bool { self == .new || self == .partiallyFilled || self == .pendingNew }
}

/// executionReport's `x`.
public enum ExecutionType: String, BinanceEnum {
    public typealias Proto = Exchange_V1_ExecutionType
    case new = "NEW"
    case canceled = "CANCELED"
    case replaced = "REPLACED"
    case rejected = "REJECTED"
    case trade = "TRADE"
    case expired = "EXPIRED"
    case tradePrevention = "TRADE_PREVENTION"
}

/// Self-trade prevention modes.
public enum SelfTradePreventionMode: String, BinanceEnum {
    public typealias Proto = Exchange_V1_SelfTradePreventionMode
    case none = "NONE"
    case expireTaker = "EXPIRE_TAKER"
    case expireMaker = "EXPIRE_MAKER"
    case expireBoth = "EXPIRE_BOTH"
    case decrement = "DECREMENT"
}

/// newOrderRespType.
public enum ResponseType: String, BinanceEnum {
    public typealias Proto = Exchange_V1_ResponseType
    case ack = "ACK"
    case result = "RESULT"
    case full = "FULL"
}

/// cancelReplaceMode.
public enum CancelReplaceMode: String, BinanceEnum {
    public typealias Proto = Exchange_V1_CancelReplaceMode
    case stopOnFailure = "STOP_ON_FAILURE"
    case allowFailure = "ALLOW_FAILURE"
}

/// cancelRestrictions.
public enum CancelRestrictions: String, BinanceEnum {
    public typealias Proto = Exchange_V1_CancelRestrictions
    case onlyNew = "ONLY_NEW"
    case onlyPartiallyFilled = "ONLY_PARTIALLY_FILLED"
}
