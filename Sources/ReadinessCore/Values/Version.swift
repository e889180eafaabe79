/// The version both binaries report with `--version`.
package enum ReadinessVersion {
    package static let current = "0.1.0"
}
