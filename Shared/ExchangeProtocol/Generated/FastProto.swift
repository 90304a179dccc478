// Hand-written (not generated): the runtime of the direct protobuf codec that
// scripts/generate-fastcodec.py emits into exchange_v1_fastcodec.swift. It lives in this module so
// the generated encoders and decoders are specialized with it; scripts/generate-protos.sh keeps it.

import Foundation
import SwiftProtobuf

/// Thrown by a direct decoder on input it does not handle (an unknown field, an unexpected wire
/// type, a repeated singular message, invalid UTF-8, truncation). The caller then decodes the
/// same bytes with SwiftProtobuf, so unusual input gets SwiftProtobuf's behaviour.
public struct ProtoFallback: Error, Sendable {
    public init() {}
}

/// A message with a direct encoder that writes exactly SwiftProtobuf's bytes and a direct decoder
/// for the encodings those encoders produce. SwiftProtobuf's own paths go through generic
/// visitors that are not specialized across modules (a third of the ledger's CPU).
public protocol FastProtoMessage: SwiftProtobuf.Message {
    /// Appends the message's fields (not a length prefix).
    func fastEncode(into writer: inout ProtoWriter)
    /// Reads fields from `reader` up to offset `end`.
    static func fastDecode(_ reader: inout ProtoReader, end: Int) throws(ProtoFallback) -> Self
}

extension FastProtoMessage {
    /// The message's protobuf bytes, identical to `serializedBytes()`. Inlinable (as is the
    /// decoding initializer) so callers get it specialized for the concrete message.
    @inlinable
    public func fastSerializedBytes(capacity: Int = 128) -> [UInt8] {
        var writer = ProtoWriter(capacity: capacity)
        fastEncode(into: &writer)
        return writer.finish()
    }

    /// Decodes directly, or with SwiftProtobuf when the direct decoder gives up.
    @inlinable
    public init(fastSerializedBytes bytes: [UInt8]) throws {
        let direct: Self? = bytes.withUnsafeBytes { raw in
            var reader = ProtoReader(raw)
            return try? Self.fastDecode(&reader, end: raw.count)
        }
        if let direct {
            self = direct
        } else {
            try self.init(serializedBytes: bytes)
        }
    }
}

/// Writes protobuf wire format into a growable buffer of its own; whoever makes one calls
/// `finish` once, which copies the result out and frees the buffer. Public (and inlinable) for
/// services that write a payload's fields straight from their own values (matching's order
/// updates), byte-identical to the generated encoders (tested).
public struct ProtoWriter {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    @usableFromInline var count = 0

    @inlinable
    public init(capacity: Int) {
        self.capacity = max(capacity, 32)
        base = .allocate(capacity: self.capacity)
    }

    @inlinable
    public mutating func finish() -> [UInt8] {
        defer { base.deallocate() }
        return Array(UnsafeBufferPointer(start: base, count: count))
    }

    @inlinable @inline(__always)
    mutating func ensure(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    @usableFromInline @inline(never)
    mutating func grow(_ needed: Int) {
        let bigger = max(needed, capacity * 2)
        let next = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
        next.update(from: base, count: count)
        base.deallocate()
        base = next
        capacity = bigger
    }

    @inlinable @inline(__always)
    public mutating func tag(_ b0: UInt8) {
        ensure(1)
        base[count] = b0
        count += 1
    }

    @inlinable @inline(__always)
    public mutating func tag(_ b0: UInt8, _ b1: UInt8) {
        ensure(2)
        base[count] = b0
        base[count + 1] = b1
        count += 2
    }

    @inlinable @inline(__always)
    public mutating func varint(_ value: UInt64) {
        ensure(10)
        var v = value
        while v >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: v) | 0x80
            count += 1
            v >>= 7
        }
        base[count] = UInt8(truncatingIfNeeded: v)
        count += 1
    }

    @inlinable @inline(__always)
    public mutating func append(_ source: UnsafeRawBufferPointer) {
        ensure(source.count)
        if let from = source.baseAddress { UnsafeMutableRawPointer(base + count).copyMemory(from: from, byteCount: source.count) }
        count += source.count
    }

    /// A length-delimited field's length and bytes.
    @inlinable @inline(__always)
    public mutating func raw(_ source: UnsafeRawBufferPointer) {
        varint(UInt64(source.count))
        append(source)
    }

    @inlinable
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    mutating func data(_ value: Data) {
        value.withUnsafeBytes { raw($0) }
    }

    /// A length-delimited message.
    mutating func message<M: FastProtoMessage>(_ value: M) {
        delimited { value.fastEncode(into: &$0) }
    }

    /// A length-delimited body that `body` writes: one byte is reserved for the length, which is
    /// widened in place (the body moved right) when the body turns out to be 128 bytes or longer.
    @inlinable
    public mutating func delimited(_ body: (inout ProtoWriter) -> Void) {
        ensure(1)
        let start = count
        count += 1
        body(&self)
        finishDelimited(start: start)
    }

    @usableFromInline
    mutating func finishDelimited(start: Int) {
        let length = count - start - 1
        if length < 0x80 {
            base[start] = UInt8(length)
            return
        }
        var width = 1
        while (length >> (7 * width)) != 0 { width += 1 }
        ensure(width - 1)
        (base + start + width).update(from: base + start + 1, count: length)
        var v = length
        for i in 0..<width {
            base[start + i] = UInt8(truncatingIfNeeded: v & 0x7F) | (i < width - 1 ? 0x80 : 0)
            v >>= 7
        }
        count += width - 1
    }

    /// Fields SwiftProtobuf kept because it did not know them; it writes them last, so do we.
    mutating func unknown(_ fields: UnknownStorage) {
        if !fields.data.isEmpty { fields.data.withUnsafeBytes { append($0) } }
    }
}

/// Reads protobuf wire format from a buffer that outlives the reader.
public struct ProtoReader {
    @usableFromInline let base: UnsafeRawPointer?
    @usableFromInline let count: Int
    public var position = 0

    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer.baseAddress
        count = buffer.count
    }

    @inlinable @inline(__always)
    public mutating func varint() throws(ProtoFallback) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < count, shift < 64 else { throw ProtoFallback() }
            let byte = base.unsafelyUnwrapped.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    @inlinable @inline(__always)
    mutating func length() throws(ProtoFallback) -> Int {
        let n = try varint()
        guard n <= UInt64(count - position) else { throw ProtoFallback() }
        return Int(n)
    }

    /// A length-delimited UTF-8 string; invalid UTF-8 gives up (SwiftProtobuf rejects it).
    /// ASCII (what the contract's strings are) is checked eight bytes at a time and decoded by
    /// the specialized `String(decoding:)`; anything else is validated strictly.
    @inlinable
    public mutating func string() throws(ProtoFallback) -> String {
        let n = try length()
        if n == 0 { return "" }
        let start = base.unsafelyUnwrapped.advanced(by: position)
        position += n
        let bytes = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: n)
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= n {
            high |= start.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            high |= UInt64(bytes[i])
            i += 1
        }
        if high & 0x8080_8080_8080_8080 == 0 { return String(decoding: bytes, as: UTF8.self) }
        guard let value = String(validating: bytes, as: UTF8.self) else { throw ProtoFallback() }
        return value
    }

    @inlinable
    public mutating func data() throws(ProtoFallback) -> Data {
        let n = try length()
        if n == 0 { return Data() }
        let value = Data(bytes: base.unsafelyUnwrapped.advanced(by: position), count: n)
        position += n
        return value
    }

    @inlinable
    public mutating func message<M: FastProtoMessage>(_ type: M.Type) throws(ProtoFallback) -> M {
        let n = try length()
        return try M.fastDecode(&self, end: position + n)
    }
}

extension Exchange_V1_Envelope {
    /// The envelope's bytes (as `fastSerializedBytes()`) and the offset where its payload field
    /// begins: `bytes[payloadStart...]` is the payload a copy for another topic can reuse.
    public func fastSerializedBytesMarkingPayload(capacity: Int = 256) -> (bytes: [UInt8], payloadStart: Int) {
        var writer = ProtoWriter(capacity: capacity)
        fastEncodeHeader(into: &writer)
        let payloadStart = writer.count
        fastEncodePayload(into: &writer)
        return (writer.finish(), payloadStart)
    }

    /// This envelope's header fields (1-7) followed by `payload`, the payload field of another
    /// envelope's bytes: the bytes of this envelope with that envelope's payload (and without
    /// this one's own, which is not read). Nothing is copied but bytes.
    public func fastSerializedBytes(payloadBytes payload: ArraySlice<UInt8>) -> [UInt8] {
        var writer = ProtoWriter(capacity: 64 + payload.count)
        fastEncodeHeader(into: &writer)
        payload.withUnsafeBytes { writer.append($0) }
        return writer.finish()
    }
}
