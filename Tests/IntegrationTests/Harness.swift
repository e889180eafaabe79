import Foundation
import Testing

/// Where the repository, the built binaries and the test virtualenv are.
enum Paths {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    /// The built products; `READINESS_BIN_DIR` points the tests at other builds (release).
    static let binaries = ProcessInfo.processInfo.environment["READINESS_BIN_DIR"] ?? "\(repository)/.build/debug"
    static let listener = "\(binaries)/readiness_listener"
    static let probe = "\(binaries)/readiness_probe"
    static let venv = "\(repository)/.venv/bin"
}

/// The result of running a command to completion.
struct Completed {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
}

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rdy-\(UUID().uuidString.prefix(8))").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes an executable file (mode 0755 unless told otherwise).
    @discardableResult
    func script(_ name: String, _ body: String, mode: Int = 0o755) -> String {
        let file = "\(path)/\(name)"
        try! body.write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, mode_t(mode))
        return file
    }

    func write(_ name: String, _ text: String) -> String {
        let file = "\(path)/\(name)"
        try! FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }
}

/// Runs a command with stdout and stderr captured in files (no pipe can fill up).
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws -> Completed {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let scratch = ScratchDirectory()
    _ = FileManager.default.createFile(atPath: "\(scratch.path)/out", contents: nil)
    _ = FileManager.default.createFile(atPath: "\(scratch.path)/err", contents: nil)
    let out = FileHandle(forWritingAtPath: "\(scratch.path)/out")!
    let err = FileHandle(forWritingAtPath: "\(scratch.path)/err")!
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    let started = Date()
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Completed(
        status: process.terminationStatus,
        stdout: try String(contentsOfFile: "\(scratch.path)/out", encoding: .utf8),
        stderr: try String(contentsOfFile: "\(scratch.path)/err", encoding: .utf8),
        seconds: Date().timeIntervalSince(started))
}

/// The status file as a dictionary of its last value per key (history lines collected apart).
struct StatusFile {
    var values: [String: String]
    var history: [String]

    init?(path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasSuffix("end=1\n") else { return nil }
        values = [:]
        history = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            if parts[0] == "history" { history.append(String(parts[1])) } else { values[String(parts[0])] = String(parts[1]) }
        }
    }

    subscript(key: String) -> String? { values[key] }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass.
func eventually(within seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// A real supervisord from the test virtualenv, configured with the repository's
/// supervisor.d files (paths pointed at the built binary and a scratch directory).
final class Supervisord {
    let scratch = ScratchDirectory()
    let process = Process()
    var statusPath: String { "\(scratch.path)/run/status" }
    var logPath: String { "\(scratch.path)/supervisord.log" }
    var outputPath: String { "\(scratch.path)/supervisord.out" }

    /// - Parameters:
    ///   - start: the body of start.sh, or nil for no [program:start] at all.
    ///   - startSettings: replacements for lines of start.conf.example (`key=value`).
    ///   - otherPrograms: programs started at the same time as start.sh.
    ///   - statusDirectory: where the status file lives, if not in the scratch directory.
    init(start: String?, startSettings: [String: String] = [:], otherPrograms: Int = 0, listenerSettings: [String: String] = [:],
         statusDirectory: String? = nil) throws {
        let statusFile = statusDirectory.map { "\($0)/status" } ?? "\(scratch.path)/run/status"
        self.statusOverride = statusDirectory.map { "\($0)/status" }
        let socket = "\(scratch.path)/supervisor.sock"
        _ = scratch.write("supervisord.conf", """
            [supervisord]
            nodaemon=true
            logfile=\(logPath)
            pidfile=\(scratch.path)/supervisord.pid
            childlogdir=\(scratch.path)
            loglevel=info

            [unix_http_server]
            file=\(socket)

            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

            [supervisorctl]
            serverurl=unix://\(socket)

            [include]
            files = \(scratch.path)/conf.d/*.conf

            """)
        var listener = try String(contentsOfFile: "\(Paths.repository)/supervisor.d/readiness_listener.conf", encoding: .utf8)
        listener = listener.replacingOccurrences(of: "/usr/bin/readiness_listener", with: Paths.listener)
            .replacingOccurrences(of: "/run/readiness/status", with: statusFile)
        _ = scratch.write("conf.d/readiness_listener.conf", Self.override(listener, listenerSettings))
        if let start {
            let script = scratch.script("start.sh", "#!/bin/sh\n\(start)\n")
            var conf = try String(contentsOfFile: "\(Paths.repository)/supervisor.d/start.conf.example", encoding: .utf8)
            conf = conf.replacingOccurrences(of: "command=/usr/local/bin/start.sh", with: "command=\(script)")
            _ = scratch.write("conf.d/start.conf", Self.override(conf, startSettings))
        }
        if otherPrograms > 0 {
            let others = (1...otherPrograms).map {
                "[program:other\($0)]\ncommand=/bin/sleep 60\nstartsecs=0\nautorestart=false\nstdout_logfile=NONE\nstderr_logfile=NONE\n"
            }
            _ = scratch.write("conf.d/others.conf", others.joined(separator: "\n"))
        }
        process.executableURL = URL(fileURLWithPath: "\(Paths.venv)/supervisord")
        process.arguments = ["-c", "\(scratch.path)/supervisord.conf"]
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = FileHandle(forWritingAtPath: outputPath)!
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    private let statusOverride: String?

    /// The status file this supervisord's listener writes.
    var statusFile: String { statusOverride ?? statusPath }

    /// Replaces `key=...` lines of an ini section, or appends them.
    static func override(_ conf: String, _ settings: [String: String]) -> String {
        var lines = conf.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            if let index = lines.firstIndex(where: { $0.hasPrefix("\(key)=") }) {
                lines[index] = "\(key)=\(value)"
            } else if let section = lines.lastIndex(where: { $0.hasPrefix("[") }) {
                lines.insert("\(key)=\(value)", at: section + 1)
            }
        }
        return lines.joined(separator: "\n")
    }

    func ctl(_ arguments: String...) throws -> Completed {
        try run("\(Paths.venv)/supervisorctl", ["-c", "\(scratch.path)/supervisord.conf"] + arguments)
    }

    /// `supervisorctl status NAME`'s state column.
    func state(of program: String) throws -> String {
        let line = try ctl("status", program).stdout
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
    }

    var status: StatusFile? { StatusFile(path: statusFile) }

    /// Waits for the status file to say `state`.
    func waitForState(_ state: String, within seconds: Double = 20) -> StatusFile? {
        _ = eventually(within: seconds) { status?["state"] == state }
        return status
    }

    func probe(_ arguments: [String] = []) throws -> Completed {
        try run(Paths.probe, ["--status-file", statusFile, "--hook", "\(scratch.path)/no-hook"] + arguments)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        if !eventually(within: 15, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
