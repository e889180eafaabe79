import Foundation
import Testing

/// `/metrics` under a real supervisord, read by the clients users have:
/// PyPI's prometheus-client parses it and Prometheus's `promtool check
/// metrics` lints it; the values are checked against supervisord's own view.
@Suite struct MetricsTests {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Why a scrape is unusable: thrown, not recorded, so that a wait may try again.
    struct ScrapeError: Error, CustomStringConvertible { let description: String }

    /// One scrape, as prometheus-client's parser reads it, after promtool found nothing wrong.
    static func scrape(port: UInt16, scratch: ScratchDirectory) throws -> [Sample] {
        guard let response = HTTPClient.get(port: port, "/metrics") else { throw ScrapeError(description: "no answer on /metrics") }
        guard response.status == 200, response.head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8") else {
            throw ScrapeError(description: "not the exposition format: \(response.head)")
        }
        return try parse(response.body, scratch: scratch)
    }

    /// `body` as prometheus-client's parser reads it, after promtool found nothing wrong.
    static func parse(_ body: String, scratch: ScratchDirectory) throws -> [Sample] {
        let file = scratch.write("scrape", body)
        let lint = try run(try promtool(), ["check", "metrics"], stdin: file)
        guard lint.status == 0 else { throw ScrapeError(description: "promtool check metrics: \(lint.stdout)\(lint.stderr)\n\(body)") }
        let parser = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            print(json.dumps([[s.name, s.labels, s.value] for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]))
            """
        let parsed = try run("\(Paths.repository)/.venv/bin/python3", ["-c", parser], stdin: file)
        guard parsed.status == 0, let rows = try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [[Any]] else {
            throw ScrapeError(description: "prometheus-client cannot parse /metrics: \(parsed.stderr)\n\(body)")
        }
        return rows.compactMap { row in
            guard let name = row[0] as? String, let labels = row[1] as? [String: String], let value = row[2] as? Double else { return nil }
            return Sample(name: name, labels: labels, value: value)
        }
    }

    /// Debian's promtool, which `make test` installs.
    static func promtool() throws -> String {
        guard let path = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ScrapeError(description: "promtool is not installed (Debian's prometheus package)")
        }
        return path
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }

    static let stateCodes: [String: Double] = [
        "STOPPED": 0, "STARTING": 10, "RUNNING": 20, "BACKOFF": 30, "STOPPING": 40, "EXITED": 100, "FATAL": 200, "UNKNOWN": 1000,
    ]

    /// A program that crashes over and over, one that failed once and stays
    /// down, one that runs, one never started, start.sh done, a service that
    /// becomes ready two seconds after it runs: every family's values follow supervisord.
    @Test func metricsFollowSupervisord() throws {
        let port = TestPorts.unused()
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [
                .init(name: "crasher", script: "sleep 0.3; exit 3", settings: ["startsecs": "0", "autorestart": "true"]),
                .init(name: "failed", script: "exit 3", settings: ["startsecs": "0", "autorestart": "false"]),
                .init(name: "sleeper", script: "exec sleep 600", settings: ["startsecs": "0"]),
                .init(name: "idle", script: "exec sleep 600", settings: ["autostart": "false"]),
                .init(name: "db", script: "sleep 2; touch @SCRATCH@/db-up; exec sleep 600", settings: ["startsecs": "0"]),
            ],
            listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook --service 'db=exec:test -e @SCRATCH@/db-up' --check-period 0.2")
        let scratch = ScratchDirectory()
        #expect(eventually { HTTPClient.get(port: port, "/metrics")?.status == 200 }, "the listener never answered on port \(port)")
        #expect(eventually(within: 30) { (try? Self.scrape(port: port, scratch: scratch)).flatMap { Self.value($0, "readiness_program_starts_total", ["program": "crasher"]) } ?? 0 >= 4 })

        // Every crash supervisord logged is counted, as a start and an unexpected exit.
        let crashes = supervisord.log.components(separatedBy: "exited: crasher (exit status 3; not expected)").count - 1
        #expect(crashes >= 3)
        var samples: [Sample] = []
        #expect(eventually {
            samples = (try? Self.scrape(port: port, scratch: scratch)) ?? []
            return Self.value(samples, "readiness_program_exits_total", ["program": "crasher", "expected": "false"]) ?? 0 >= Double(crashes)
        }, "\(samples)")
        #expect(Self.value(samples, "readiness_program_starts_total", ["program": "crasher", "group": "crasher"]) ?? 0 >= Double(crashes))
        #expect(Self.value(samples, "readiness_program_exits_total", ["program": "crasher", "expected": "true"]) == 0)
        #expect(eventually(within: 15) {
            (try? Self.scrape(port: port, scratch: scratch)).flatMap { Self.value($0, "readiness_program_last_exit_status", ["program": "failed"]) } == 3
        }, "exit statuses come from supervisord at the next TICK")

        // Stable programs: the state gauge is supervisorctl's.
        _ = try supervisord.ctl("stop", "sleeper")
        #expect(try supervisord.state(of: "sleeper") == "STOPPED")
        for program in ["sleeper", "idle", "start", "db", "failed"] {
            let state = try supervisord.state(of: program)
            #expect(eventually {
                (try? Self.scrape(port: port, scratch: scratch)).flatMap { Self.value($0, "readiness_program_state", ["program": program]) } == Self.stateCodes[state]
            }, "\(program) is \(state)")
        }

        // The service and the probe: the exec probe's code, the service ready after its check passed.
        #expect(eventually(within: 30) { (try? supervisord.probe().status) == 0 })
        samples = try Self.scrape(port: port, scratch: scratch)
        #expect(Self.value(samples, "readiness_probe_code") == 0)
        #expect(Self.value(samples, "readiness_service_ready", ["service": "db"]) == 1)
        #expect(Self.value(samples, "readiness_service_time_to_ready_seconds_count", ["service": "db"]) == 1)
        let timeToReady = Self.value(samples, "readiness_service_time_to_ready_seconds_sum", ["service": "db"]) ?? 0
        // From the listener's handling of RUNNING, which may come late on a busy machine: a second of slack.
        #expect(timeToReady >= 1 && timeToReady < 60, "db touched its file two seconds after it ran: \(timeToReady)")
        #expect(Self.value(samples, "readiness_service_time_to_ready_seconds_bucket", ["service": "db", "le": "+Inf"]) == 1)
        let since = try #require(Self.value(samples, "readiness_program_state_since_seconds", ["program": "sleeper"]))
        #expect(abs(since - Date().timeIntervalSince1970) < 120, "Unix time of the stop: \(since)")

        // The listener's own.
        #expect(Self.value(samples, "readiness_events_total") ?? 0 >= Double(2 * crashes))
        #expect(Self.value(samples, "readiness_events_lost_total") == 0)
        #expect(Self.value(samples, "readiness_xmlrpc_calls_total", ["result": "ok"]) ?? 0 > 0)
        #expect(Self.value(samples, "readiness_http_requests_total", ["path": "/metrics", "code": "200"]) ?? 0 >= 3)
        #expect(samples.contains { $0.name == "readiness_build_info" && $0.labels["version"]?.isEmpty == false && $0.value == 1 })
        _ = HTTPClient.get(port: port, "/no-such-path")
        #expect(eventually {
            (try? Self.scrape(port: port, scratch: scratch)).flatMap { Self.value($0, "readiness_http_requests_total", ["path": "other", "code": "404"]) } == 1
        })

        // Bounded: one series per program, not per pid or state.
        let states = samples.filter { $0.name == "readiness_program_state" }
        #expect(Set(states.map { $0.labels["program"] ?? "" }) == ["crasher", "failed", "sleeper", "idle", "db", "start", "readiness_listener"], "\(states)")
    }

    /// Counters only go up while the listener runs, scrape after scrape,
    /// through a crash loop.
    @Test func countersNeverGoDown() throws {
        let port = TestPorts.unused()
        let supervisord = try Supervisord(
            start: "exit 0", programs: [.init(name: "crasher", script: "sleep 0.1; exit 1", settings: ["startsecs": "0", "autorestart": "true"])],
            listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook")
        let scratch = ScratchDirectory()
        #expect(eventually { HTTPClient.get(port: port, "/metrics")?.status == 200 }, "the listener never answered on port \(port)")
        var previous: [String: Double] = [:]
        for _ in 0..<10 {
            let samples = try Self.scrape(port: port, scratch: scratch)
            for sample in samples where sample.name.hasSuffix("_total") {
                let key = sample.name + sample.labels.sorted { $0.key < $1.key }.description
                #expect(sample.value >= previous[key] ?? 0, "\(key) went down")
                previous[key] = sample.value
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(previous.contains { $0.key.hasPrefix("readiness_program_starts_total") && $0.value >= 3 }, "\(previous)")
        _ = supervisord
    }
}
