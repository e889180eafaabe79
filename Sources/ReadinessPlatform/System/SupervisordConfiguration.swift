package import ReadinessCore

/// supervisord's configuration files, as `--dependent-startup` reads them
/// (its steps out of line, as `DependentStartup`'s are).
package enum SupervisordConfiguration {
    /// dependent-startup's keys from supervisord's configuration: the file
    /// `config`, else the one supervisord's command line names, else the first
    /// of supervisord's default places that exists; then the files its
    /// `[include] files=` names, in supervisord's order. Also the files read.
    package static func dependentStartup(config: String?) throws(UsageError) -> (settings: DependentStartup, files: [String]) {
        guard let path = config ?? pathFromSupervisordsCommandLine() else {
            throw UsageError("--dependent-startup cannot find supervisord's configuration: give it with --config PATH")
        }
        guard let main = try read(path) else { throw UsageError("--dependent-startup: " + path + " is not a regular file") }
        let here = Files.directoryName(of: path)
        var settings = DependentStartup()
        settings.read(main, main: true, here: here)
        var files = [path]
        for pattern in try settings.includePatterns(here: here, environment: Processes.environmentValue) {
            // What is no regular file (a directory the pattern also names) supervisord skips too.
            for file in try matchingFiles(pattern) {
                guard let bytes = try read(file) else { continue }
                settings.read(bytes, main: false, here: Files.directoryName(of: file))
                files.append(file)
            }
        }
        return (settings, files)
    }

    @inline(never) private static func read(_ path: String) throws(UsageError) -> [UInt8]? {
        switch Files.readBounded(path, limit: 1 << 20, followingLinks: true) {
        case .contents(let bytes): return bytes
        case .missing: throw UsageError("--dependent-startup: no file " + path)
        case .tooLarge(let size): throw UsageError("--dependent-startup: " + path + " is " + String(size) + " bytes, more than 1 MiB")
        case .notRegularFile: return nil
        case .failed(let error): throw UsageError("--dependent-startup: " + error.description)
        }
    }

    /// The files a `[include]` pattern names, sorted as supervisord sorts
    /// them. Wildcards are taken in the file name only, which is where
    /// configurations put them.
    @inline(never) private static func matchingFiles(_ pattern: String) throws(UsageError) -> [String] {
        let directory = Files.directoryName(of: pattern)
        let name = pattern.utf8.split(separator: UInt8(ascii: "/")).last ?? []
        let isWildcard = { (byte: UInt8) in byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") }
        guard !directory.utf8.contains(where: isWildcard) else {
            throw UsageError("--dependent-startup takes wildcards in the file names of [include] files=, not in " + directory)
        }
        guard name.contains(where: isWildcard) else {
            if case .missing = Files.readBounded(pattern, limit: 0, followingLinks: true) { return [] }
            return [pattern]
        }
        // Sorted by inserting each in place: a few files, and the standard
        // library's sort costs kilobytes of binary.
        var files: [String] = []
        for file in system_list_directory(directory) ?? [] where DependentStartup.matches(file.utf8, pattern: name) {
            let path = directory + "/" + file
            files.insert(path, at: files.firstIndex { DependentStartup.precedes(Array(path.utf8), Array($0.utf8)) } ?? files.count)
        }
        return files
    }

    /// The file supervisord (the parent) was started with, relative to its
    /// working directory; without one, supervisord's default places:
    /// `etc/supervisord.conf` and `supervisord.conf` two levels above its
    /// script, the same under its working directory, then in /etc.
    @inline(never) private static func pathFromSupervisordsCommandLine() -> String? {
        let parent = "/proc/" + String(Processes.parentPID)
        guard case .contents(let bytes) = Files.readBounded(parent + "/cmdline", limit: 1 << 16) else { return nil }
        let (named, script) = DependentStartup.supervisordCommandLine(bytes.split(separator: 0))
        func resolved(_ path: String) -> String { path.hasPrefix("/") ? path : parent + "/cwd/" + path }
        if let named { return resolved(named) }
        let here = Files.directoryName(of: Files.directoryName(of: script))
        let defaults = [here + "/etc/supervisord.conf", here + "/supervisord.conf", "supervisord.conf", "etc/supervisord.conf",
                        "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"]
        return defaults.map(resolved).first { if case .missing = Files.readBounded($0, limit: 0, followingLinks: true) { false } else { true } }
    }
}
