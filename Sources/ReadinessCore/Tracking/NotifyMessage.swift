/// One sd_notify datagram, as a careful receiver reads it: newline-separated
/// `KEY=VALUE` assignments, each key matched whole (`READY=1` anywhere in the
/// message counts, `READY=10` does not), unknown keys ignored.
package struct NotifyMessage: Equatable, Sendable {
    /// systemd's receive buffer: a larger datagram was cut, and is dropped whole.
    package static let maximumBytes = 4096
    /// How much of `STATUS=` is kept: it is one line for people.
    package static let statusLimit = 200

    /// What the message says of the sender's readiness; when several of
    /// these keys come in one message, the strongest counts
    /// (STOPPING=1, then READY=1, then RELOADING=1), as systemd reads them.
    package enum Signal: String, Equatable, Sendable {
        case ready
        case reloading
        case stopping

        /// `READY=1`, as the sender wrote it.
        package var assignment: String {
            switch self {
            case .ready: "READY=1"
            case .reloading: "RELOADING=1"
            case .stopping: "STOPPING=1"
            }
        }
    }

    package var signal: Signal?
    /// `STATUS=`, one line, bounded; nil when the message has none.
    package var status: String?
    /// `MAINPID=`: the process the sender says is the service's main one.
    package var mainPID: Int?

    package init(signal: Signal? = nil, status: String? = nil, mainPID: Int? = nil) {
        self.signal = signal
        self.status = status
        self.mainPID = mainPID
    }

    /// Why a datagram was dropped.
    package enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        case tooLarge(Int)
        case containsNUL
        case notUTF8
        case empty

        package var description: String {
            switch self {
            case .tooLarge(let size): "\(size) bytes, more than \(NotifyMessage.maximumBytes)"
            case .containsNUL: "it contains a NUL byte"
            case .notUTF8: "it is not valid UTF-8"
            case .empty: "it is empty"
            }
        }
    }

    /// Parses a datagram whose real length was `length` (larger than
    /// `bytes.count` when the receive buffer cut it).
    package init(parsing bytes: some Collection<UInt8>, length: Int) throws(Rejection) {
        guard length <= Self.maximumBytes, bytes.count == length else { throw .tooLarge(length) }
        guard !bytes.isEmpty else { throw .empty }
        guard !bytes.contains(0) else { throw .containsNUL }
        let bytes = Array(bytes)
        guard isValidUTF8(bytes[...]) else { throw .notUTF8 }
        var ready = false
        var reloading = false
        var stopping = false
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            if line.elementsEqual("READY=1".utf8) {
                ready = true
            } else if line.elementsEqual("RELOADING=1".utf8) {
                reloading = true
            } else if line.elementsEqual("STOPPING=1".utf8) {
                stopping = true
            } else if line.starts(with: "STATUS=".utf8) {
                status = String(decoding: line.dropFirst(7), as: UTF8.self).oneLine(limit: Self.statusLimit)
            } else if line.starts(with: "MAINPID=".utf8) {
                if let pid = UInt64(decimal: line.dropFirst(8)), pid > 0, pid < UInt64(Int32.max) { mainPID = Int(pid) }
            }
        }
        signal = stopping ? .stopping : ready ? .ready : reloading ? .reloading : nil
    }
}
