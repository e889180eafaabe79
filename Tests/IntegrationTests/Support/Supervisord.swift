import Foundation
import Testing

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

/// A real supervisord from the test virtualenv, configured with the repository's
/// supervisor.d files (paths pointed at the built binary and a scratch directory).
final class Supervisord {
    let scratch = ScratchDirectory()
    private(set) var process: Child!
    var statusPath: String { "\(scratch.path)/run/status" }
    var logPath: String { "\(scratch.path)/supervisord.log" }
    var outputPath: String { "\(scratch.path)/supervisord.out" }

    /// - Parameters:
    ///   - start: the body of start.sh, or nil for no [program:start] at all.
    ///   - startSettings: replacements for lines of start.conf.example (`key=value`).
    ///   - otherPrograms: programs started at the same time as start.sh.
    ///   - statusDirectory: where the status file lives, if not in the scratch directory.
    ///   - umask: the umask supervisord starts with, and its children inherit
    ///     (`[supervisord] umask=` is applied only when it daemonizes, never
    ///     with the `nodaemon=true` of containers and of these tests).
    /// How supervisord serves XML-RPC: the usual unix socket, one that wants a
    /// password, or none at all.
    enum Server: Equatable { case unixSocket, passwordProtected, none, inet(port: Int) }

    /// A program of the test's own: a script (`@SCRATCH@` in it stands for
    /// the scratch directory) and its [program:NAME] settings.
    struct Program {
        var name: String
        var script: String
        var settings: [String: String] = [:]
    }

    /// A program that logs to stops.log in the scratch directory when it
    /// starts and when it gets SIGTERM, taking `stopSeconds` to stop: proof
    /// that it was stopped gracefully.
    static func trapping(_ name: String, stopSeconds: Int = 0, settings: [String: String] = [:]) -> Program {
        Program(name: name, script: """
            trap 'echo "\(name) got TERM" >> @SCRATCH@/stops.log; sleep \(stopSeconds); exit 0' TERM
            echo "\(name) started" >> @SCRATCH@/stops.log
            while :; do sleep 0.2; done
            """, settings: ["startsecs": "0", "autorestart": "false", "stopwaitsecs": "5"].merging(settings) { $1 })
    }

    init(start: String?, startSettings: [String: String] = [:], otherPrograms: Int = 0, listenerSettings: [String: String] = [:],
         statusDirectory: String? = nil, server: Server = .unixSocket, otherProgram: String = "/bin/sleep 60",
         programs: [Program] = [], listenerArguments: String = "", rpcInterfaceModule: String? = nil,
         listenerBinary: String = Paths.listener, extraConfig: String? = nil, umask: String? = nil,
         asPID1WithoutProc: Bool = false) throws {
        _ = try SupervisordVersion.checked.get()
        let statusFile = statusDirectory.map { "\($0)/status" } ?? "\(scratch.path)/run/status"
        self.statusOverride = statusDirectory.map { "\($0)/status" }
        let socket = "\(scratch.path)/supervisor.sock"
        // A module of the test's own, imported by supervisord as its rpcinterface.
        let rpcInterfaceFactory = rpcInterfaceModule == nil ? "supervisor.rpcinterface:make_main_rpcinterface" : "test_rpcinterface:make"
        if let rpcInterfaceModule { _ = scratch.write("test_rpcinterface.py", rpcInterfaceModule) }
        let credentials = server == .passwordProtected ? "username=operator\npassword=s3cret\n" : ""
        var serverSections =
            server == .none
            ? ""
            : """
            [unix_http_server]
            file=\(socket)
            \(credentials)
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = \(rpcInterfaceFactory)

            [supervisorctl]
            serverurl=unix://\(socket)
            \(credentials)
            """
        if case .inet(let port) = server {
            serverSections = """
                [inet_http_server]
                port=127.0.0.1:\(port)

                [rpcinterface:supervisor]
                supervisor.rpcinterface_factory = \(rpcInterfaceFactory)

                [supervisorctl]
                serverurl=http://127.0.0.1:\(port)

                """
        }
        _ = scratch.write("supervisord.conf", """
            [supervisord]
            nodaemon=true
            logfile=\(logPath)
            pidfile=\(scratch.path)/supervisord.pid
            childlogdir=\(scratch.path)
            loglevel=info

            \(serverSections)
            [include]
            files = \(scratch.path)/conf.d/*.conf

            """)
        var listener = try String(contentsOfFile: "\(Paths.repository)/supervisor.d/readiness_listener.conf", encoding: .utf8)
        listener = listener.replacingOccurrences(of: "/usr/bin/readiness_listener", with: Paths.command(listenerBinary).joined(separator: " "))
            .replacingOccurrences(of: "/run/readiness/status", with: statusFile)
        if !listenerArguments.isEmpty {
            let arguments = listenerArguments.replacingOccurrences(of: "@SCRATCH@", with: scratch.path)
            listener = listener.replacingOccurrences(of: "--status-file \(statusFile)\n", with: "--status-file \(statusFile) \(arguments)\n")
        }
        _ = scratch.write("conf.d/readiness_listener.conf", Self.override(listener, listenerSettings))
        if let start {
            let script = scratch.script("start.sh", "#!/bin/sh\n\(start)\n")
            var conf = try String(contentsOfFile: "\(Paths.repository)/supervisor.d/start.conf.example", encoding: .utf8)
            conf = conf.replacingOccurrences(of: "command=/usr/local/bin/start.sh", with: "command=\(script)")
            _ = scratch.write("conf.d/start.conf", Self.override(conf, startSettings))
        }
        if otherPrograms > 0 {
            let others = (1...otherPrograms).map {
                "[program:other\($0)]\ncommand=\(otherProgram)\nstartsecs=0\nautorestart=false\nstdout_logfile=NONE\nstderr_logfile=NONE\n"
            }
            _ = scratch.write("conf.d/others.conf", others.joined(separator: "\n"))
        }
        for program in programs {
            let body = program.script.replacingOccurrences(of: "@SCRATCH@", with: scratch.path)
            let script = scratch.script("\(program.name).sh", "#!/bin/sh\n\(body)\n")
            let settings = ["command": script, "stdout_logfile": "NONE", "stderr_logfile": "NONE"].merging(program.settings) { $1 }
            _ = scratch.write("conf.d/program-\(program.name).conf", Self.override("[program:\(program.name)]\n", settings))
        }
        if let extraConfig { _ = scratch.write("conf.d/extra.conf", extraConfig) }
        var environment = ProcessInfo.processInfo.environment
        if rpcInterfaceModule != nil { environment["PYTHONPATH"] = scratch.path }
        let command = ["\(Paths.venv)/supervisord", "-c", "\(scratch.path)/supervisord.conf"]
        // Through sh, which sets the umask and execs supervisord: the child's pid stays supervisord's.
        var (executable, arguments) = umask.map { ("/bin/sh", ["-c", "umask \($0) && exec \"$0\" \"$@\""] + command) } ?? (command[0], Array(command.dropFirst()))
        if asPID1WithoutProc {
            // PID 1 of a pid namespace of its own, as in a container, with an
            // empty /proc: nothing can read its start time. When unshare
            // ends, supervisord is killed, and with it, by the kernel,
            // everything in the namespace: a container killed at once.
            arguments = ["--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "/bin/sh", "-c",
                         "mount -t tmpfs none /proc && exec \"$0\" \"$@\"", executable] + arguments
            executable = "/usr/bin/unshare"
            killedToStop = true
        }
        process = try Child(executable, arguments, stdout: outputPath, stderr: outputPath, environment: environment)
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
    /// The listener's pid, from the status file: nil before its first write.
    var listenerPID: pid_t? { status?["listener_pid"].flatMap { pid_t($0) } }

    /// Whether the listener handled a TICK_5 after `moment`, waiting for
    /// one: the witness that a window in which "nothing happens" lasted past
    /// the TICK whose reconcile would have found what the test denies. At a
    /// TICK where nothing changed, the listener's heartbeat sets the status
    /// file's modification time and leaves its text alone; a write (another
    /// event, or a TICK that changed the record) changes the text, and the
    /// wait starts again from it. So the deadline spans several TICKs.
    func handledATick(after moment: Date, within seconds: Double = 30) -> Bool {
        var since = moment
        var text = statusSnapshot()?.text
        return eventually(within: seconds) {
            guard let now = statusSnapshot(), now.modified > since else { return false }
            guard now.text == text else {
                (since, text) = (now.modified, now.text)
                return false
            }
            return true
        }
    }

    /// The status file's text and modification time from one open file: the
    /// listener replaces the file by rename and touches it in place, so the
    /// two belong to the same record even while it writes.
    private func statusSnapshot() -> (text: String, modified: Date)? {
        guard let handle = FileHandle(forReadingAtPath: statusFile) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        var info = stat()
        guard fstat(handle.fileDescriptor, &info) == 0 else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return (String(decoding: data, as: UTF8.self), Date(timeIntervalSince1970: modified))
    }

    /// Waits for the status file to say `state`: the file that said it, or
    /// nil when it did not within `seconds` (so `#require` fails there).
    func waitForState(_ state: String, within seconds: Double = 20) -> StatusFile? {
        var seen: StatusFile?
        let reached = eventually(within: seconds) {
            seen = status
            return seen?["state"] == state
        }
        return reached ? seen : nil
    }

    func probe(_ arguments: [String] = []) throws -> Completed {
        try run(Paths.probe, ["--status-file", statusFile, "--hook", "\(scratch.path)/no-hook"] + arguments)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    /// Whether the listener has logged `text`, waiting a little: its log
    /// reaches `output` through supervisord, which copies the listener's
    /// stderr when its loop gets to it, possibly after the status file
    /// that the log line came with was written.
    func logged(_ text: String, within seconds: Double = 5) -> Bool {
        eventually(within: seconds) { output.contains(text) }
    }
    /// What programs made with `trapping` logged.
    var stops: String { (try? String(contentsOfFile: "\(scratch.path)/stops.log", encoding: .utf8)) ?? "" }

    /// SIGTERM, or for `asPID1WithoutProc` SIGKILL (unshare ignores SIGTERM
    /// while it waits): a container killed.
    func stop() {
        if killedToStop {
            process?.signal(SIGKILL)
            process?.wait()
        } else {
            process?.stop()
        }
    }

    private var killedToStop = false

    /// Runs the probe every few milliseconds until `done` holds (or
    /// `seconds` pass): every exit code it gave, in order (what kubelet
    /// could have seen in that window), and those it gave before `done`
    /// held. `done` is asked right after each probe: the file only moves
    /// forward, so a READY the probe read from the awaited state is followed
    /// by `done` holding, and one from an earlier state is not.
    func probeCodes(until done: () -> Bool, within seconds: Double = 30) throws -> (all: [Int32], beforeDone: [Int32]) {
        var codes: [Int32] = []
        let deadline = Date().addingTimeInterval(Slowness.scaled(seconds))
        while Date() < deadline {
            codes.append(try probe().status)
            if done() { return (codes, Array(codes.dropLast())) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return (codes, codes)
    }

    deinit { stop() }
}

extension Supervisord {
    /// What the probe says, on stdout when ready and stderr when not.
    func probeLine(_ arguments: [String] = []) throws -> String {
        let answer = try probe(arguments)
        return (answer.stdout + answer.stderr).trimmingCharacters(in: .newlines)
    }

    /// Waits until the probe's line is `line` (exactly), or starts with it when `prefix`.
    func probeSays(_ line: String, prefix: Bool = false, within seconds: Double = 30) -> Bool {
        eventually(within: seconds) {
            let said = (try? probeLine()) ?? ""
            return prefix ? said.hasPrefix(line) : said == line
        }
    }

    /// The pid supervisord gives for `program`.
    func pid(of program: String) throws -> Int? {
        let words = try ctl("status", program).stdout.split(separator: " ", omittingEmptySubsequences: true)
        guard let index = words.firstIndex(of: "pid") else { return nil }
        return Int(words[index + 1].trimmingCharacters(in: CharacterSet(charactersIn: ",")))
    }

    /// Whether the listener, by the pid supervisord gives, sits idle for
    /// 1.5 s (`staysIdle`): every event answered, no write in flight.
    func listenerSitsIdle() throws -> Bool {
        staysIdle(pid_t(try #require(try pid(of: "readiness_listener"))), for: 1.5)
    }
}
