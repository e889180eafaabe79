import Glibc
import Testing

@testable import ReadinessPlatform

/// The sd_notify socket against real datagrams from this process.
/// (Each test closes its socket at its end: `close()` consumes it, which a
/// `defer` cannot.)
@Suite struct NotifySocketTests {
    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode : nil
    }

    @Test func datagramCarriesTheSendersPidAndMissingDirectoryIsCreated() throws {
        let scratch = TestSockets.scratchDirectory()
        defer { TestSockets.removeTree(scratch) }
        let path = "\(scratch)/run/readiness/notify.sock"
        var socket = try NotifySocket.bind(path: path)
        #expect(Self.mode("\(scratch)/run/readiness").map { $0 & 0o7777 } == 0o755)
        #expect(Self.mode(path).map { $0 & 0o7777 } == 0o666)
        #expect(socket.receive() == nil)

        #expect(TestSockets.send(Array("STATUS=loading\nREADY=1".utf8), to: path) == 22)
        #expect(TestSockets.isReady(socket.descriptor, for: POLLIN, within: 1000))
        let received = socket.receive()
        let datagram = try #require(received)
        #expect(datagram == NotifyDatagram(bytes: Array("STATUS=loading\nREADY=1".utf8), senderPID: Int(getpid()), length: 22, passedDescriptors: 0))
        #expect(!datagram.isTooLong)
        #expect(socket.receive() == nil)
        socket.close()
    }

    /// Two descriptors (both the write end of a pipe) arrive and are closed
    /// at once: once the test closes its own write end, the read end sees
    /// the end of the pipe, which it would not while a copy stayed open.
    @Test func passedDescriptorsAreClosedOnArrival() throws {
        let scratch = TestSockets.scratchDirectory()
        defer { TestSockets.removeTree(scratch) }
        var socket = try NotifySocket.bind(path: "\(scratch)/notify.sock")
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let pipeTarget = try #require(TestSockets.target(of: ends[1]))

        #expect(TestSockets.send(Array("FDSTORE=1".utf8), to: "\(scratch)/notify.sock", descriptors: [ends[1], ends[1]]) == 9)
        close(ends[1])
        let received = socket.receive()
        let datagram = try #require(received)
        #expect(datagram.passedDescriptors == 2)
        #expect(datagram.bytes == Array("FDSTORE=1".utf8))
        #expect(!TestSockets.isOpen(pipeTarget, except: ends[0]))  // both ends share the pipe's inode
        var byte: UInt8 = 0
        #expect(read(ends[0], &byte, 1) == 0, "a copy of the pipe's write end is still open")
        socket.close()
    }

    @Test func oversizedDatagramReportsItsRealLength() throws {
        let scratch = TestSockets.scratchDirectory()
        defer { TestSockets.removeTree(scratch) }
        var socket = try NotifySocket.bind(path: "\(scratch)/notify.sock")
        #expect(TestSockets.send([UInt8](repeating: UInt8(ascii: "x"), count: 8192), to: "\(scratch)/notify.sock") == 8192)
        let received = socket.receive()
        let datagram = try #require(received)
        #expect(datagram.length == 8192)
        #expect(datagram.bytes.count == NotifySocket.maximumDatagramBytes + 1)
        #expect(datagram.isTooLong)
        #expect(socket.receive() == nil)
        socket.close()
    }

    /// A socket file left by an earlier listener is replaced, and the new
    /// socket receives.
    @Test func staleSocketFileIsReplaced() throws {
        let scratch = TestSockets.scratchDirectory()
        defer { TestSockets.removeTree(scratch) }
        let path = "\(scratch)/notify.sock"
        let first = try NotifySocket.bind(path: path)
        first.close()
        #expect(Self.mode(path).map { $0 & S_IFMT } == S_IFSOCK)
        var socket = try NotifySocket.bind(path: path)
        #expect(TestSockets.send(Array("READY=1".utf8), to: path) == 7)
        #expect(socket.receive()?.bytes == Array("READY=1".utf8))
        socket.close()
    }

    @Test func regularFileOrDirectoryAtThePathIsRefusedAndKept() throws {
        let scratch = TestSockets.scratchDirectory()
        defer { TestSockets.removeTree(scratch) }
        let file = "\(scratch)/notify.sock"
        let fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(write(fd, "keep", 4) == 4)
        close(fd)
        #expect(throws: Errno.fileExists) { let socket = try NotifySocket.bind(path: file); socket.close() }
        #expect(Self.mode(file).map { $0 & S_IFMT } == S_IFREG)
        var info = stat()
        #expect(stat(file, &info) == 0 && info.st_size == 4)

        let directory = "\(scratch)/a-directory"
        #expect(mkdir(directory, 0o755) == 0)
        #expect(throws: Errno.fileExists) { let socket = try NotifySocket.bind(path: directory); socket.close() }
        #expect(Self.mode(directory).map { $0 & S_IFMT } == S_IFDIR)
    }

    @Test func abstractName() throws {
        let name = "@readiness-notify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var socket = try NotifySocket.bind(path: name)
        #expect(TestSockets.send(Array("READY=1".utf8), to: name) == 7)
        let received = socket.receive()
        let datagram = try #require(received)
        #expect(datagram.bytes == Array("READY=1".utf8))
        #expect(datagram.senderPID == Int(getpid()))
        // The name is taken while bound.
        #expect(throws: Errno(rawValue: EADDRINUSE)) { let again = try NotifySocket.bind(path: name); again.close() }
        socket.close()
    }
}
