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
    /// is the process that started at the recorded time.
    package init(of record: StatusRecord) {
        guard Processes.exists(record.supervisordPID) else {
            self = .gone
            return
        }
        if let recorded = record.supervisordStartTicks, let current = Processes.startTicks(of: record.supervisordPID),
            current != recorded
        {
            self = .pidReused
            return
        }
        self = .sameProcess
    }
}
