package import ReadinessCore

extension StatusFileRead {
    /// Reads and parses the status file at `path` (bounded, no symbolic links).
    package init(contentsOf path: String) {
        switch Files.readBounded(path, limit: StatusRecord.maximumFileBytes) {
        case .missing: self = .missing
        case .notRegularFile: self = .notRegularFile
        case .tooLarge(let size): self = .tooLarge(size)
        case .failed(let error): self = .unreadable(error.description)
        case .contents(let bytes): self.init(parsing: bytes)
        }
    }
}

extension SupervisordIdentity {
    /// Asks the kernel whether the supervisord `record` names still runs, and
    /// is the process that started at the recorded time. A readable
    /// /proc/PID/stat answers both (a process has one while it exists, as a
    /// zombie too). Where it cannot (no /proc, no start time recorded), a
    /// running pid is `.unknown`: a pid alone is reused by every container
    /// restart's PID 1, so it is not taken for the same process.
    package init(of record: StatusRecord) {
        let pid = record.supervisordPID
        if let recorded = record.supervisordStartTicks, let current = Processes.startTicks(of: pid) {
            self = current == recorded ? .sameProcess : .pidReused
        } else {
            self = Processes.exists(pid) ? .unknown : .gone
        }
    }
}
