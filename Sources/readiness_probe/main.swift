// readiness_probe: kubelet's exec readinessProbe for containers run by
// supervisord. Exit 0 only when start.sh finished well and the hook passed.

import ReadinessCore
import ReadinessPlatform

let usage = """
    usage: readiness_probe [--status-file PATH] [--hook PATH] [--hook-timeout SECONDS] [--service NAME]
                           [--verbose | --explain | --json] [--codes] [--version] [--help]
      --status-file PATH      status file the listener keeps (default: /run/readiness/status)
      --service NAME          one service alone, as the listener's --service names it (NAME, GROUP:NAME,
                              GROUP:*), or start for start.sh alone; the hook is not run
      --hook PATH             the image's own check, run when present (default: /usr/bin/readiness_probe_hook)
      --hook-timeout SECONDS  the hook's deadline; its processes are killed after it (default: 0.7)
      --verbose               several lines: the state, its history, the hook's output
      --explain               --verbose plus what to do next, for a person at a terminal
      --json                  one JSON object
      --wait                  poll until ready or until --timeout passes, then exit with the last code;
                              SIGTERM, SIGINT or SIGHUP stop it at once with 114
      --timeout SECONDS       how long --wait polls (default: 60); --interval SECONDS between checks (default: 1)
      --codes                 print the exit codes and exit
    One line on stdout when ready, on stderr otherwise; the exit code says why.

    """

let options: CommandLineOptions
let subject: ProbeSubject
let hookTimeout: Int64
let waitTimeout: Int64
let waitInterval: Int64
do {
    options = try CommandLineOptions(
        Processes.arguments.dropFirst(), valued: ["status-file", "hook", "hook-timeout", "timeout", "interval", "service"],
        flags: ["verbose", "explain", "json", "codes", "version", "help", "wait"])
    if let service = options.value("service") { subject = try ProbeSubject(service: service) } else { subject = .container }
    hookTimeout = try options.milliseconds("hook-timeout", default: 700, range: 1...3_600_000)
    waitTimeout = try options.milliseconds("timeout", default: 60_000, range: 0...86_400_000)
    waitInterval = try options.milliseconds("interval", default: 1000, range: 10...3_600_000)
} catch {
    StandardStreams.standardError(Verdict(.usage, error.description).line + "\n" + usage)
    Processes.exit(ProbeCode.usage.rawValue)
}
if options.has("help") {
    try? StandardStreams.standardOutput(usage)
    Processes.exit(0)
}
if options.has("version") {
    try? StandardStreams.standardOutput("readiness_probe \(ReadinessVersion.current)\n")
    Processes.exit(0)
}
if options.has("codes") {
    try? StandardStreams.standardOutput(ProbeCode.table)
    Processes.exit(0)
}

let probe = Probe(
    statusPath: options.value("status-file") ?? "/run/readiness/status",
    hookPath: options.value("hook") ?? "/usr/bin/readiness_probe_hook",
    hookTimeoutMilliseconds: hookTimeout, subject: subject)
let report = options.has("wait") ? probe.waitUntilReady(timeoutMilliseconds: waitTimeout, intervalMilliseconds: waitInterval) : probe.run()
let style: Report.Style =
    options.has("json") ? .json
    : options.has("explain") ? .explain : options.has("verbose") ? .verbose : .line
let text = report.rendered(style)
if report.verdict.isReady {
    try? StandardStreams.standardOutput(text)
} else {
    StandardStreams.standardError(text)
}
Processes.exit(report.verdict.code.rawValue)
