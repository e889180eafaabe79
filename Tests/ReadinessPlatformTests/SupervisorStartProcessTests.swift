import Glibc
import ReadinessCore
import Testing

@testable import ReadinessPlatform

/// The supervisord the integration tests use: `READINESS_SUPERVISOR_VENV`, or
/// the repository's `.venv` (`make test` creates it); absent, the test is skipped.
private let supervisorBin = "\(getenv("READINESS_SUPERVISOR_VENV").map { String(cString: $0) } ?? "\(#filePath.split(separator: "/").dropLast(3).map { "/\($0)" }.joined())/.venv")/bin"

/// `startProcess` against a real supervisord, for a program with autostart=false.
@Suite struct SupervisorStartProcessTests {
    @Test(.enabled(if: access("\(supervisorBin)/supervisord", X_OK) == 0))
    func startsAProgramThatDoesNotAutostart() throws {
        let scratch = TestSockets.scratchDirectory()
        defer { TestSockets.removeTree(scratch) }
        let configuration = """
            [supervisord]
            nodaemon=true
            logfile=\(scratch)/supervisord.log
            pidfile=\(scratch)/supervisord.pid
            [unix_http_server]
            file=\(scratch)/supervisor.sock
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [program:web]
            command=/bin/sleep 100
            autostart=false
            startsecs=0

            """
        let fd = open("\(scratch)/supervisord.conf", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(write(fd, configuration, configuration.utf8.count) == configuration.utf8.count)
        close(fd)
        let supervisord = try BackgroundCommand.start(
            arguments: ["\(supervisorBin)/supervisord", "-c", "\(scratch)/supervisord.conf"], timeoutMilliseconds: 30_000)
        let client = SupervisorClient(endpoint: .unix(path: "\(scratch)/supervisor.sock"), authorization: nil)
        // As the listener's loop makes it, here driven to its end at once.
        func stopProcess(_ name: String) -> Result<ControlAnswer, SupervisorClient.Failure> {
            SupervisorClient.stopProcessAnswer(SupervisorClient.finish(client.startStopProcess(name)))
        }

        // Up to 30 s each: on a loaded machine supervisord's loop (a 1 s
        // poll) takes its time to answer, and to reap the stopped program.
        var before = client.processInfo("web")
        for _ in 0..<600 where (try? before.get()) == nil {
            usleep(50_000)
            before = client.processInfo("web")
        }
        if case .success(.info(let info)) = before { #expect(info.state == .stopped) } else { Issue.record("no answer: \(before)") }
        #expect(client.startProcess("web") == .success(.done))
        if case .success(.info(let info)) = client.processInfo("web") { #expect(info.state == .running) } else { Issue.record("no info after start") }
        #expect(client.startProcess("web") == .success(.already))
        #expect(client.startProcess("nope") == .success(.refused("BAD_NAME: nope")))
        #expect(stopProcess("web") == .success(.done))
        var stopped = client.processInfo("web")
        for _ in 0..<600 where (try? stopped.get()).map({ if case .info(let info) = $0 { info.state != .stopped } else { true } }) ?? true {
            usleep(50_000)
            stopped = client.processInfo("web")
        }
        if case .success(.info(let info)) = stopped { #expect(info.state == .stopped) } else { Issue.record("no info after stop: \(stopped)") }
        #expect(stopProcess("web") == .success(.already))

        // SIGTERM: supervisord stops the program (in a process group of its
        // own, which the command's group kill would miss), then exits.
        kill(supervisord.pid, SIGTERM)
        #expect(BackgroundCommandTests.run(supervisord).ended.termination == .exited(0))
    }
}
