@_exported import ExchangeTestSupport
