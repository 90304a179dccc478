import SwiftProtobuf

/// Current schema version written into every envelope (`exchange.v1`).
public let exchangeSchemaVersion: UInt32 = 1

/// Why a record could not be decoded; the consumer loop dead-letters it with this reason.
public struct DecodeFailure: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Encodes and decodes the `Envelope` every topic carries.
public enum EnvelopeCodec {
    /// Binary protobuf bytes of an envelope.
    public static func encode(_ envelope: Exchange_V1_Envelope) -> [UInt8] {
        // Serializing a message whose fields are all set from Swift cannot fail (no required
        // fields in proto3, no Any), so a failure here is a programming error.
        do { return try envelope.serializedBytes() } catch { preconditionFailure("protobuf encode: \(error)") }
    }

    /// The bytes of the envelope's own fields (1-7) without its payload: `encode(envelope)` is these
    /// bytes followed by the payload field, since the payload's field numbers are the highest.
    public static func encodeHeader(_ envelope: Exchange_V1_Envelope) -> [UInt8] {
        var header = envelope
        header.payload = nil
        return encode(header)
    }

    /// Binary protobuf bytes of any message of the contract (`RequestOutcome`, snapshots in Redis).
    public static func encode<M: SwiftProtobuf.Message>(message: M) -> [UInt8] {
        do { return try message.serializedBytes() } catch { preconditionFailure("protobuf encode: \(error)") }
    }

    /// Decodes bytes into an envelope; refuses unknown major versions and empty payloads.
    public static func decode(_ bytes: [UInt8]) throws(DecodeFailure) -> Exchange_V1_Envelope {
        let envelope: Exchange_V1_Envelope
        do {
            envelope = try Exchange_V1_Envelope(serializedBytes: bytes)
        } catch {
            throw DecodeFailure("not an exchange.v1 envelope: \(error)")
        }
        guard envelope.schemaVersion == exchangeSchemaVersion else {
            throw DecodeFailure("unsupported schema version \(envelope.schemaVersion)")
        }
        guard envelope.payload != nil else {
            throw DecodeFailure("envelope without a payload (unknown message type?)")
        }
        return envelope
    }

    /// The envelope as protobuf JSON (field names in lowerCamelCase, enums by name), for
    /// `exchange tail` and humans.
    public static func json(_ envelope: Exchange_V1_Envelope) -> String {
        var options = JSONEncodingOptions()
        options.alwaysPrintEnumsAsInts = false
        do { return try envelope.jsonString(options: options) } catch { return "{\"error\":\"\(error)\"}" }
    }
}

extension Exchange_V1_Envelope {
    /// A new envelope of the current schema around a payload.
    public init(
        payload: Exchange_V1_Envelope.OneOf_Payload,
        eventID: Exchange_V1_EventID? = nil,
        requestID: String = "",
        replyTo: String = "",
        createdAtMs: Int64,
        emittedAtMs: Int64,
        producer: String = ""
    ) {
        self.init()
        self.schemaVersion = exchangeSchemaVersion
        if let eventID { self.eventID = eventID }
        self.requestID = requestID
        self.replyTo = replyTo
        self.createdAtMs = createdAtMs
        self.emittedAtMs = emittedAtMs
        self.producer = producer
        self.payload = payload
    }

    /// The payload's message name, for metrics and logs (`place_order`).
    public var payloadKind: String {
        guard let payload else { return "none" }
        switch payload {
        case .placeOrder: return "place_order"
        case .cancelOrder: return "cancel_order"
        case .cancelOpenOrders: return "cancel_open_orders"
        case .cancelReplaceOrder: return "cancel_replace_order"
        case .amendOrder: return "amend_order"
        case .fundedOrder: return "funded_order"
        case .orderRejected: return "order_rejected"
        case .orderUpdate: return "order_update"
        case .trade: return "trade"
        case .bookDelta: return "book_delta"
        case .balanceChange: return "balance_change"
        case .deposit: return "deposit"
        case .withdrawal: return "withdrawal"
        case .accountAdmin: return "account_admin"
        case .apiKeyAdmin: return "api_key_admin"
        case .deadLetter: return "dead_letter"
        case .fundedCancelReplace: return "funded_cancel_replace"
        case .assetAdmin: return "asset_admin"
        case .commissionTierAdmin: return "commission_tier_admin"
        case .adminRejected: return "admin_rejected"
        case .mdDepthDiff: return "md_depth_diff"
        case .mdDepthSnapshot: return "md_depth_snapshot"
        case .mdDepthResync: return "md_depth_resync"
        case .mdTrade: return "md_trade"
        case .mdAggTrade: return "md_agg_trade"
        case .mdBookTicker: return "md_book_ticker"
        case .mdKline: return "md_kline"
        case .mdTicker: return "md_ticker"
        case .mdAvgPrice: return "md_avg_price"
        }
    }
}

extension Exchange_V1_EventID {
    /// The id of output number `index` caused by the input record at `topic[partition]@offset`.
    public init(sourceTopic: String, sourcePartition: Int32, sourceOffset: Int64, index: UInt32) {
        self.init()
        self.sourceTopic = sourceTopic
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
        self.index = index
    }
}

extension Exchange_V1_FundedOrder {
    /// An order with what the ledger adds to it: commission rates, the symbol's assets and, for a
    /// MARKET BUY by quantity, the quote budget.
    public init(
        order: Exchange_V1_PlaceOrder, makerCommissionRate: Int64, takerCommissionRate: Int64,
        baseAsset: String = "", quoteAsset: String = "", quoteBudget: Int64 = 0
    ) {
        self.init()
        self.order = order
        self.makerCommissionRate = makerCommissionRate
        self.takerCommissionRate = takerCommissionRate
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
        self.quoteBudget = quoteBudget
    }
}
