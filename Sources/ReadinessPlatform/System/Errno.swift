import CReadiness

/// An error number from the C library, as swift-system's `Errno`: the raw
/// value, swift-system's names for the cases this package acts on, and a
/// description that gives both the C library's text and the C name
/// (`No such file or directory (ENOENT)`), so a message can be searched for.
package struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: Int32

    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno`, as the last failed call left it.
    package static var current: Errno { Errno(rawValue: system_errno()) }

    package static var noSuchFileOrDirectory: Errno { Errno(rawValue: ENOENT) }
    package static var noSuchProcess: Errno { Errno(rawValue: ESRCH) }
    package static var interrupted: Errno { Errno(rawValue: EINTR) }
    package static var fileExists: Errno { Errno(rawValue: EEXIST) }
    package static var invalidArgument: Errno { Errno(rawValue: EINVAL) }
    package static var textFileBusy: Errno { Errno(rawValue: ETXTBSY) }
    package static var wouldBlock: Errno { Errno(rawValue: EWOULDBLOCK) }
    package static var nowInProgress: Errno { Errno(rawValue: EINPROGRESS) }
    package static var tooManySymbolicLinkLevels: Errno { Errno(rawValue: ELOOP) }
    package static var fileNameTooLong: Errno { Errno(rawValue: ENAMETOOLONG) }

    /// The C library's text for the error. The corresponding C function is `strerror(3)`.
    package var message: String { system_strerror(rawValue) }

    /// The error's C name, such as `ENOENT`; nil for a number the C library does not know.
    /// The corresponding C function is `strerrorname_np(3)`.
    package var name: String? { system_errno_name(rawValue) }

    /// `No such file or directory (ENOENT)`.
    package var description: String { "\(message) (\(name ?? "errno \(rawValue)"))" }
}
