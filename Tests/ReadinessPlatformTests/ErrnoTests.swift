import Glibc
import Testing

@testable import ReadinessPlatform

@Suite struct ErrnoTests {
    /// swift-system's case names stand for the C error numbers they name.
    @Test(arguments: [
        (Errno.noSuchFileOrDirectory, "ENOENT", ENOENT),
        (.noSuchProcess, "ESRCH", ESRCH),
        (.interrupted, "EINTR", EINTR),
        (.fileExists, "EEXIST", EEXIST),
        (.invalidArgument, "EINVAL", EINVAL),
        (.textFileBusy, "ETXTBSY", ETXTBSY),
        (.wouldBlock, "EAGAIN", EAGAIN),
        (.nowInProgress, "EINPROGRESS", EINPROGRESS),
        (.tooManySymbolicLinkLevels, "ELOOP", ELOOP),
        (.fileNameTooLong, "ENAMETOOLONG", ENAMETOOLONG),
    ])
    func caseNamesMapToTheirCNames(errno: Errno, name: String, rawValue: Int32) {
        #expect(errno.rawValue == rawValue)
        #expect(errno.name == name)
        #expect(Errno(rawValue: rawValue) == errno)
    }

    @Test func descriptionGivesTheTextAndTheCName() {
        #expect(Errno.noSuchFileOrDirectory.description == "No such file or directory (ENOENT)")
        #expect(Errno(rawValue: ECHILD).description == "No child processes (ECHILD)")
        #expect(Errno(rawValue: EROFS).description == "Read-only file system (EROFS)")
        #expect("\(Errno.textFileBusy)" == "Text file busy (ETXTBSY)")
    }

    @Test func unknownNumbersStillDescribeThemselves() {
        #expect(Errno(rawValue: 4242).name == nil)
        #expect(Errno(rawValue: 4242).description == "Unknown error 4242 (errno 4242)")
    }

    /// `current` is what the last failed call left in errno.
    @Test func currentIsTheLastFailure() {
        #expect(close(-1) == -1)
        #expect(Errno.current == Errno(rawValue: EBADF))
    }
}
