import Foundation
import Testing

/// `make demo` runs examples/demo/demo.sh once the build and the virtualenv are
/// there; the script is run directly here, in short mode, because `swift test`
/// holds SwiftPM's build lock that `make demo`'s build step waits for.
/// `make demo` itself is run by examples/demo/test_make_demo.sh, `make test`'s first step.
@Suite(.serialized) struct DemoTests {
    static let script = "\(Paths.repository)/examples/demo/demo.sh"
    static let shortMode = ["DEMO_INTERVAL": "0.2", "DEMO_STEP": "0.3", "DEMO_BIN": Paths.binaries]

    func environment(_ extra: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(Self.shortMode.merging(extra) { $1 }) { $1 }
    }

    static func demoDirectory(in output: String) -> String? {
        guard let range = output.range(of: "--status-file ") else { return nil }
        return output[range.upperBound...].split(separator: " ").first.map { String($0.dropLast("/run/status".count)) }
    }

    @Test func turnsReadyAndLeavesNothingBehind() throws {
        let result = try run(Self.script, [], environment: environment([:]))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("START_PENDING"))
        #expect(result.stdout.contains("READY           program start exited with status 0; hook passed"))
        let directory = try #require(Self.demoDirectory(in: result.stdout))
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(processes(containing: directory).isEmpty)
    }

    @Test func failingStartIsShown() throws {
        let result = try run(Self.script, [], environment: environment(["DEMO_FAIL": "1"]))
        #expect(result.status == 0)
        #expect(result.stdout.contains("START_FAILED"))
        #expect(result.stdout.contains("msg=transition program=start from=RUNNING to=EXITED expected=0"))
        let directory = try #require(Self.demoDirectory(in: result.stdout))
        #expect(processes(containing: directory).isEmpty)
    }

    /// Ctrl-C in a terminal sends SIGINT to the whole foreground process group.
    @Test func interruptLeavesNoProcessAndNoFile() throws {
        let scratch = ScratchDirectory()
        let output = "\(scratch.path)/out"
        let demo = try Child(Self.script, [], stdout: output, stderr: output, environment: environment(["DEMO_STEP": "5"]), newProcessGroup: true)
        #expect(eventually { ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("START_PENDING") })
        let directory = try #require(Self.demoDirectory(in: try String(contentsOfFile: output, encoding: .utf8)))
        #expect(!processes(containing: directory).isEmpty)
        kill(-demo.pid, SIGINT)
        #expect(demo.wait(seconds: 20) == 130)
        #expect(eventually(within: 10) { processes(containing: directory).isEmpty })
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
