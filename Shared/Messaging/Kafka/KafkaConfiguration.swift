/// How to reach a Kafka cluster and how the clients built on it behave.
///
/// The typed fields cover what the exchange tunes; `extraProperties` passes anything else straight
/// to librdkafka (and wins over the typed fields, so an operator can override every default).
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list (librdkafka `bootstrap.servers`).
    public var bootstrapServers: String
    /// Client id shown in broker logs and metrics (`client.id`).
    public var clientID: String
    /// How long the producer waits to fill a batch (`linger.ms`); small, so latency stays low
    /// while bursts still batch.
    public var lingerMs: Int
    /// Most messages per produce batch (`batch.num.messages`).
    public var batchNumMessages: Int
    /// Most bytes per produce batch (`batch.size`).
    public var batchSizeBytes: Int
    /// How long a record may wait for a broker acknowledgement before its delivery fails
    /// (`message.timeout.ms`). A failed delivery surfaces as `MessagingError.deliveryFailed`.
    public var messageTimeoutMs: Int
    /// How long blocking admin/metadata/commit calls may take before `MessagingError.timeout`.
    public var requestTimeoutMs: Int
    /// Raw librdkafka properties applied last, e.g. `["security.protocol": "ssl"]`.
    public var extraProperties: [String: String]
    /// Raw librdkafka properties for consumers only (e.g. `fetch.wait.max.ms`), applied after
    /// `extraProperties`; producer and admin clients would warn about them.
    public var consumerProperties: [String: String] = [:]

    /// Creates a configuration; defaults suit a low-latency exchange on a healthy cluster.
    public init(
        bootstrapServers: String,
        clientID: String = "exchange",
        lingerMs: Int = 5,
        batchNumMessages: Int = 10_000,
        batchSizeBytes: Int = 1_000_000,
        messageTimeoutMs: Int = 30_000,
        requestTimeoutMs: Int = 10_000,
        extraProperties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.lingerMs = lingerMs
        self.batchNumMessages = batchNumMessages
        self.batchSizeBytes = batchSizeBytes
        self.messageTimeoutMs = messageTimeoutMs
        self.requestTimeoutMs = requestTimeoutMs
        self.extraProperties = extraProperties
    }

    /// Properties every client shares.
    var commonProperties: [(String, String)] {
        [("bootstrap.servers", bootstrapServers), ("client.id", clientID)]
    }

    /// The producer's properties: idempotent, acknowledged by all in-sync replicas, batched by linger.
    var producerProperties: [(String, String)] {
        commonProperties + [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", String(lingerMs)),
            ("batch.num.messages", String(batchNumMessages)),
            ("batch.size", String(batchSizeBytes)),
            ("message.timeout.ms", String(messageTimeoutMs)),
        ] + extraProperties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The consumer's properties: the application stores and commits positions itself.
    func consumerProperties(groupID: String, clientID: String) -> [(String, String)] {
        [("bootstrap.servers", bootstrapServers), ("client.id", clientID)] + [
            ("group.id", groupID),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
        ] + extraProperties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            + consumerProperties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Properties of the admin/metadata handle.
    var adminProperties: [(String, String)] {
        commonProperties + extraProperties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
