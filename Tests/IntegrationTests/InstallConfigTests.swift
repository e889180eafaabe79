import Foundation
import Testing

/// `make install`'s choice of directory for readiness_listener.conf
/// (supervisor.d/install-config.sh), one test per distribution's stock
/// `[include]` (fixtures hold just that section, as the packages ship it), and
/// the cases where it cannot tell and must install nothing.
@Suite struct InstallConfigTests {
    static let script = "\(Paths.repository)/supervisor.d/install-config.sh"
    static let snippet = "\(Paths.repository)/supervisor.d/readiness_listener.conf"

    /// A root file system holding `files` (path → text), and what the script did in it.
    struct Installation {
        let root = ScratchDirectory()
        let result: Completed

        init(_ files: [String: String], environment: [String: String] = [:]) throws {
            for (path, text) in files { _ = root.write(String(path.dropFirst()), text) }
            var env = ProcessInfo.processInfo.environment
            env["DESTDIR"] = root.path
            env.merge(environment) { $1 }
            result = try run(InstallConfigTests.script, [InstallConfigTests.snippet], environment: env)
        }

        /// Every regular file under the root that the script may have written.
        var installed: [String] {
            let enumerator = FileManager.default.enumerator(atPath: root.path)
            return (enumerator?.allObjects as? [String] ?? []).filter { $0.contains("readiness_listener") }.map { "/\($0)" }.sorted()
        }
    }

    @Test(arguments: [
        // Debian and Ubuntu: supervisor_4.2.5-1 (bookworm), /etc/supervisor/supervisord.conf.
        ("/etc/supervisor/supervisord.conf", "[include]\nfiles = /etc/supervisor/conf.d/*.conf\n",
         "/etc/supervisor/conf.d/readiness_listener.conf"),
        // Alpine: aports main/supervisor/supervisord.conf; the directory is not shipped.
        ("/etc/supervisord.conf", "[include]\nfiles = /etc/supervisor.d/*.ini\n", "/etc/supervisor.d/readiness_listener.ini"),
        // EPEL and Fedora: relative to the including file.
        ("/etc/supervisord.conf", "[include]\nfiles = supervisord.d/*.ini\n", "/etc/supervisord.d/readiness_listener.ini"),
        // A user's own: `:` separator, an inline comment, a plain file first, %(here)s on a continuation line.
        ("/etc/supervisord.conf", "[include]\nfiles: local.conf ; mine\n    %(here)s/programs/*.cfg\n[supervisord]\nfiles = /nowhere/*.x\n",
         "/etc/programs/readiness_listener.cfg"),
    ])
    func installsWhereTheStockConfigIncludes(conf: String, text: String, expected: String) throws {
        let installation = try Installation([conf: "[supervisord]\nlogfile=/var/log/supervisord.log\n\n" + text])
        #expect(installation.result.status == 0, "\(installation.result.stderr)")
        #expect(installation.installed == [expected])
        let copy = try String(contentsOfFile: installation.root.path + expected, encoding: .utf8)
        #expect(copy == (try String(contentsOfFile: Self.snippet, encoding: .utf8)))
    }

    @Test func anExplicitDirectoryWinsOverDetection() throws {
        let installation = try Installation(
            ["/etc/supervisord.conf": "[include]\nfiles = supervisord.d/*.ini\n"],
            environment: ["SUPERVISOR_INCLUDE_DIR": "/opt/conf", "SUPERVISOR_INCLUDE_EXT": "ini"])
        #expect(installation.result.status == 0)
        #expect(installation.installed == ["/opt/conf/readiness_listener.ini"])
    }

    @Test func aNamedConfigIsRead() throws {
        let installation = try Installation(
            ["/srv/supervisord.conf": "[include]\nfiles = /etc/supervisor/conf.d/*.conf\n"],
            environment: ["SUPERVISORD_CONF": "/srv/supervisord.conf"])
        #expect(installation.result.status == 0)
        #expect(installation.installed == ["/etc/supervisor/conf.d/readiness_listener.conf"])
    }

    @Test(arguments: [
        // pip's echo_supervisord_conf (supervisor/skel/sample.conf): [include] commented out.
        ([("/etc/supervisord.conf", ";[include]\n;files = relative/directory/*.ini\n")], "has no [include] files"),
        ([] as [(String, String)], "no supervisord.conf"),
        ([("/etc/supervisord.conf", "[include]\nfiles = /etc/supervisor.d/prog-*.ini extra.conf\n")], "no glob of the form DIR/*.EXT"),
        ([("/etc/supervisord.conf", "[include]\nfiles = /etc/a/*.ini\n"),
          ("/etc/supervisor/supervisord.conf", "[include]\nfiles = /etc/b/*.conf\n")], "cannot be told"),
    ])
    func installsNothingWhenItCannotTell(files: [(String, String)], reason: String) throws {
        let installation = try Installation(Dictionary(uniqueKeysWithValues: files))
        #expect(installation.result.status == 1)
        #expect(installation.result.stderr.contains(reason), "\(installation.result.stderr)")
        #expect(installation.result.stderr.contains("SUPERVISOR_INCLUDE_DIR="))
        #expect(installation.result.stderr.contains("Nothing was installed"))
        #expect(installation.installed.isEmpty)
    }
}
