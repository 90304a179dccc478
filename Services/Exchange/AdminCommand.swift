import ArgumentParser

/// `exchange admin ...`: operator commands. Ledger changes are appended to `orders.requests` and
/// answered by the ledger; nothing is changed behind the log's back.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator commands (accounts, API keys, funding, settings, audit).",
        subcommands: [
            AdminAccountCommand.self, AdminApiKeyCommand.self, AdminDepositCommand.self, AdminWithdrawCommand.self,
            AdminAssetCommand.self, AdminTierCommand.self, AdminAuditCommand.self, AdminMasterKeyCommand.self,
        ])
}
