// readiness_listener: a supervisord event listener that follows one program
// (start.sh) through PROCESS_STATE events and keeps its state in a status file.

import ReadinessCore
import ReadinessPlatform

let usage = """
    usage: readiness_listener [--program NAME] [--status-file PATH] [--verbose]
    Run by supervisord as [eventlistener:readiness_listener] with events=PROCESS_STATE,TICK_5.
      --program NAME       program to follow, NAME or GROUP:NAME (default: start)
      --status-file PATH   status file to keep (default: /run/readiness/status)
      --verbose            also log events of other programs
      --version, --help
    Exit status: 0 at end of input or on SIGTERM, SIGINT or SIGHUP, 2 when the event
    stream cannot be framed (supervisord then restarts the listener), 64 for bad arguments.

    """

let options: CommandLineOptions
do {
    options = try CommandLineOptions(
        Processes.arguments.dropFirst(), valued: ["program", "status-file"], flags: ["verbose", "version", "help"])
} catch {
    StandardStreams.standardError("readiness_listener: \(error)\n\(usage)")
    Processes.exit(64)
}
if options.flags.contains("help") {
    StandardStreams.standardError(usage)
    Processes.exit(0)
}
if options.flags.contains("version") {
    StandardStreams.standardError("readiness_listener \(ReadinessVersion.current)\n")
    Processes.exit(0)
}

var listener = Listener(
    selector: ProgramSelector(options.values["program"] ?? "start"),
    statusPath: options.values["status-file"] ?? "/run/readiness/status",
    verbose: options.flags.contains("verbose"))
Processes.exit(listener.run())
