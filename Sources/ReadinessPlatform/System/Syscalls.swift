// Every raw C library call of the package, each a thin wrapper, so that the
// rest of the code reads as Swift and EINTR is retried in one place.

import CReadiness

func system_errno() -> Int32 { readiness_errno() }

func system_strerror(_ error: Int32) -> String { String(cString: strerror(error)) }

func system_errno_name(_ error: Int32) -> String? { readiness_errno_name(error).map { String(cString: $0) } }

/// Runs `body` until it does not fail with EINTR; -1 becomes a thrown `Errno`.
@discardableResult
func retryingInterrupts<T: FixedWidthInteger>(_ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = Errno.current
        if error != .interrupted { throw error }
    }
}

func system_open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(Errno) -> Int32 {
    try retryingInterrupts { readiness_open(path, flags, mode) }
}

/// Not retried on EINTR: Linux releases the descriptor whatever close returns.
func system_close(_ fd: Int32) throws(Errno) {
    if close(fd) == -1 { throw Errno.current }
}

func system_read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
    try retryingInterrupts { read(fd, buffer.baseAddress, buffer.count) }
}

/// Reads into `bytes` from `offset` on.
func system_read(_ fd: Int32, into bytes: inout [UInt8], from offset: Int = 0) throws(Errno) -> Int {
    let result = bytes.withUnsafeMutableBytes { buffer in
        Result { () throws(Errno) in try system_read(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[offset...])) }
    }
    return try result.get()
}

func system_write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
    try retryingInterrupts { write(fd, buffer.baseAddress, buffer.count) }
}

func system_fsync(_ fd: Int32) throws(Errno) { try retryingInterrupts { fsync(fd) } }

/// openat(2) relative to an open directory, retried on EINTR.
func system_open(_ name: String, in directory: Int32, _ flags: Int32, _ mode: mode_t = 0) throws(Errno) -> Int32 {
    try retryingInterrupts { readiness_openat(directory, name, flags, mode) }
}

/// renameat(2) within one open directory.
func system_rename(_ from: String, to: String, in directory: Int32) throws(Errno) {
    try retryingInterrupts { renameat(directory, from, directory, to) }
}

func system_unlink(_ name: String, in directory: Int32) throws(Errno) { try retryingInterrupts { unlinkat(directory, name, 0) } }

func system_unlink(_ path: String) throws(Errno) { try retryingInterrupts { unlink(path) } }

/// flock(2): `LOCK_EX`, `LOCK_SH` or `LOCK_UN`, with `LOCK_NB` never waiting
/// (EWOULDBLOCK when another open file description holds a conflicting lock).
func system_flock(_ fd: Int32, _ operation: Int32) throws(Errno) { try retryingInterrupts { flock(fd, operation) } }

/// utimensat(2) with no times: the file's access and modification times
/// become now. A symbolic link at `name` is not followed.
func system_touch(_ name: String, in directory: Int32) throws(Errno) {
    try retryingInterrupts { utimensat(directory, name, nil, AT_SYMLINK_NOFOLLOW) }
}

func system_mkdir(_ path: String, _ mode: mode_t) throws(Errno) { try retryingInterrupts { mkdir(path, mode) } }

func system_chmod(_ path: String, _ mode: mode_t) throws(Errno) { try retryingInterrupts { chmod(path, mode) } }

func system_fchmod(_ fd: Int32, _ mode: mode_t) throws(Errno) { try retryingInterrupts { fchmod(fd, mode) } }

/// The process's file mode creation mask. umask(2) reads it only by setting
/// it, so it is set back at once (the callers are single-threaded).
func system_umask() -> mode_t {
    let mask = umask(0)
    umask(mask)
    return mask
}

/// The file system's type (`f_type`, a magic number) of an open file.
func system_file_system_type(_ fd: Int32) throws(Errno) -> Int {
    var info = statfs()
    try retryingInterrupts { fstatfs(fd, &info) }
    return Int(info.f_type)
}

func system_fstat(_ fd: Int32) throws(Errno) -> stat {
    var info = stat()
    try retryingInterrupts { fstat(fd, &info) }
    return info
}

func system_stat(_ path: String) throws(Errno) -> stat {
    var info = stat()
    try retryingInterrupts { stat(path, &info) }
    return info
}

extension stat {
    var isRegularFile: Bool { readiness_s_isreg(st_mode) != 0 }
    var isDirectory: Bool { readiness_s_isdir(st_mode) != 0 }
    var isSymbolicLink: Bool { readiness_s_islnk(st_mode) != 0 }
    var isSocket: Bool { readiness_s_issock(st_mode) != 0 }
    /// The modification time, in milliseconds since the epoch; clamped, so
    /// that any time a file system can hold (tmpfs takes 64-bit seconds)
    /// gives a number, never a trap.
    var modificationMilliseconds: Int64 {
        let seconds = min(max(Int64(st_mtim.tv_sec), -Int64.max / 1000), Int64.max / 1000 - 1)
        return seconds * 1000 + Int64(st_mtim.tv_nsec) / 1_000_000
    }
}

func system_access(_ path: String, _ mode: Int32) -> Bool { access(path, mode) == 0 }

func system_pipe(_ flags: Int32) throws(Errno) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    try retryingInterrupts { readiness_pipe2(&fds, flags) }
    return (fds[0], fds[1])
}

/// The number of ready descriptors; 0 when the time ran out or a signal
/// interrupted the wait (the caller's loop recomputes its timeout and, with a
/// signal pipe among `fds`, sees the signal on the next call). A descriptor
/// that is not open, which poll reports only in `revents` (POLLNVAL), is
/// thrown as EBADF: a loop would otherwise spin on it until its deadline.
func system_poll(_ fds: inout [pollfd], _ timeoutMilliseconds: Int32) throws(Errno) -> Int32 {
    let result = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
    if result == -1 {
        let error = Errno.current
        if error == .interrupted { return 0 }
        throw error
    }
    if fds.contains(where: { $0.revents & Int16(POLLNVAL) != 0 }) { throw Errno(rawValue: EBADF) }
    return result
}

func system_kill(_ pid: pid_t, _ signal: Int32) throws(Errno) {
    if kill(pid, signal) == -1 { throw Errno.current }
}

func system_waitpid(_ pid: pid_t, _ options: Int32) throws(Errno) -> (pid: pid_t, status: Int32) {
    var status: Int32 = 0
    let result = try retryingInterrupts { waitpid(pid, &status, options) }
    return (result, status)
}

func system_getpid() -> Int { Int(getpid()) }
func system_getppid() -> Int { Int(getppid()) }
func system_geteuid() -> uid_t { geteuid() }

func system_clock(_ clock: clockid_t) -> timespec {
    var now = timespec()
    clock_gettime(clock, &now)
    return now
}

/// Sleeps the whole duration, resuming after a signal.
func system_sleep(milliseconds: Int64) {
    var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && readiness_errno() == EINTR { request = remaining }
}

func system_set_nonblocking(_ fd: Int32) throws(Errno) {
    let flags = readiness_fcntl(fd, F_GETFL, 0)
    if flags == -1 { throw Errno.current }
    if readiness_fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 { throw Errno.current }
}

/// Why `system_spawn_in_new_group` failed: in `call`, with `errno`. Only a
/// failure of `execve` itself is about the program; the others are the
/// caller's (a bad descriptor, no /dev/null).
struct SpawnFailure: Error {
    var call: String
    var errno: Errno
    var isExecFailure: Bool { call == "execve" }
}

/// Starts `path` (CReadiness's clone(CLONE_VM|CLONE_VFORK) and execve) with stdin from /dev/null,
/// stdout and stderr onto `outputFD`, a process group of its own, no blocked
/// signals and every signal at its default. The environment is this
/// process's own, each of `overrides` replacing the variable of its name:
/// inherited entries are passed on as the C strings they are, not copied
/// through Swift strings and back (on the probe's hook path that copying
/// would be most of its own work).
func system_spawn_in_new_group(
    _ path: String, _ arguments: [String], _ overrides: [(name: String, value: String)], outputFD: Int32
) throws(SpawnFailure) -> pid_t {
    let argv = arguments.map { strdup($0) } + [nil]
    let added = overrides.map { strdup("\($0.name)=\($0.value)") }
    // As bytes once: each String passed as a C string is copied anew.
    let names = overrides.map { Array($0.name.utf8) }
    var envp: [UnsafeMutablePointer<CChar>?] = []
    var cursor = readiness_environ()!
    while let entry = cursor.pointee {
        if !names.contains(where: { entry.isVariable(named: $0) }) { envp.append(entry) }
        cursor += 1
    }
    envp += added
    envp.append(nil)
    defer {
        argv.forEach { free($0) }
        added.forEach { free($0) }
    }
    var failure = readiness_spawn_failure()
    let pid = readiness_spawn(path, argv, envp, outputFD, &failure)
    guard pid > 0 else { throw SpawnFailure(call: String(cString: failure.call), errno: Errno(rawValue: failure.error)) }
    return pid
}

extension UnsafeMutablePointer<CChar> {
    /// Whether this `NAME=value` entry of an environment is the variable `name`.
    fileprivate func isVariable(named name: [UInt8]) -> Bool {
        // A shorter entry stops at its NUL, which no name holds.
        for (index, byte) in name.enumerated() where UInt8(bitPattern: self[index]) != byte { return false }
        return self[name.count] == CChar(UInt8(ascii: "="))
    }
}

func system_set_child_subreaper() throws(Errno) {
    if readiness_set_child_subreaper() == -1 { throw Errno.current }
}

func system_pidfd_open(_ pid: pid_t) throws(Errno) -> Int32 {
    let fd = readiness_pidfd_open(pid)
    if fd == -1 { throw Errno.current }
    return fd
}

func system_ignore_sigpipe() { _ = readiness_ignore_signal(SIGPIPE) }

func system_exit_zero_on_termination() throws(Errno) {
    if readiness_exit_zero_on_termination() == -1 { throw Errno.current }
}

func system_defer_exit() { readiness_defer_exit() }

/// Exits here if a termination signal arrived since `system_defer_exit`.
func system_resume_exit() { readiness_resume_exit() }

/// SIGTERM, SIGINT and SIGHUP to `fd` as bytes, SIGCHLD at its default; what
/// was there before goes to `saved`.
func system_forward_termination(to fd: Int32, saving saved: inout readiness_saved_signals) throws(Errno) {
    if readiness_forward_termination(fd, &saved) == -1 { throw Errno.current }
}

func system_restore_signals(_ saved: readiness_saved_signals) throws(Errno) {
    var saved = saved
    if readiness_restore_signals(&saved) == -1 { throw Errno.current }
}

/// Blocks SIGTERM, SIGINT and SIGHUP; returns the mask from before.
func system_block_termination() throws(Errno) -> sigset_t {
    var previous = sigset_t()
    if readiness_block_termination(&previous) == -1 { throw Errno.current }
    return previous
}

func system_unblock_termination() throws(Errno) {
    if readiness_unblock_termination() == -1 { throw Errno.current }
}

func system_set_signal_mask(_ mask: sigset_t) throws(Errno) {
    var mask = mask
    if readiness_set_signal_mask(&mask) == -1 { throw Errno.current }
}

func system_raise(_ signal: Int32) throws(Errno) {
    if raise(signal) != 0 { throw Errno.current }
}

func system_exit(_ code: Int32) -> Never { exit(code) }

func system_lstat(_ path: String) throws(Errno) -> stat {
    var info = stat()
    try retryingInterrupts { lstat(path, &info) }
    return info
}

func system_wait_status(_ status: Int32) -> (exitCode: Int32?, signal: Int32?) {
    if readiness_wifexited(status) != 0 { return (readiness_wexitstatus(status), nil) }
    if readiness_wifsignaled(status) != 0 { return (nil, readiness_wtermsig(status)) }
    return (nil, nil)
}

func system_list_directory(_ path: String) -> [String]? {
    guard let directory = opendir(path) else { return nil }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        names.append(name)
    }
    return names
}

func system_socket(_ domain: Int32, _ type: Int32) throws(Errno) -> Int32 {
    try retryingInterrupts { socket(domain, type | readiness_sock_cloexec | readiness_sock_nonblock, 0) }
}

/// The address of a unix socket: a path, or `@name` for Linux's abstract
/// namespace (a leading NUL byte, and a length that covers exactly the name,
/// which has no terminating NUL), as `NOTIFY_SOCKET` names them.
private func unixAddress(_ path: String) throws(Errno) -> (address: sockaddr_un, length: socklen_t) {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    var bytes = Array(path.utf8)
    let abstract = bytes.first == UInt8(ascii: "@")
    if abstract { bytes[0] = 0 }
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Errno.fileNameTooLong }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        buffer.copyBytes(from: bytes)
        buffer[bytes.count] = 0
    }
    // sun_path follows sun_family directly (no key paths in Embedded Swift for offset(of:)).
    let length = abstract ? MemoryLayout.size(ofValue: address.sun_family) + bytes.count : MemoryLayout<sockaddr_un>.size
    return (address, socklen_t(length))
}

/// Starts a non-blocking connect to a unix socket; EINPROGRESS is not an
/// error (poll for POLLOUT).
func system_connect_unix(_ fd: Int32, _ path: String) throws(Errno) {
    var (address, length) = try unixAddress(path)
    if connect(fd, to: &address, length: length) == -1, Errno.current != .nowInProgress { throw Errno.current }
}

/// Binds a unix socket to a path or an abstract `@name`.
func system_bind_unix(_ fd: Int32, _ path: String) throws(Errno) {
    var (address, length) = try unixAddress(path)
    if bind(fd, to: &address, length: length) == -1 { throw Errno.current }
}

/// Asks the kernel to attach the sender's pid, uid and gid (SCM_CREDENTIALS)
/// to every datagram this socket receives, even from senders that do not
/// send them: set before bind, so that no datagram arrives without them.
func system_set_pass_credentials(_ fd: Int32) throws(Errno) {
    var on: Int32 = 1
    if setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size)) == -1 { throw Errno.current }
}

/// One datagram of a notify socket: its real length (even when longer than
/// `buffer`), the sender's pid (0 when none came) and how many passed
/// descriptors were closed on arrival; nil when none is waiting.
func system_receive_notify(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> (length: Int, pid: Int32, descriptorsClosed: Int32)? {
    var pid: Int32 = 0
    var closed: Int32 = 0
    let length = readiness_receive_notify(fd, buffer.baseAddress, buffer.count, &pid, &closed)
    if length >= 0 { return (length, pid, closed) }
    let error = Errno.current
    if error == .wouldBlock { return nil }
    throw error
}

/// Whether child `pid` has exited, leaving it unreaped (its pid, which is its
/// process group's id, stays reserved until then); waits for the exit when
/// `blocking`.
func system_child_exited(_ pid: pid_t, blocking: Bool) throws(Errno) -> Bool {
    let result = readiness_child_exited(pid, blocking ? 1 : 0)
    if result == -1 { throw Errno.current }
    return result == 1
}

/// Starts a non-blocking connect to a numeric IPv4 or IPv6 (with a colon)
/// address; EINPROGRESS is not an error (poll for POLLOUT).
func system_connect_inet(_ fd: Int32, _ host: String, _ port: UInt16) throws(Errno) {
    let result: Int32
    if host.utf8.contains(UInt8(ascii: ":")) {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { throw Errno.invalidArgument }
        result = connect(fd, to: &address)
    } else {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Errno.invalidArgument }
        result = connect(fd, to: &address)
    }
    if result == -1, Errno.current != .nowInProgress { throw Errno.current }
}

/// connect(2) to a socket address, passed as the `sockaddr` it starts with.
private func connect<Address>(_ fd: Int32, to address: inout Address, length: socklen_t = socklen_t(MemoryLayout<Address>.size)) -> Int32 {
    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) } }
}

/// Binds `fd` (SO_REUSEADDR set, so a restarted listener can bind while old
/// connections linger in TIME_WAIT) to a numeric address; an empty host is
/// every address. IPv6 sockets take IPv4 too (IPV6_V6ONLY off).
func system_bind(_ fd: Int32, host: String, port: UInt16, ipv6: Bool) throws(Errno) {
    var on: Int32 = 1
    if setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == -1 { throw Errno.current }
    let result: Int32
    if ipv6 {
        var off: Int32 = 0
        if setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size)) == -1 { throw Errno.current }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        if !host.isEmpty, inet_pton(AF_INET6, host, &address.sin6_addr) != 1 { throw Errno.invalidArgument }
        result = bind(fd, to: &address)
    } else {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        if !host.isEmpty, inet_pton(AF_INET, host, &address.sin_addr) != 1 { throw Errno.invalidArgument }
        result = bind(fd, to: &address)
    }
    if result == -1 { throw Errno.current }
}

/// bind(2) to a socket address, passed as the `sockaddr` it starts with.
private func bind<Address>(_ fd: Int32, to address: inout Address, length: socklen_t = socklen_t(MemoryLayout<Address>.size)) -> Int32 {
    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
}

func system_listen(_ fd: Int32, backlog: Int32) throws(Errno) {
    if listen(fd, backlog) == -1 { throw Errno.current }
}

/// accept4(2), the new socket non-blocking and close-on-exec; nil when no
/// connection is waiting (EAGAIN) or it was reset before it was taken.
func system_accept(_ fd: Int32) throws(Errno) -> Int32? {
    let result = readiness_accept(fd)
    if result >= 0 { return result }
    switch Errno.current.rawValue {
    case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO: return nil
    default: throw Errno.current
    }
}

/// send(2) without SIGPIPE for a peer that went away (EPIPE is thrown).
func system_send(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) -> Int {
    try retryingInterrupts { bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
}

/// Ends the sending half: the peer reads the response, then end of stream.
func system_shutdown_write(_ fd: Int32) { _ = shutdown(fd, Int32(SHUT_WR)) }

/// The pending error of a non-blocking connect (SO_ERROR).
func system_socket_error(_ fd: Int32) -> Errno? {
    var value: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return Errno.current }
    return value == 0 ? nil : Errno(rawValue: value)
}

func system_environment_value(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// The command line. Embedded Swift has no `CommandLine`: there the C `main`
/// (CReadiness's EmbeddedMain.c) hands `argv` to CReadiness.
func system_arguments() -> [String] {
    #if hasFeature(Embedded)
    (0..<Int(readiness_argc())).compactMap { index in readiness_argv()?[index].map { String(cString: $0) } }
    #else
    CommandLine.arguments
    #endif
}
