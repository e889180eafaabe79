package import ReadinessCore

/// supervisord's configuration files, as `--dependent-startup` reads them.
package enum SupervisordConfiguration {
    /// dependent-startup's keys from supervisord's configuration: the file
    /// `config`, else the one supervisord's command line names, else the first
    /// of supervisord's default places that exists; then the files its
    /// `[include] files=` names, in supervisord's order. Also the files read.
    package static func dependentStartup(config: String?) throws(UsageError) -> (settings: DependentStartup, files: [String]) {
        guard let path = config ?? pathFromSupervisordsCommandLine() else {
            throw UsageError("--dependent-startup cannot find supervisord's configuration: give it with --config PATH")
        }
        var settings = DependentStartup()
        settings.read(try read(path), main: true)
        var files = [path]
        for pattern in try settings.includePatterns(here: Files.directoryName(of: path), environment: Processes.environmentValue) {
            for file in try matchingFiles(pattern) {
                settings.read(try read(file), main: false)
                files.append(file)
            }
        }
        return (settings, files)
    }

    private static func read(_ path: String) throws(UsageError) -> [UInt8] {
        switch Files.readBounded(path, limit: 1 << 20, followingLinks: true) {
        case .contents(let bytes): return bytes
        case .missing: throw UsageError("--dependent-startup: no file \(path)")
        case .tooLarge(let size): throw UsageError("--dependent-startup: \(path) is \(size) bytes, more than 1 MiB")
        case .notRegularFile: throw UsageError("--dependent-startup: \(path) is not a regular file")
        case .failed(let error): throw UsageError("--dependent-startup: \(error.description)")
        }
    }

    /// The files a `[include]` pattern names, sorted as supervisord sorts
    /// them. Wildcards are taken in the file name only, which is where
    /// configurations put them.
    private static func matchingFiles(_ pattern: String) throws(UsageError) -> [String] {
        let directory = Files.directoryName(of: pattern)
        let name = pattern.utf8.split(separator: UInt8(ascii: "/")).last ?? []
        let isWildcard = { (byte: UInt8) in byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") }
        guard !directory.utf8.contains(where: isWildcard) else {
            throw UsageError("--dependent-startup takes wildcards in the file names of [include] files=, not in \(directory)")
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

    /// What supervisord (the parent) was started with: `-c PATH`, `-cPATH`,
    /// `--configuration PATH` or `=PATH` (or a long option's unique prefix,
    /// as getopt takes), relative to its working directory; without it,
    /// supervisord's default places under its working directory and in /etc.
    private static func pathFromSupervisordsCommandLine() -> String? {
        let parent = "/proc/\(Processes.parentPID)"
        guard case .contents(let bytes) = Files.readBounded(parent + "/cmdline", limit: 1 << 16) else { return nil }
        let arguments = bytes.split(separator: 0)
        var named: ArraySlice<UInt8>?
        for (index, argument) in arguments.enumerated() {
            let option = argument.prefix { $0 != UInt8(ascii: "=") }
            let long = option.count >= 4 && "--configuration".utf8.starts(with: option)
            guard long || (argument.starts(with: "-c".utf8) && !argument.starts(with: "--".utf8)) else { continue }
            let inline = long ? argument.dropFirst(option.count + 1) : argument.dropFirst(2)
            named = inline.isEmpty && option.count == argument.count && index + 1 < arguments.count ? arguments[index + 1] : inline
        }
        func resolved(_ path: String) -> String { path.hasPrefix("/") ? path : parent + "/cwd/" + path }
        if let named { return resolved(String(decoding: named, as: UTF8.self)) }
        let defaults = ["supervisord.conf", "etc/supervisord.conf", "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"]
        return defaults.map(resolved).first { if case .missing = Files.readBounded($0, limit: 0, followingLinks: true) { false } else { true } }
    }
}
