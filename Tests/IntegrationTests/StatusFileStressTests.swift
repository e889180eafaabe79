import Foundation
import Testing

/// The listener replaces the status file 10,000 times (its real atomic
/// replacement, fed events on stdin) while the probe reads it in a loop:
/// the probe must never see a torn or missing file.
@Suite struct StatusFileStressTests {
    @Test func probeNeverSeesATornFile() throws {
        let scratch = ScratchDirectory()
        var stream = ""
        for serial in 1...10_000 {
            let payload =
                serial % 2 == 1
                ? "processname:start groupname:start from_state:EXITED pid:\(serial)"
                : "processname:start groupname:start from_state:RUNNING expected:1 pid:\(serial)"
            let name = serial % 2 == 1 ? "PROCESS_STATE_RUNNING" : "PROCESS_STATE_EXITED"
            stream += "ver:3.0 server:supervisor serial:\(serial) pool:p poolserial:\(serial) eventname:\(name) len:\(payload.count)\n\(payload)"
        }
        _ = FileManager.default.createFile(atPath: "\(scratch.path)/events", contents: Data(stream.utf8))
        let statusFile = "\(scratch.path)/run/status"
        let listener = try Child(Paths.listener, ["--status-file", statusFile], stdout: "/dev/null", stderr: "\(scratch.path)/listener.log",
                                 stdin: "\(scratch.path)/events")
        #expect(eventually { FileManager.default.fileExists(atPath: statusFile) })

        // A shell loop runs the probe far more often than spawning from here could.
        let loop = "status=$0 codes=$1; shift; while kill -0 \(listener.pid) 2>/dev/null; do \"$@\" --status-file \"$status\" --hook /nonexistent >/dev/null 2>>\"$codes.err\"; echo $?; done"
        let reader = try Child("/bin/sh", ["-c", loop, statusFile, "\(scratch.path)/codes"] + Paths.command(Paths.probe),
                               stdout: "\(scratch.path)/codes", stderr: "\(scratch.path)/loop.err")
        listener.wait(seconds: 120)
        reader.wait(seconds: 30)
        var seen: [Int32: Int] = [:]
        let codes = try String(contentsOfFile: "\(scratch.path)/codes", encoding: .utf8).split(separator: "\n").map { Int32($0) ?? -1 }
        for code in codes { seen[code, default: 0] += 1 }
        // The loop runs until the test reaps the listener: once it has ended,
        // nothing holds its lock and the last READY is not taken (109), and
        // only then.
        let gone = codes.reversed().prefix { $0 == 109 }.count
        #expect(!codes.dropLast(gone).contains(109), "109 only once the listener ended")
        seen[109] = nil
        let failures = (try? String(contentsOfFile: "\(scratch.path)/codes.err", encoding: .utf8)) ?? ""
        #expect(!failures.contains(" 105 ") && !failures.contains(" 104 "), "\(failures.prefix(500))")
        #expect(listener.exitStatus == 0)
        let log = try String(contentsOfFile: "\(scratch.path)/listener.log", encoding: .utf8)
        #expect(log.components(separatedBy: "msg=transition").count - 1 == 10_000, "every event was written")
        #expect(!log.contains("level=error"))
        #expect(seen[105] == nil && seen[104] == nil)
        #expect(seen.keys.allSatisfy { $0 == 0 || $0 == 100 }, "\(seen)")
        #expect(seen.values.reduce(0, +) > 200, "the probe ran throughout: \(seen)")
        #expect(seen[0] != nil && seen[100] != nil, "both states were read: \(seen)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(scratch.path)/run").sorted() == ["status", "status.lock"])
    }
}
