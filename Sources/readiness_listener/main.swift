// readiness_listener: a supervisord event listener that follows one program
// (start.sh) through PROCESS_STATE events and keeps its state in a status file,
// and shuts supervisord down when an essential program ends.

import ReadinessCore
import ReadinessPlatform

let usage = """
    usage: readiness_listener [--program NAME] [--status-file PATH] [--essential SPEC]...
                              [--essential-exit unexpected|any] [--essential-dry-run]
                              [--http ADDR:PORT [--hook PATH] [--hook-interval SECONDS]
                              [--hook-timeout SECONDS] [--probe PATH]]
                              [--service PROGRAM=HOW]... [--notify-socket PATH]
                              [--check-period SECONDS] [--check-timeout SECONDS]
                              [--check-success N] [--check-failure N]
                              [--start-after PROGRAM=DEP:CONDITION[,DEP:CONDITION]...]...
                              [--dependent-startup [--config PATH]]
                              [--start-timeout SECONDS] [--restart-dependents]
                              [--verbose]
    Run by supervisord as [eventlistener:readiness_listener] with
    events=PROCESS_STATE,TICK_5,SUPERVISOR_STATE_CHANGE_STOPPING.
      --program NAME       program to follow, NAME or GROUP:NAME (default: start)
      --status-file PATH   status file to keep (default: /run/readiness/status)
      --essential SPEC     a program supervisord cannot run without: NAME, GROUP:NAME
                           or GROUP:* (repeatable). When one reaches FATAL or exits
                           unexpectedly, the listener records it (the probe answers
                           107 ESSENTIAL_DOWN) and shuts supervisord down gracefully.
      --essential-exit any also treat an expected exit of an essential program as its end
                           (default: unexpected, for programs that may finish)
      --essential-dry-run  log and record what would be done, without shutting down
      --http ADDR:PORT     answer kubelet's httpGet probes: GET /readyz is 200 when
                           readiness_probe would exit 0, else 503 with its line;
                           GET /readyz?service=NAME as readiness_probe --service NAME;
                           GET /livez is 503 once an essential program ended;
                           GET /metrics is Prometheus's text format (docs/metrics.md).
                           ADDR is numeric: 127.0.0.1, 0.0.0.0, [::], or empty for all
      --hook PATH          the image's hook (default /usr/bin/readiness_probe_hook):
                           requests never run it; without --hook-interval /readyz
                           is 503 while it exists
      --hook-interval SECONDS  run the hook every SECONDS through readiness_probe
                           (--probe, default: beside this binary) with --hook-timeout
                           (default 0.7); /readyz answers with the latest run's verdict
      --service PROGRAM=HOW  a long-running program whose readiness is part of the
                           container's (repeatable; PROGRAM as for --essential). HOW:
                           notify        it sends sd_notify READY=1 to --notify-socket
                                         (set NOTIFY_SOCKET in its section, autostart=false:
                                         the listener starts it once the socket is bound)
                           tcp:[HOST:]PORT  a connect succeeds (HOST numeric, default 127.0.0.1)
                           exec:COMMAND  /bin/sh -c COMMAND exits 0
                           running       supervisord's RUNNING is enough
                           The probe answers 108 SERVICE_NOT_READY until each is ready.
      --notify-socket PATH the sd_notify socket (default /run/readiness/notify)
      --check-period SECONDS, --check-timeout SECONDS  for tcp: and exec: (default 2, 1)
      --check-success N, --check-failure N  checks in a row that make a service
                           ready (default 1) and not ready again (default 3)
      --start-after PROGRAM=DEP:CONDITION[,...]  start PROGRAM (autostart=false;
                           NAME, GROUP:NAME or GROUP:*) once every DEP meets its
                           CONDITION (repeatable): exited (with an expected status),
                           ready (as --service says; RUNNING for other programs) or
                           running. The probe answers 116 WAITING_TO_START until
                           each is started (docs/start-order.md).
      --dependent-startup  also take supervisord-dependent-startup's keys from the
                           [program:x] sections of supervisord's configuration and its
                           [include] files: dependent_startup=true and
                           dependent_startup_wait_for=DEP:running|exited ... (exited
                           means with an expected status here)
      --config PATH        supervisord's configuration (default: as its command line
                           says, else its default places)
      --start-timeout SECONDS  give up on a program still waiting SECONDS after
                           the listener started (logged at level=error; default: never)
      --restart-dependents stop a started program when a dependency stops running (or,
                           for exited, runs again), and start it again once its
                           conditions hold again (default: leave it running)
      --verbose            also log events of other programs
      --version, --help
    Exit status: 0 at end of input or on SIGTERM, SIGINT or SIGHUP, 2 when the event
    stream cannot be framed or the notify socket cannot be bound (supervisord then
    restarts the listener), 64 for bad arguments (and for --start-after naming what
    supervisord does not have, or supervisord's configuration unreadable for
    --dependent-startup), 78 for notify services or --start-after without
    supervisord's XML-RPC interface.

    """

func fail(_ message: String) -> Never {
    StandardStreams.standardError("readiness_listener: \(message)\n\(usage)")
    Processes.exit(64)
}

let options: CommandLineOptions
do {
    options = try CommandLineOptions(
        Processes.arguments.dropFirst(), valued: [
            "program", "status-file", "essential", "essential-exit", "http", "hook", "hook-interval", "hook-timeout", "probe", "service",
            "notify-socket", "check-period", "check-timeout", "check-success", "check-failure", "start-after", "start-timeout",
            "config",
        ],
        flags: ["verbose", "version", "help", "essential-dry-run", "restart-dependents", "dependent-startup"])
} catch {
    fail(error.description)
}
if options.has("help") {
    StandardStreams.standardError(usage)
    Processes.exit(0)
}
if options.has("version") {
    StandardStreams.standardError("readiness_listener \(ReadinessVersion.current)\n")
    Processes.exit(0)
}

var essential = EssentialRule(specs: [])
for text in options.values("essential") {
    do { essential.specs.append(try ProcessPattern(parsing: text)) } catch { fail(error.description) }
}
if let text = options.value("essential-exit") {
    guard let policy = EssentialRule.ExitPolicy(rawValue: text) else { fail("--essential-exit takes unexpected or any, not \(text)") }
    essential.exitPolicy = policy
}
if essential.isEmpty && (options.value("essential-exit") != nil || options.has("essential-dry-run")) {
    fail("--essential-exit and --essential-dry-run need at least one --essential")
}

var services: [ServiceSpec] = []
for text in options.values("service") {
    do { services.append(try ServiceSpec(parsing: text)) } catch { fail(error.description) }
}
var startRules: [StartRule] = []
for text in options.values("start-after") {
    do { startRules.append(try StartRule(parsing: text)) } catch { fail(error.description) }
}
if options.has("dependent-startup") {
    do {
        let (settings, files) = try SupervisordConfiguration.dependentStartup(config: options.value("config"))
        let rules = try settings.rules(environment: Processes.environmentValue)
        // A wrong file found says nothing else: every program would wait for ever.
        if rules.isEmpty { fail("--dependent-startup found no program with dependent_startup=true in " + files.joined(separator: ", ") + ": give supervisord's configuration with --config PATH") }
        log(.info, "read supervisord-dependent-startup's settings", [("files", files.joined(separator: ",")), ("rules", rules.map { $0.description }.joined(separator: " "))])
        startRules += rules
    } catch {
        fail(error.description)
    }
} else if options.value("config") != nil {
    fail("--config goes with --dependent-startup")
}
if let problem = StartRule.problem(in: startRules) { fail(problem) }
var startTimeout: Int64?
if startRules.isEmpty && (options.value("start-timeout") != nil || options.has("restart-dependents")) {
    fail("--start-timeout and --restart-dependents go with --start-after or --dependent-startup")
}
if options.value("start-timeout") != nil {
    do { startTimeout = try options.milliseconds("start-timeout", default: 0, range: 1000...86_400_000) } catch { fail(error.description) }
}
var checkTiming = CheckTiming()
do {
    checkTiming.periodMilliseconds = try options.milliseconds("check-period", default: 2000, range: 100...3_600_000)
    checkTiming.timeoutMilliseconds = try options.milliseconds("check-timeout", default: 1000, range: 10...3_600_000)
    checkTiming.successThreshold = try options.count("check-success", default: 1)
    checkTiming.failureThreshold = try options.count("check-failure", default: 3)
} catch {
    fail(error.description)
}

var http: ListenAddress?
if let text = options.value("http") {
    do { http = try ListenAddress(parsing: text) } catch { fail(error.description) }
}
let statusPath = options.value("status-file") ?? "/run/readiness/status"
let hookPath = options.value("hook") ?? "/usr/bin/readiness_probe_hook"

/// `--hook-interval`'s periodic hook run, or none.
func periodicProbe(_ options: CommandLineOptions, http: ListenAddress?, statusPath: String, hookPath: String) -> PeriodicProbe {
    guard options.value("hook-interval") != nil || options.value("hook-timeout") != nil || options.value("probe") != nil else { return .disabled }
    guard http != nil, options.value("hook-interval") != nil else { fail("--hook-timeout and --probe go with --hook-interval, and --hook-interval with --http") }
    do {
        // Beside this binary, as `make install` puts them; else where it installs.
        let this = Processes.arguments.first ?? ""
        let besideThis = this.contains("/") ? String(this[...this.lastIndex(of: "/")!]) + "readiness_probe" : "/usr/bin/readiness_probe"
        return PeriodicProbe(
            probePath: options.value("probe") ?? besideThis, statusPath: statusPath, hookPath: hookPath,
            hookTimeout: options.value("hook-timeout") ?? "0.7", hookTimeoutMilliseconds: try options.milliseconds("hook-timeout", default: 700, range: 1...3_600_000),
            intervalMilliseconds: try options.milliseconds("hook-interval", default: 10_000, range: 1000...3_600_000))
    } catch {
        fail(error.description)
    }
}

/// `--program`, checked.
func selector(_ text: String) -> ProcessPattern {
    do { return try ProcessPattern(parsing: text, option: "--program", groups: false) } catch { fail(error.description) }
}

var listener = Listener(
    configuration: ListenerConfiguration(
        selector: selector(options.value("program") ?? "start"),
        statusPath: statusPath, essential: essential,
        essentialDryRun: options.has("essential-dry-run"), verbose: options.has("verbose"), services: services,
        checkTiming: checkTiming, metrics: http != nil, startRules: startRules,
        startTimeoutMilliseconds: startTimeout, restartDependents: options.has("restart-dependents")),
    http: http, hookPath: hookPath, periodicProbe: periodicProbe(options, http: http, statusPath: statusPath, hookPath: hookPath),
    notifySocketPath: options.value("notify-socket") ?? "/run/readiness/notify")
Processes.exit(listener.run())
