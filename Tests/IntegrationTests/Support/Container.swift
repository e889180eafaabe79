import Foundation
import Testing

/// The layers `make e2e` prepares: a pristine debootstrapped Debian 12 with
/// its own supervisord (`base`), and the product installed with the README's
/// Dockerfile steps (`installed`). Each container stacks its own layer on top.
enum ContainerImage {
    static let base = ProcessInfo.processInfo.environment["READINESS_E2E_BASE"]
    static let installed = ProcessInfo.processInfo.environment["READINESS_E2E_INSTALLED"]
    /// `make e2e` sets both; a bare `swift test` skips the container suite.
    static var available: Bool { base != nil && installed != nil }
    /// PID 1 of every container: the README Dockerfile's CMD.
    static let command = ["/usr/bin/supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"]
    /// What a read-only root needs on top (README, Put it in an image).
    static let readOnlyRootArguments = ["--logfile", "/dev/null", "--logfile_maxbytes", "0"]
    /// Container ids start with the branch name, then a token unique to this run.
    static let prefix = "e2e-"
    static let runToken = "\(prefix)\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    static let directory = "\(Paths.repository)/.build/e2e/containers"
    /// Where the image puts start.sh and its program section (README's Dockerfile).
    static let startScript = "/usr/local/bin/start.sh"
    static let startConfig = "/etc/supervisor/conf.d/start.conf"
    /// Where the listener's config lands in Debian's layout.
    static let listenerConfig = "/etc/supervisor/conf.d/readiness_listener.conf"
    /// The listener's `--http` address in every container (Options.http):
    /// loopback of the container's own network namespace, where the
    /// kubelet-like prober's httpGet probes connect.
    static let httpPort: UInt16 = 8080
    /// What containerd gives a pod's container by default (its
    /// defaultUnixCaps); `runc spec` gives only AUDIT_WRITE, KILL and
    /// NET_BIND_SERVICE, under which supervisord's `user=` fails ("couldn't
    /// setuid to 100: Could not set groups of effective user", no CAP_SETGID).
    static let containerdCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// Containers and overlay mounts a crashed earlier run left in this
    /// repository's directory: only ids with our prefix whose bundle is ours.
    static let leftoversRemoved: Void = {
        if let list = try? run("/usr/sbin/runc", ["list", "--format", "json"]).stdout,
            let entries = try? JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]] {
            for entry in entries {
                guard let id = entry["id"] as? String, id.hasPrefix(prefix),
                    let bundle = entry["bundle"] as? String, bundle.hasPrefix(directory)
                else { continue }
                _ = try? run("/usr/sbin/runc", ["delete", "-f", id])
            }
        }
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 1, fields[1].hasPrefix(directory + "/") { _ = try? run("/usr/bin/umount", [String(fields[1])]) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }()
}

struct ContainerError: Error, CustomStringConvertible { let description: String }

/// One runc container: supervisord as PID 1 over an overlay of
/// `own layer : installed : base`, /run a tmpfs, no rlimits, and a network
/// namespace of its own with only the loopback interface (runc brings it up).
final class Container {
    struct Options {
        /// The body of /usr/local/bin/start.sh; nil leaves the command missing.
        var start: String? = "exit 0"
        /// The body of /usr/bin/readiness_probe_hook, if any.
        var hook: String?
        /// More supervisord sections, as an image adds its own programs.
        var programs = ""
        /// More arguments for the listener's command line.
        var listenerArguments: [String] = []
        /// More files in the container's own layer (absolute path: contents),
        /// as an image adds the configs of its programs.
        var files: [String: String] = [:]
        /// The container's capabilities (bounding, effective, permitted); nil
        /// keeps `runc spec`'s three.
        var capabilities: [String]?
        /// The listener's `--http` address, inside the container's network
        /// namespace; nil leaves httpGet probes out (and the config as installed).
        var http: String? = "127.0.0.1:\(ContainerImage.httpPort)"
        /// readOnlyRootFilesystem: only the tmpfs mounts are writable.
        var readOnlyRoot = false
        /// A host directory kept at /run/readiness, as an emptyDir outlives a container.
        var statusDirectory: String?
        /// The installed layer; a test points it at a broken install.
        var installed = ContainerImage.installed ?? ""
    }

    let id: String
    let bundle: String
    /// Where the listener answers httpGet probes, if it was given `--http`.
    let httpPort: UInt16?
    var rootfs: String { "\(bundle)/rootfs" }
    private(set) var initPID: Int32 = 0
    private var mounted = false

    init(_ options: Options = Options()) throws {
        ContainerImage.leftoversRemoved
        id = "\(ContainerImage.runToken)-\(UUID().uuidString.prefix(6).lowercased())"
        bundle = "\(ContainerImage.directory)/\(id)"
        httpPort = options.http.flatMap { $0.split(separator: ":").last.flatMap { UInt16($0) } }
        do { try create(options) } catch {
            destroy()
            throw error
        }
    }

    private func create(_ options: Options) throws {
        let layer = "\(bundle)/layer"
        for directory in ["layer", "upper", "work", "rootfs"] {
            try FileManager.default.createDirectory(atPath: "\(bundle)/\(directory)", withIntermediateDirectories: true)
        }
        func put(_ path: String, _ text: String, mode: Int = 0o644) throws {
            let file = layer + path
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: false, encoding: .utf8)
            chmod(file, mode_t(mode))
        }
        try put(ContainerImage.startConfig, try String(contentsOfFile: "\(Paths.repository)/supervisor.d/start.conf.example", encoding: .utf8))
        if let start = options.start { try put(ContainerImage.startScript, "#!/bin/sh\n\(start)\n", mode: 0o755) }
        if let hook = options.hook { try put("/usr/bin/readiness_probe_hook", "#!/bin/sh\n\(hook)\n", mode: 0o755) }
        if !options.programs.isEmpty { try put("/etc/supervisor/conf.d/programs.conf", options.programs) }
        for (path, text) in options.files { try put(path, text) }
        let listenerArguments = options.listenerArguments + (options.http.map { ["--http", $0] } ?? [])
        if !listenerArguments.isEmpty {
            guard let installed = try? String(contentsOfFile: options.installed + ContainerImage.listenerConfig, encoding: .utf8) else {
                throw ContainerError(description: "the installed layer has no \(ContainerImage.listenerConfig) to give more arguments to: a broken install")
            }
            let command = "command=/usr/bin/readiness_listener --program start --status-file /run/readiness/status"
            guard installed.contains(command) else { throw ContainerError(description: "no `\(command)` line to extend") }
            try put(ContainerImage.listenerConfig,
                    installed.replacingOccurrences(of: command, with: ([command] + listenerArguments).joined(separator: " ")))
        }
        try runChecked("/usr/bin/mount", ["-t", "overlay", "overlay", "-o",
            "lowerdir=\(layer):\(options.installed):\(ContainerImage.base ?? ""),upperdir=\(bundle)/upper,workdir=\(bundle)/work", rootfs])
        mounted = true
        try writeSpec(options)
        let console = "\(bundle)/console.log"
        try runChecked("/usr/sbin/runc", ["run", "-d", "--bundle", bundle, id], stdout: console)
        let state = try runChecked("/usr/sbin/runc", ["state", id]).stdout
        let json = try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any]
        initPID = Int32(json?["pid"] as? Int ?? 0)
    }

    /// `runc spec`'s defaults, then what the issue asks for.
    private func writeSpec(_ options: Options) throws {
        try runChecked("/usr/sbin/runc", ["spec", "--bundle", bundle])
        let path = "\(bundle)/config.json"
        guard var spec = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any],
            var process = spec["process"] as? [String: Any], var mounts = spec["mounts"] as? [[String: Any]]
        else { throw ContainerError(description: "runc spec wrote no usable config.json") }
        process["terminal"] = false
        process["args"] = ContainerImage.command
        process["rlimits"] = nil  // setrlimit is not permitted in this sandbox
        if let capabilities = options.capabilities {
            process["capabilities"] = ["bounding": capabilities, "effective": capabilities, "permitted": capabilities]
        }
        spec["process"] = process
        spec["root"] = ["path": rootfs, "readonly": options.readOnlyRoot]
        // A network namespace of its own, as a pod has (runc spec's default
        // already): with no path, runc creates it and brings its loopback up,
        // where the listener's --http socket is.
        if var linux = spec["linux"] as? [String: Any] {
            var namespaces = linux["namespaces"] as? [[String: Any]] ?? []
            if !namespaces.contains(where: { $0["type"] as? String == "network" }) { namespaces.append(["type": "network"]) }
            linux["namespaces"] = namespaces
            spec["linux"] = linux
        }
        mounts.append(["destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]])
        if options.readOnlyRoot {
            // Debian's supervisord does not start on a read-only root as
            // configured: Python's tempfile (the default childlogdir) wants a
            // writable temporary directory, and the log is
            // /var/log/supervisor/supervisord.log. With -n the log also goes
            // to stdout, the container log, so the file can be /dev/null.
            process["env"] = (process["env"] as? [String] ?? []) + ["TMPDIR=/run"]
            process["args"] = ContainerImage.command + ContainerImage.readOnlyRootArguments
            spec["process"] = process
        }
        if let kept = options.statusDirectory {
            mounts.append(["destination": "/run/readiness", "type": "bind", "source": kept, "options": ["rbind", "rw"]])
        }
        spec["mounts"] = mounts
        try JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: path))
    }

    @discardableResult
    private func runChecked(_ executable: String, _ arguments: [String], stdout: String? = nil) throws -> Completed {
        let result: Completed
        if let stdout {
            let child = try Child(executable, arguments, stdout: stdout, stderr: stdout)
            let status = child.wait(seconds: 60) ?? -1
            result = Completed(status: status, stdout: "", stderr: (try? String(contentsOfFile: stdout, encoding: .utf8)) ?? "", seconds: 0)
        } else {
            result = try run(executable, arguments)
        }
        guard result.status == 0 else {
            throw ContainerError(description: "\(executable) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result
    }

    /// The status `exec` reports when the command ran past its timeout.
    static let timedOut: Int32 = -1

    /// `runc exec`, the way containerd serves kubelet's ExecSync. Past
    /// `timeout` (scaled for slow runs, unless `exact`) the exec'd process is
    /// SIGKILLed, as containerd does.
    func exec(_ arguments: [String], user: String? = nil, timeout: Double = 30, exact: Bool = false) throws -> Completed {
        let scratch = ScratchDirectory()
        let pidFile = "\(scratch.path)/pid"
        let started = Date()
        let child = try Child("/usr/sbin/runc", ["exec", "--pid-file", pidFile] + (user.map { ["--user", $0] } ?? []) + [id] + arguments,
                              stdout: "\(scratch.path)/out", stderr: "\(scratch.path)/err")
        let status = exact ? child.wait(exactly: timeout) : child.wait(seconds: timeout)
        var stderr = (try? String(contentsOfFile: "\(scratch.path)/err", encoding: .utf8)) ?? ""
        if status == nil {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
            child.wait(seconds: 10)
            stderr += "command timed out after \(timeout) s"
        }
        return Completed(
            status: status ?? Self.timedOut,
            stdout: (try? String(contentsOfFile: "\(scratch.path)/out", encoding: .utf8)) ?? "",
            stderr: stderr,
            seconds: Date().timeIntervalSince(started))
    }

    func shell(_ command: String) throws -> Completed { try exec(["/bin/sh", "-c", command]) }

    /// The listener is registered and RUNNING, or a clear error: the install
    /// left its config out of the directory supervisord includes.
    func waitForListener(within seconds: Double = 30) throws {
        var last = ""
        let registered = try eventually(within: seconds) {
            last = try exec(["supervisorctl", "status"]).stdout
            return last.contains("readiness_listener") && last.contains("RUNNING")
        }
        guard registered else {
            throw ContainerError(description: """
                readiness_listener is not registered with supervisord in container \(id): `supervisorctl status` says \
                '\(last.trimmingCharacters(in: .whitespacesAndNewlines))'. The install did not put readiness_listener.conf \
                where /etc/supervisor/supervisord.conf includes it (\(ContainerImage.listenerConfig)), or supervisord \
                did not start (its output: '\(console.suffix(2000))'; container: \(state)).
                """)
        }
    }

    /// The status file as the container's own /run holds it.
    var status: StatusFile? { StatusFile(path: "/proc/\(initPID)/root/run/readiness/status") }

    /// `runc state`'s status: running, stopped, …
    var state: String {
        let text = (try? run("/usr/sbin/runc", ["state", id]).stdout) ?? ""
        return ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])?["status"] as? String ?? "gone"
    }

    /// Waits for the container to stop by itself (supervisord, PID 1, exited).
    func waitUntilStopped(within seconds: Double) -> Bool { eventually(within: seconds) { state == "stopped" } }

    /// The command lines of the container's processes, from `runc ps`.
    func processes() throws -> [String] {
        let lines = try runChecked("/usr/sbin/runc", ["ps", id, "-o", "pid,args"]).stdout.split(separator: "\n")
        return lines.dropFirst().map { String($0) }
    }

    var console: String { (try? String(contentsOfFile: "\(bundle)/console.log", encoding: .utf8)) ?? "" }

    /// Deletes the container and its overlay; safe to call twice.
    func destroy() {
        _ = try? run("/usr/sbin/runc", ["delete", "-f", id])
        if mounted, (try? run("/usr/bin/umount", [rootfs]))?.status == 0 { mounted = false }
        if !mounted { try? FileManager.default.removeItem(atPath: bundle) }
    }
}

/// A kubelet-like readiness prober: every `period` it probes the container,
/// counts consecutive results against the thresholds, and prints each
/// Ready/NotReady transition with the probe's message, as `kubectl get pod -w`
/// and `kubectl describe pod` show them. Two kinds, as a pod spec has them:
/// `exec` runs the probe through `runc exec` (killed past `timeout`, as
/// containerd does); `httpGet` asks the listener's `--http` endpoint from
/// inside the container's network namespace (`HTTPGet`: 200 to 399 is a
/// success; any other status, a refused connection or a timeout a failure).
///
/// An exec prober of a container whose listener has `--http` carries an
/// httpGet prober of `/readyz` along (`companion`), probed right after it on
/// every tick with the same timeout and thresholds, so that every scenario
/// also shows the two kinds reaching the same Ready/NotReady transitions.
final class Prober {
    enum Kind: CustomStringConvertible {
        case exec
        case httpGet(path: String, port: UInt16)

        var description: String {
            switch self {
            case .exec: "exec"
            case .httpGet(let path, let port): "httpGet :\(port)\(path)"
            }
        }
    }

    struct Result {
        var at: Double
        /// The exec probe's exit status (`Container.timedOut` past the
        /// timeout), or the HTTP status (`HTTPGet.timedOut`, `HTTPGet.failed`).
        var code: Int32
        /// The probe's output, or the response's body or why there is none.
        var message: String
        var succeeded: Bool
    }

    let container: Container
    let kind: Kind
    var period = 0.5
    var timeout = 1.0
    /// Whether `timeout` is what the test checks (kept as given) rather than
    /// a bound that slow runs scale.
    var exactTimeout = false
    var successThreshold = 1
    var failureThreshold = 1
    var user: String?
    /// What kubelet's events call it: Readiness or Liveness.
    var role = "Readiness"
    /// The httpGet `/readyz` prober that goes along with this exec prober.
    let companion: Prober?
    private(set) var ready = false
    private(set) var results: [Result] = []
    private(set) var transitions: [(ready: Bool, message: String)] = []
    private var successes = 0
    private var failures = 0
    private let started: Date

    init(_ container: Container, user: String? = nil, kind: Kind = .exec, started: Date = Date()) {
        self.container = container
        self.user = user
        self.kind = kind
        self.started = started
        if case .exec = kind, user == nil, let port = container.httpPort {
            companion = Prober(container, kind: .httpGet(path: "/readyz", port: port), started: started)
        } else {
            companion = nil
        }
    }

    /// One probe, counted like kubelet counts it; then the companion's.
    @discardableResult
    func probe() throws -> Result {
        let result: Result
        switch kind {
        case .exec:
            let completed = try container.exec(["/usr/bin/readiness_probe.sh"], user: user, timeout: timeout, exact: exactTimeout)
            let message = (completed.stdout + completed.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            result = Result(at: Date().timeIntervalSince(started), code: completed.status, message: message, succeeded: completed.status == 0)
        case .httpGet(let path, let port):
            let answer = HTTPGet.get(inNetworkNamespaceOf: container.initPID, port: port, path: path, timeout: timeout)
            result = Result(at: Date().timeIntervalSince(started), code: answer.status, message: answer.message, succeeded: answer.succeeded)
        }
        results.append(result)
        if result.succeeded {
            successes += 1
            failures = 0
            if !ready && successes >= successThreshold { transition(to: true, result) }
        } else {
            failures += 1
            successes = 0
            if ready && failures >= failureThreshold { transition(to: false, result) }
            if failures == 1 || results.dropLast().last?.message != result.message {
                print(String(format: "  %6.1fs  Warning  Unhealthy  pod/%@  %@ probe (%@) failed: %@", result.at, container.id, role, kind.description, failure(result)))
            }
        }
        if let companion {
            companion.timeout = timeout
            companion.successThreshold = successThreshold
            companion.failureThreshold = failureThreshold
            try companion.probe()
        }
        return result
    }

    /// kubelet's words for a failed probe.
    private func failure(_ result: Result) -> String {
        if case .httpGet = kind, result.code > 0 { return "HTTP probe failed with statuscode: \(result.code) (\(result.message))" }
        return result.message
    }

    private func transition(to ready: Bool, _ result: Result) {
        self.ready = ready
        transitions.append((ready, result.message))
        print(String(format: "%@   %@   Running   %.1fs   (%@: %@)", container.id, ready ? "1/1" : "0/1", result.at, kind.description, result.message))
    }

    /// Probes every `period` until `condition` holds for the latest result
    /// and the companion, if any, agrees on Ready or NotReady (kubelet's
    /// probes go on, so a kind that lags by a tick is seen catching up).
    @discardableResult
    func probe(until condition: (Result) -> Bool, within seconds: Double = 30) throws -> Result? {
        let deadline = Date().addingTimeInterval(Slowness.scaled(seconds))
        while Date() < deadline {
            let next = Date().addingTimeInterval(period)
            let result = try probe()
            if condition(result) && (companion?.ready ?? ready) == ready { return result }
            Thread.sleep(until: next)
        }
        return nil
    }

    /// The companion httpGet prober went through the same Ready/NotReady
    /// transitions as this exec prober (false without a companion).
    var transitionsAgree: Bool {
        guard let companion else { return false }
        return companion.transitions.map(\.ready) == transitions.map(\.ready)
    }

    /// Both kinds' transitions and results, for a failed expectation.
    var comparison: String {
        func lines(_ prober: Prober) -> String {
            "\(prober.kind): transitions \(prober.transitions.map { $0.ready ? "Ready" : "NotReady" }); results "
                + prober.results.map { String(format: "%.1fs %d %@", $0.at, $0.code, $0.message) }.joined(separator: " | ")
        }
        return ([self] + (companion.map { [$0] } ?? [])).map(lines).joined(separator: "\n")
    }
}
