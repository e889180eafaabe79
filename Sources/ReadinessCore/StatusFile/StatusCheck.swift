/// What reading the status file gave, before anything is concluded from it.
package enum StatusFileRead: Equatable, Sendable {
    case missing
    /// A symbolic link (not followed), a directory, a FIFO.
    case notRegularFile
    case tooLarge(Int)
    /// The file exists but could not be read; the operating system's reason.
    case unreadable(String)
    case malformed(StatusParseError)
    case record(StatusRecord)

    /// The outcome for the whole contents of the file.
    package init(parsing bytes: some Collection<UInt8>) {
        do throws(StatusParseError) {
            self = .record(try StatusRecord.parse(bytes))
        } catch {
            self = .malformed(error)
        }
    }

    package var record: StatusRecord? {
        if case .record(let record) = self { return record }
        return nil
    }
}

/// Whether the supervisord that wrote the status file is still the same
/// process: a file that outlived it says nothing about the current run.
package enum SupervisordIdentity: Equatable, Sendable {
    /// The recorded pid runs, and started when recorded.
    case sameProcess
    /// The recorded pid runs, but whether it is the same process cannot be
    /// told (no /proc, or no start time recorded): not taken as the same.
    case unknown
    /// No process has the recorded pid.
    case gone
    /// The recorded pid belongs to a process that started at another time:
    /// a restarted container's PID 1, say.
    case pidReused
}

extension Verdict {
    /// The probe's first step: what the status file says of `subject`, when
    /// it was written by the supervisord that runs now and kept by a live
    /// listener.
    /// `identity` is asked only once the file holds a record, since the pid
    /// to check comes from it; `listener` only when the file is missing, or
    /// its record would be READY and says its listener holds a lock.
    package static func statusCheck(
        _ read: StatusFileRead, path: String, subject: ProbeSubject = .container, listener: () -> ListenerPresence,
        identity: (StatusRecord) -> SupervisordIdentity
    ) -> Verdict {
        switch read {
        case .missing:
            return missingFileCheck(path: path, presence: listener())
        case .notRegularFile:
            return Verdict(.badStatus, "status file \(path) is not a regular file (symbolic links are not followed)")
        case .tooLarge(let size):
            return Verdict(.badStatus, "status file \(path) is \(size) bytes, more than \(StatusRecord.maximumFileBytes)")
        case .unreadable(let reason):
            return Verdict(.badStatus, reason)
        case .malformed(let error):
            return Verdict(.badStatus, "\(path): \(error)")
        case .record(let record):
            switch identity(record) {
            case .gone:
                return Verdict(
                    .staleStatus, "status file \(path) was written under supervisord pid \(record.supervisordPID), which is not running")
            case .pidReused:
                return Verdict(
                    .staleStatus,
                    "status file \(path) was written under an earlier process with supervisord's pid \(record.supervisordPID) (a restarted container?)")
            case .unknown:
                return Verdict(
                    .staleStatus,
                    "cannot tell whether supervisord pid \(record.supervisordPID) is the one that wrote \(path) (no start time to compare: is /proc mounted?)")
            case .sameProcess:
                // Only READY is taken away: a not-ready answer stands as it
                // is, with its own code, whether or not its listener lives.
                let verdict = check(record, of: subject)
                if verdict.isReady, record.listenerLock, let gone = listenerCheck(record, path: path, presence: listener()) { return gone }
                return verdict
            }
        }
    }
}
