import Foundation

/// Where the repository, the built binaries and the test virtualenv are.
enum Paths {
    /// Tests/IntegrationTests/Support/Paths.swift, four levels down.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    /// The built products; `READINESS_BIN_DIR` points the tests at other builds (release).
    static let binaries = ProcessInfo.processInfo.environment["READINESS_BIN_DIR"] ?? "\(repository)/.build/debug"
    static let listener = "\(binaries)/readiness_listener"
    /// The SwiftPM debug build, which alone has the listener's test hooks
    /// (READINESS_TEST_SHUTDOWN_DELAY_MS): the release binaries do not ship them.
    static let debugListener = "\(repository)/.build/debug/readiness_listener"
    static let probe = "\(binaries)/readiness_probe"
    /// The program that runs the built binaries when they are not for this
    /// machine: `READINESS_EMULATOR` (an absolute path, `make test-arm64` sets
    /// qemu-aarch64-static), or nil to run them directly.
    static let emulator = ProcessInfo.processInfo.environment["READINESS_EMULATOR"].flatMap { $0.isEmpty ? nil : $0 }

    /// The command line that runs `executable`: behind the emulator when it is
    /// one of the built binaries and there is one. Child spawns through this;
    /// a test handing the probe to a shell or to Python splices it in.
    static func command(_ executable: String) -> [String] {
        guard let emulator, executable.hasPrefix("\(binaries)/") else { return [executable] }
        return [emulator, executable]
    }
    /// supervisord and supervisorctl: `.venv` (4.3.0), or a matrix run's
    /// virtualenv named by `READINESS_SUPERVISOR_VENV`.
    static let venv = "\(ProcessInfo.processInfo.environment["READINESS_SUPERVISOR_VENV"] ?? "\(repository)/.venv")/bin"
}

/// The supervisord the tests run, checked once against the version a matrix
/// run asked for (`READINESS_SUPERVISOR_VERSION`), so a wrong virtualenv fails
/// every test that starts supervisord instead of passing for another version.
enum SupervisordVersion {
    struct Mismatch: Error, CustomStringConvertible { let description: String }

    static let checked: Result<String, Mismatch> = {
        let answer = (try? run("\(Paths.venv)/supervisord", ["--version"]))?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let wanted = ProcessInfo.processInfo.environment["READINESS_SUPERVISOR_VERSION"]
        guard !answer.isEmpty, wanted == nil || wanted == answer else {
            let said = answer.isEmpty ? "cannot be run (make the virtualenv first)" : "says \(answer)"
            return .failure(Mismatch(description: "\(Paths.venv)/supervisord --version \(said); the run asked for \(wanted ?? "any version")"))
        }
        print("integration tests run supervisord \(answer) from \(Paths.venv)")
        return .success(answer)
    }()
}
