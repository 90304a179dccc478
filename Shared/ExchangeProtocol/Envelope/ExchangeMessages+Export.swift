// The generated exchange.v1 messages are part of this module's API.
@_exported import ExchangeMessages
