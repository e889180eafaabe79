import Foundation

/// A program that speaks sd_notify as daemons do: Python's socket module
/// sending datagrams to `$NOTIFY_SOCKET` (set to the scratch directory's
/// socket), `exec`'d so that its pid is supervisord's child's. Steps:
/// `MESSAGE` (`\n` for a newline), `sleep:SECONDS`, `wait:FILE` (until it
/// exists, then removes it: one pass per file), `listen:PORT` (a TCP
/// listener on 127.0.0.1), `fds:MESSAGE` (sent with two descriptors
/// attached), `forever`. `@PPID@` in a message stands for the sender's
/// parent (supervisord). A message nobody receives is lost, as daemons lose it.
enum Notifier {
    static let python = """
        import os, socket, sys, time
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        address = os.environ["NOTIFY_SOCKET"]
        listeners = []
        for step in sys.argv[1:]:
            if step.startswith("sleep:"):
                time.sleep(float(step[6:]))
            elif step.startswith("wait:"):
                while not os.path.exists(step[5:]):
                    time.sleep(0.05)
                os.unlink(step[5:])
            elif step.startswith("listen:"):
                server = socket.socket()
                server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                server.bind(("127.0.0.1", int(step[7:])))
                server.listen(64)
                listeners.append(server)
            elif step.startswith("fds:"):
                r, w = os.pipe()
                connected = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                connected.connect(address)
                socket.send_fds(connected, [step[4:].encode()], [r, w])
            elif step == "forever":
                while True:
                    time.sleep(3600)
            else:
                # As daemons do: a socket nobody listens on loses the message.
                try:
                    s.sendto(step.replace("\\\\n", "\\n").replace("@PPID@", str(os.getppid())).encode(), address)
                except OSError:
                    pass
        """

    static func program(_ name: String, _ steps: [String], settings: [String: String] = [:]) -> Supervisord.Program {
        let arguments = steps.map { "'\($0)'" }.joined(separator: " ")
        return Supervisord.Program(name: name, script: """
            export NOTIFY_SOCKET=@SCRATCH@/run/notify
            exec \(Paths.venv)/python3 -c "$(cat <<'PY'
            \(python)
            PY
            )" \(arguments)
            """, settings: ["startsecs": "1", "autostart": "false", "autorestart": "true", "stopwaitsecs": "2"].merging(settings) { $1 })
    }

    /// The listener arguments for `services`, with the scratch directory's socket.
    static func arguments(_ services: String...) -> String {
        (services.map { "--service '\($0)'" } + ["--notify-socket @SCRATCH@/run/notify"]).joined(separator: " ")
    }
}
