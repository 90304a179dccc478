import NIOCore

extension ByteBuffer {
    /// One unfragmented, unmasked WebSocket text frame (RFC 6455 §5.2: FIN + opcode 1, then the
    /// payload length in 7, 16 or 64 bits, then the payload), as a server sends it.
    ///
    /// The fan-out encodes a message's frame once and hands the same buffer to every subscriber,
    /// which the connection writes below NIO's `WebSocketFrameEncoder`: the encoder cannot
    /// prepend its header into a buffer other connections share, so it would allocate a header
    /// buffer and queue two writes per frame per connection.
    public init(webSocketText text: String) {
        let length = text.utf8.count
        let header = length < 126 ? 2 : length <= Int(UInt16.max) ? 4 : 10
        self = ByteBufferAllocator().buffer(capacity: header + length)
        self.writeInteger(UInt8(0x81))
        switch header {
        case 2:
            self.writeInteger(UInt8(length))
        case 4:
            self.writeInteger(UInt8(126))
            self.writeInteger(UInt16(length))
        default:
            self.writeInteger(UInt8(127))
            self.writeInteger(UInt64(length))
        }
        self.writeString(text)
    }
}
