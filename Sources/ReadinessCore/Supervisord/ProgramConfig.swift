/// One process's entry in `supervisor.getAllConfigInfo()`: what the start
/// order checks against supervisord's configuration at start-up.
package struct ProgramConfig: Equatable, Sendable {
    package var group: String
    package var name: String
    /// supervisord starts it by itself.
    package var autostart: Bool
    /// The group's priority: at shutdown supervisord stops groups by
    /// descending priority, each one's processes together, and waits for a
    /// group to be down before the next.
    package var groupPriority: Int

    package init(group: String, name: String, autostart: Bool, groupPriority: Int) {
        self.group = group
        self.name = name
        self.autostart = autostart
        self.groupPriority = groupPriority
    }

    /// Reads one struct of the answer; nil when a field it needs is missing.
    package init?(_ fields: [String: XMLRPC.Value]) {
        guard case .string(let group)? = fields["group"], case .string(let name)? = fields["name"],
            case .bool(let autostart)? = fields["autostart"], case .int(let groupPriority)? = fields["group_prio"]
        else { return nil }
        self.init(group: group, name: name, autostart: autostart, groupPriority: groupPriority)
    }

    package var process: String { group + ":" + name }
}
