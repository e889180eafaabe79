/// The probe's exit codes: the contract with kubelet, the upgrade controller
/// and the people reading `Readiness probe failed: …` events.
///
/// Every code stays below 126: shells reserve 126, 127 and 128+N.
package struct ProbeCode: Equatable, Sendable {
    package var rawValue: Int32
    package var name: String
    package var meaning: String

    private init(_ rawValue: Int32, _ name: String, _ meaning: String) {
        self.rawValue = rawValue
        self.name = name
        self.meaning = meaning
    }

    package static let ready = ProbeCode(0, "READY", "start.sh exited with an expected status (or supervisord has no start program), every service is ready, and the hook passed (or there is none); with --service, that service (or start.sh) alone")
    /// Stands for the hook's own codes 1 to 99, passed through unchanged.
    package static let hookFailed = ProbeCode(1, "HOOK_FAILED", "the hook's own exit code, 1 to 99, passed through unchanged")
    package static let startPending = ProbeCode(100, "START_PENDING", "start.sh has not finished: not seen yet, STARTING, RUNNING or BACKOFF")
    package static let startFailed = ProbeCode(101, "START_FAILED", "start.sh exited with a status not in its exitcodes, or was killed by a signal")
    package static let startFatal = ProbeCode(102, "START_FATAL", "supervisord could not start start.sh (FATAL)")
    package static let startStopped = ProbeCode(103, "START_STOPPED", "start.sh was stopped (STOPPING, STOPPED) or is UNKNOWN, or supervisord is stopping (shutdown or reload)")
    package static let noStatus = ProbeCode(104, "NO_STATUS", "no status file: the listener never ran")
    package static let badStatus = ProbeCode(105, "BAD_STATUS", "the status file cannot be read, is malformed, too large, or of an unknown format version")
    package static let staleStatus = ProbeCode(106, "STALE_STATUS", "the status file was written by a supervisord that is no longer running (its pid is gone, or now belongs to a newer process), or whose start time cannot be read (no /proc)")
    package static let essentialDown = ProbeCode(107, "ESSENTIAL_DOWN", "an essential program (--essential) reached FATAL or exited: the listener is shutting supervisord down")
    package static let serviceNotReady = ProbeCode(108, "SERVICE_NOT_READY", "a service (--service) is not ready: not RUNNING, has not sent READY=1 for its current run, or its checks fail")
    package static let listenerGone = ProbeCode(109, "LISTENER_GONE", "no live listener keeps the status file: it stopped, exited, cannot write the file, or is frozen (the file was not refreshed for more than 10 s)")
    package static let hookTimeout = ProbeCode(110, "HOOK_TIMEOUT", "the hook ran past its deadline and was killed with its process group")
    package static let hookSignaled = ProbeCode(111, "HOOK_SIGNALED", "the hook died from a signal")
    package static let hookOutOfRange = ProbeCode(112, "HOOK_OUT_OF_RANGE", "the hook exited with a code of 100 or more (the real code is in the message)")
    package static let hookUnusable = ProbeCode(113, "HOOK_UNUSABLE", "the hook exists but cannot be run: not executable, not a regular file, writable by group or others, wrong owner, or exec failed")
    package static let interrupted = ProbeCode(114, "INTERRUPTED", "the probe got SIGTERM, SIGINT or SIGHUP while the hook ran or --wait waited; the hook's processes were killed")
    package static let unknownService = ProbeCode(115, "UNKNOWN_SERVICE", "--service (or /readyz?service=) names neither start nor a service the listener follows (its --service)")
    package static let waitingToStart = ProbeCode(116, "WAITING_TO_START", "a program under --start-after has not been started: what it waits for does not hold yet, or a dependency failed (FATAL, or exited unexpectedly)")
    package static let usage = ProbeCode(120, "USAGE", "bad arguments")
    package static let internalError = ProbeCode(125, "INTERNAL", "an unexpected internal error")

    package static let all: [ProbeCode] = [
        .ready, .hookFailed, .startPending, .startFailed, .startFatal, .startStopped, .noStatus, .badStatus,
        .staleStatus, .essentialDown, .serviceNotReady, .listenerGone, .hookTimeout, .hookSignaled, .hookOutOfRange, .hookUnusable, .interrupted, .unknownService, .waitingToStart, .usage, .internalError,
    ]

    /// The code a hook's exit status maps to: 0 and 1–99 pass through, the rest are ours.
    package static func forHookExit(_ status: Int32) -> ProbeCode {
        switch status {
        case 0: .ready
        case 1...99: ProbeCode(status, hookFailed.name, hookFailed.meaning)
        default: .hookOutOfRange
        }
    }

    /// The table `--codes` prints and README.md repeats.
    package static var table: String {
        var lines = ["| code | name | meaning |", "| --- | --- | --- |"]
        for code in all {
            let number = code == .hookFailed ? "1–99" : "\(code.rawValue)"
            lines.append("| \(number) | \(code.name) | \(code.meaning) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ProbeCode {
    /// What a person should look at next, for `--explain`.
    package var advice: String {
        switch name {
        case ProbeCode.ready.name: "nothing: the container is ready."
        case ProbeCode.hookFailed.name: "the image's hook reported the failure; read its output below and the hook's own documentation for the code."
        case ProbeCode.startPending.name: "start.sh is still initializing: wait, or read its log (supervisorctl tail start) if it takes too long."
        case ProbeCode.startFailed.name: "read start.sh's log (supervisorctl tail start stderr) for why it failed; fix it, then supervisorctl start start."
        case ProbeCode.startFatal.name: "supervisord could not spawn start.sh: check its command path and permissions in the [program:start] section and supervisord's log."
        case ProbeCode.startStopped.name: "someone stopped start.sh (supervisorctl stop) or supervisord lost it: supervisorctl start start; or supervisord is shutting down or reloading (supervisorctl reload): wait for the next generation's start.sh."
        case ProbeCode.noStatus.name: "the listener never wrote the status file: is supervisor.d/readiness_listener.conf included, and is the listener RUNNING (supervisorctl status)?"
        case ProbeCode.badStatus.name: "the status file is damaged or not the listener's: remove it and restart the listener (supervisorctl restart readiness_listener)."
        case ProbeCode.staleStatus.name: "the file outlived its supervisord (a restarted container with a persisted /run?): the new listener rewrites it once it runs; if it lasts, check that the listener is RUNNING."
        case ProbeCode.essentialDown.name: "an essential program ended and supervisord is stopping the container: read the listener's level=error line and the essential_* keys of the status file, then that program's log."
        case ProbeCode.serviceNotReady.name: "the named service is not ready: a notify service must send READY=1 for its current run (is NOTIFY_SOCKET set in its [program:x] section?), a checked one must pass its check; read the listener's log and the service= lines of the status file."
        case ProbeCode.listenerGone.name: "is readiness_listener RUNNING (supervisorctl status readiness_listener)? If it is, read its log for level=error (cannot write the status file?), and check that it is not stopped (state T in ps) and that its events= include TICK_5."
        case ProbeCode.hookTimeout.name: "the hook is too slow: make it faster, or raise --hook-timeout (and the probe's timeoutSeconds)."
        case ProbeCode.hookSignaled.name: "the hook crashed: run it by hand to see why."
        case ProbeCode.hookOutOfRange.name: "the hook must exit 0 when ready and 1 to 99 otherwise."
        case ProbeCode.hookUnusable.name: "fix the hook file: a regular file, mode 0755 or stricter, owned by root or the probe's user, with a #! line."
        case ProbeCode.interrupted.name: "the probe itself was stopped (kubelet timeout, or a script giving up on --wait): compare timeoutSeconds with --hook-timeout."
        case ProbeCode.unknownService.name: "name a service as the listener's --service does (readiness_probe --verbose lists them), or start for start.sh's own check."
        case ProbeCode.waitingToStart.name: "the line names the program, the condition it waits for and that dependency's state: if the dependency failed, read its log (supervisorctl tail NAME stderr) and start it again; the listener starts the program once every condition holds."
        case ProbeCode.usage.name: "run readiness_probe --help."
        default: "report a bug with the --verbose output."
        }
    }
}
