import Testing

@testable import ReadinessCore

/// `--dependent-startup`: supervisord-dependent-startup's keys read from
/// supervisord's configuration as supervisord's own reader sees it.
@Suite struct DependentStartupTests {
    func rules(_ files: String...) throws -> [String] {
        var settings = DependentStartup()
        for (index, file) in files.enumerated() { settings.read(Array(file.utf8), main: index == 0, here: "/etc/supervisor") }
        return try settings.rules(environment: { _ in nil }).map(\.description)
    }

    /// dependent-startup's README example ("Ping example"): supervisord.conf
    /// and the four files it includes, in the order supervisord reads them.
    @Test func theReadmeExampleBecomesRules() throws {
        let main = """
            [supervisorctl]
            serverurl=unix:///tmp/tmp_home/tmp/supervisor.sock ; use a unix:// URL  for a unix socket

            [eventlistener:dependentstartup]
            command=python3 /path/to/supervisord_dependent_startup/supervisord_dependent_startup.py -c /tmp/tmp_home/etc/supervisord.conf
            events=PROCESS_STATE
            autostart=true
            ; The following settings are necessary to ensure the supervisord_dependent_startup
            ; process exits with EXITED when successfull, and FATAL when an error occured
            autorestart=unexpected

            [include]
            files = /tmp/tmp_home/etc/supervisord.d/*.ini
            """
        let ping = "[program:ping]\ncommand=/bin/ping -c 1 www.google.com\nredirect_stderr=true\nautostart=false\nstartsecs=0\ndependent_startup=true\n"
        let ping2 = "[program:ping2]\ncommand=/bin/ping -c 1 www.google.com\nautostart=false\ndependent_startup=true\ndependent_startup_wait_for=sleep:running\n"
        let ping3 = "[program:ping3]\ncommand=/bin/ping -c 1 www.google.com\nautostart=false\ndependent_startup=true\ndependent_startup_wait_for=ping2:exited\n"
        let sleep = "[program:sleep]\ncommand=/bin/sleep 15\nautostart=false\nautorestart=true\nstartsecs=5\ndependent_startup=true\ndependent_startup_wait_for=ping:exited\n"
        var settings = DependentStartup()
        settings.read(Array(main.utf8), main: true, here: "/etc")
        #expect(try settings.includePatterns(here: "/tmp/tmp_home/etc", environment: { _ in nil }) == ["/tmp/tmp_home/etc/supervisord.d/*.ini"])
        #expect(try rules(main, ping, ping2, ping3, sleep) == ["ping=", "ping2=sleep:running", "ping3=ping2:exited", "sleep=ping:exited"])
    }

    @Test func supervisordsReaderIsFollowed() throws {
        let config = """
            ; a comment
            # another
            [program:app]
            Dependent_Startup = Yes ; inline comment
            dependent_startup_wait_for: start:exited
              redis:running  # the value goes on on an indented line
            numprocs=1
            [program:web]
            numprocs = 2
            dependent_startup=true
            dependent_startup_wait_for=app:running
            [program:off]
            dependent_startup=false
            dependent_startup_wait_for=app:running
            [program:plain]
            command=/bin/true ; dependent_startup=true is a comment here
            [program:hash]
            command=echo a#b
            """
        #expect(try rules(config) == ["app=start:exited,redis:running", "web:*=app:running"])
    }

    /// As configparser: a line continues the value before it only when it
    /// is indented more than that key's line, whatever it holds.
    @Test func indentationIsReadAgainstTheKeyLine() throws {
        let indentedFile = "  [program:a]\n  dependent_startup=true\n  dependent_startup_wait_for=b:exited\n  [program:b]\n  command=x\n"
        #expect(try rules(indentedFile) == ["a=b:exited"])
        // An indented key under command= is part of the command.
        #expect(try rules("[program:a]\ncommand=x\n    dependent_startup=true\n[program:b]\ndependent_startup=on\n") == ["b="])
        // An indented header under a key is part of its value.
        #expect(throws: UsageError("[program:b] dependent_startup_wait_for=[program:c]: c] has no meaning here: wait for running or exited (or, with --start-after, ready)")) {
            try rules("[program:b]\ndependent_startup=true\ndependent_startup_wait_for=a\n    [program:c]\n")
        }
        // Lines indented alike are keys of their own.
        #expect(try rules("[program:a]\n dependent_startup=1\n dependent_startup_wait_for=b\n numprocs=3\n") == ["a:*=b:running"])
    }

    /// Programs are named as supervisord names their processes: the names
    /// expected here are supervisord 4.3.0's own for this file (with N=2).
    @Test func programsAreNamedAsSupervisordNamesTheirProcesses() throws {
        let config = """
            [group:g]
            programs=a, b
            [group:h]
            programs=c
            [program:a]
            dependent_startup=true
            [program:b]
            dependent_startup=true
            dependent_startup_wait_for=a:exited
            process_name=%(program_name)s_%(process_num)02d
            numprocs_start=3
            [program:c]
            dependent_startup=true
            dependent_startup_wait_for=b
            numprocs=2
            process_name=%(program_name)s-%(process_num)d
            [program:d]
            dependent_startup=true
            dependent_startup_wait_for=c:running
            process_name=%(group_name)s_%(process_num)-3d|
            [program:e]
            dependent_startup=true
            numprocs=%(ENV_N)s
            process_name=%(program_name)s%(process_num)s
            """
        var settings = DependentStartup()
        settings.read(Array(config.utf8), main: true, here: "/etc")
        #expect(try settings.rules(environment: { $0 == "N" ? "2" : nil }).map(\.description)
            == ["g:a=", "g:b_03=g:a:exited", "h:*=g:b_03:running", "d:d_0  |=h:*:running", "e:*="])
    }

    /// The keys are expanded as supervisord expands its values (dependent-startup
    /// too, for its own keys); what cannot be expanded is refused, naming it.
    @Test func keysAreExpandedAndWhatCannotBeIsRefused() throws {
        let conf = "[program:app]\ndependent_startup=%(ENV_ON)s\ndependent_startup_wait_for=%(ENV_FIRST)s:exited 100%%\n[program:100%]\n"
        let environment = ["ON": "yes", "FIRST": "start"]
        var settings = DependentStartup()
        settings.read(Array(conf.utf8), main: true, here: "/etc")
        #expect(try settings.rules(environment: { environment[$0] }).map(\.description) == ["app=start:exited,100%:running"])
        #expect(throws: UsageError("--dependent-startup cannot expand %(ENV_FIRST)s in [program:app] dependent_startup_wait_for=%(ENV_FIRST)s:exited 100%%")) {
            try settings.rules(environment: { $0 == "ON" ? "1" : nil })
        }
        #expect(throws: UsageError("--dependent-startup cannot expand %(host_node_name)s in [program:x] process_name=%(host_node_name)s")) {
            try rules("[program:x]\ndependent_startup=true\nprocess_name=%(host_node_name)s\n")
        }
        #expect(throws: UsageError("--dependent-startup cannot read % in [program:x] process_name=%(program_name)d")) {
            try rules("[program:x]\ndependent_startup=true\nprocess_name=%(program_name)d\n")
        }
        #expect(throws: UsageError("--dependent-startup cannot read % in [program:x] process_name=x%(process_num)99999999999999999999d")) {
            try rules("[program:x]\ndependent_startup=true\nprocess_name=x%(process_num)99999999999999999999d\n")
        }
        #expect(try rules("[program:x]\ndependent_startup=true\nprocess_name=x%(process_num)+03d%(process_num) d\n") == ["x:x+00 0="])
        #expect(throws: UsageError("--dependent-startup cannot read a number in [program:x] numprocs=two")) {
            try rules("[program:x]\ndependent_startup=true\nnumprocs=two\n")
        }
    }

    /// Several processes of one program in a group with other programs have
    /// no name of their own that --start-after could take.
    @Test func aProgramsProcessesAmongOtherProgramsOfAGroupAreRefused() {
        #expect(throws: UsageError("--dependent-startup cannot name the 2 processes of [program:x] apart from the other programs of [group:g]: give them --start-after rules instead")) {
            try rules("[group:g]\nprograms=x,y\n[program:x]\ndependent_startup=true\nnumprocs=2\nprocess_name=x%(process_num)s\n[program:y]\n")
        }
    }

    @Test func supervisordsCommandLineIsReadAsItsGetoptReadsIt() {
        func read(_ arguments: String...) -> (configuration: String?, script: String) {
            DependentStartup.supervisordCommandLine(arguments.map { Array($0.utf8)[...] })
        }
        #expect(read("/usr/bin/python3", "/usr/bin/supervisord", "-c", "/etc/s.conf") == ("/etc/s.conf", "/usr/bin/supervisord"))
        #expect(read("/usr/bin/python3", "/usr/local/bin/supervisord", "-nc", "s.conf") == ("s.conf", "/usr/local/bin/supervisord"))
        #expect(read("python3", "-u", "/opt/venv/bin/supervisord", "-n", "-cs.conf").configuration == "s.conf")
        #expect(read("python3", "-u", "/opt/venv/bin/supervisord", "-n").script == "/opt/venv/bin/supervisord")
        #expect(read("supervisord", "--configuration=/a.conf").configuration == "/a.conf")
        #expect(read("supervisord", "--conf", "/b.conf", "-n") == ("/b.conf", "supervisord"))
        // A value is no option: -l takes "-c" here; --c could be --childlogdir.
        #expect(read("supervisord", "-l", "-c", "x").configuration == nil)
        #expect(read("supervisord", "--c=/x").configuration == nil)
        #expect(read("supervisord", "-n", "-u", "root").configuration == nil)
        #expect(read().configuration == nil)
    }

    @Test func aLaterFileWinsAndOnlyTheMainFilesIncludeCounts() throws {
        var settings = DependentStartup()
        settings.read(Array("[include]\nfiles = conf.d/*.conf %(here)s/x.ini\n[program:a]\ndependent_startup=true\n".utf8), main: true, here: "/etc")
        settings.read(Array("[include]\nfiles=/elsewhere\n[program:a]\ndependent_startup_wait_for=b\n".utf8), main: false, here: "/etc/conf.d")
        #expect(try settings.rules(environment: { _ in nil }).map(\.description) == ["a=b:running"])
        #expect(try settings.includePatterns(here: "/etc/supervisor", environment: { _ in nil })
            == ["/etc/supervisor/conf.d/*.conf", "/etc/supervisor/x.ini"])
    }

    @Test func includePatternsExpandHereAndTheEnvironment() throws {
        var settings = DependentStartup()
        settings.read(Array("[include]\nfiles=%(ENV_CONF)s/*.ini\n   /abs/%(here)s.conf\n".utf8), main: true, here: "/etc")
        #expect(try settings.includePatterns(here: "/etc", environment: { $0 == "CONF" ? "/conf" : nil }) == ["/conf/*.ini", "/abs//etc.conf"])
        var percent = DependentStartup()
        percent.read(Array("[include]\nfiles=100%%.conf\n".utf8), main: true, here: "/etc")
        #expect(try percent.includePatterns(here: "/etc", environment: { _ in nil }) == ["/etc/100%.conf"])
        #expect(throws: UsageError("--dependent-startup cannot expand %(ENV_CONF)s in [include] files=%(ENV_CONF)s/*.ini /abs/%(here)s.conf")) {
            try settings.includePatterns(here: "/etc", environment: { _ in nil })
        }
        var broken = DependentStartup()
        broken.read(Array("[include]\nfiles=%(here/x\n".utf8), main: true, here: "/etc")
        #expect(throws: UsageError("--dependent-startup cannot read % in [include] files=%(here/x")) { try broken.includePatterns(here: "/etc", environment: { _ in nil }) }
    }

    /// A corrupt file is read as far as it makes sense, without a crash:
    /// pieces of sections, keys and bytes in any order give rules only for
    /// what they say, each of a program the file names, or a refusal.
    @Test func garbageIsReadWithoutACrash() throws {
        let pieces = ["[program:a]", "[program:b", "[include]", "]", "[", "dependent_startup", "=", ":", "true", "dependent_startup_wait_for",
                      "b:exited", "a", ";", "#", " ", "\t", "\n", "\r", "\0", "\u{FF}", "numprocs=2", "files=*", "%("]
        var seed: UInt64 = 0x5EED
        for _ in 0..<2000 {
            var text = ""
            for _ in 0..<(seed % 40) {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += pieces[Int(seed >> 33) % pieces.count]
            }
            var settings = DependentStartup()
            settings.read(Array(text.utf8), main: true, here: "/etc")
            if let rules = try? settings.rules(environment: { _ in nil }) {
                #expect(rules.allSatisfy { text.contains("[program:\($0.programs.description.split(separator: ":")[0])]") }, "\(text)")
            }
            _ = try? settings.includePatterns(here: "/etc", environment: { _ in nil })
        }
        var settings = DependentStartup()
        settings.read(Array("[program:app\ndependent_startup=true\n[program:]\n=\n:\n[]\n\0\u{FF}".utf8), main: true, here: "/etc")
        #expect(try settings.rules(environment: { _ in nil }).isEmpty)
    }

    @Test(arguments: ["starting", "BACKOFF", "stopping", "fatal", "ready", "done"])
    func aStateWithoutMeaningHereIsRefusedNamingTheSection(_ state: String) {
        #expect(throws: UsageError("[program:app] dependent_startup_wait_for=redis:\(state): \(state.lowercased()) has no meaning here: wait for running or exited (or, with --start-after, ready)")) {
            try rules("[program:app]\ndependent_startup=true\ndependent_startup_wait_for=redis:\(state)\n")
        }
    }

    @Test func aNameSupervisordCouldNeverHaveIsRefused() {
        #expect(throws: UsageError("[program:app]: --start-after takes NAME, GROUP:NAME or GROUP:*, not \"a*\"")) {
            try rules("[program:app]\ndependent_startup=true\ndependent_startup_wait_for=a*:running\n")
        }
        #expect(throws: UsageError("[program:a*]: --dependent-startup takes NAME, GROUP:NAME or GROUP:*, not \"a*\"")) { try rules("[program:a*]\ndependent_startup=true\n") }
    }

    /// dependent-startup takes `dep:running,exited` for either state; here a condition is one state.
    @Test func aChoiceOfStatesIsRefusedAsSuch() {
        #expect(throws: UsageError("[program:app] dependent_startup_wait_for=redis:running,exited: a choice of states has no meaning here: wait for running or exited (or, with --start-after, ready)")) {
            try rules("[program:app]\ndependent_startup=true\ndependent_startup_wait_for=redis:running,exited\n")
        }
    }

    @Test(arguments: [
        ("a.conf", "*.conf", true), ("a.conf", "*.ini", false), (".hidden.conf", "*.conf", false), (".hidden.conf", ".*.conf", true),
        ("ab", "a?", true), ("a", "a?", false), ("b1", "[abc]1", true), ("d1", "[!abc]1", true), ("b1", "[!abc]1", false),
        ("k", "[a-m]", true), ("z", "[a-m]", false), ("]", "[]]", true), ("[x", "[x", true), ("abcbd", "a*b*d", true), ("abcbe", "a*b*d", false),
        ("", "*", true), ("x", "", false), (".", ".*", false), ("..", ".*", false), ("..x", ".*", true),
    ])
    func fileNamesMatchAsGlobMatchesThem(_ name: String, _ pattern: String, _ matches: Bool) {
        #expect(DependentStartup.matches(name.utf8, pattern: pattern.utf8) == matches)
    }

    @Test func fileNamesSortByTheirBytes() {
        #expect(DependentStartup.precedes(Array("a.conf".utf8), Array("b.conf".utf8)))
        #expect(DependentStartup.precedes(Array("B".utf8), Array("a".utf8)))
        #expect(DependentStartup.precedes(Array("a".utf8), Array("ab".utf8)))
        #expect(!DependentStartup.precedes(Array("ab".utf8), Array("ab".utf8)))
    }
}
