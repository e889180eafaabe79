/// `/metrics`: Prometheus's text exposition format 0.0.4, written from the
/// listener's counts and record at the moment of the scrape.
extension ListenerMetrics {
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Everything one scrape reports. `probeCode` is the code readiness_probe
    /// would exit with now; `xmlrpcCalls` counts supervisord's answers by
    /// `result="…"`, as the port that makes the calls tallied them. Written
    /// over `storage` (the last scrape's, `ProbeEndpoint.ScrapeMemory`).
    package func exposition(
        record: StatusRecord, probeCode: ProbeCode, xmlrpcCalls: Tally, version: String, reusing storage: consuming [UInt8] = []
    ) -> [UInt8] {
        var text = ByteText(reusing: consume storage, capacity: 4096 + programs.count * 600)
        let sorted = sortedIndices.lazy.map { programs[$0] }
        func family(_ name: StaticString, _ type: StaticString, _ help: StaticString) {
            text.write("# HELP ")
            text.write(name)
            text.write(" ")
            text.write(help)
            text.write("\n# TYPE ")
            text.write(name)
            text.write(" ")
            text.write(type)
            text.write("\n")
        }
        func perProgram(_ name: StaticString, _ type: StaticString, _ help: StaticString, _ value: (Program) -> Int?) {
            family(name, type, help)
            for program in sorted {
                guard let value = value(program) else { continue }
                text.write(name)
                text.writeLabels(program)
                text.write(" ")
                text.write(value)
                text.write("\n")
            }
        }
        func tally(_ name: StaticString, _ help: StaticString, _ tally: Tally) {
            family(name, "counter", help)
            for (labels, count) in tally.counts {
                text.write(name)
                text.write("{")
                text.write(string: labels)
                text.write("} ")
                text.write(count)
                text.write("\n")
            }
        }

        family("readiness_build_info", "gauge", "The listener's version; always 1.")
        text.write("readiness_build_info{version=\"")
        text.writeLabelValue(version)
        text.write("\"} 1\n")

        perProgram(
            "readiness_program_state", "gauge",
            "supervisord's state of the program: STOPPED 0, STARTING 10, RUNNING 20, BACKOFF 30, STOPPING 40, EXITED 100, FATAL 200, UNKNOWN 1000."
        ) { $0.state.code }
        perProgram("readiness_program_starts_total", "counter", "Times the program entered STARTING since the listener started.") {
            Int($0.starts)
        }
        family("readiness_program_exits_total", "counter", "Exits since the listener started; BACKOFF (died before startsecs) counts as unexpected.")
        for program in sorted {
            for expected in [true, false] {
                text.write("readiness_program_exits_total")
                text.writeLabels(program, expected ? ",expected=\"true\"" : ",expected=\"false\"")
                text.write(" ")
                text.write(expected ? program.expectedExits : program.unexpectedExits)
                text.write("\n")
            }
        }
        perProgram("readiness_program_last_exit_status", "gauge", "The exit status of the program's last exit, as supervisord reported it.") {
            $0.lastExitStatus
        }
        family("readiness_program_state_since_seconds", "gauge", "Unix time of the program's last transition.")
        for program in sorted {
            text.write("readiness_program_state_since_seconds")
            text.writeLabels(program)
            text.write(" ")
            text.writeSeconds(milliseconds: program.stateSince.millisecondsSinceEpoch)
            text.write("\n")
        }

        family("readiness_service_ready", "gauge", "1 when the service is ready (readiness_probe --service NAME exits 0), else 0.")
        for service in record.services {
            text.write("readiness_service_ready{service=\"")
            text.writeLabelValue(service.name)
            text.write("\"} ")
            text.write(service.ready ? 1 : 0)
            text.write("\n")
        }
        family("readiness_service_time_to_ready_seconds", "histogram", "Time from the service's RUNNING to its readiness.")
        for (service, histogram) in timeToReady {
            var cumulative: UInt64 = 0
            for (index, count) in histogram.counts.enumerated() {
                cumulative += count
                text.write("readiness_service_time_to_ready_seconds_bucket{service=\"")
                text.writeLabelValue(service)
                text.write("\",le=\"")
                if index < Self.timeToReadyBuckets.count {
                    text.writeSeconds(milliseconds: Self.timeToReadyBuckets[index])
                } else {
                    text.write("+Inf")
                }
                text.write("\"} ")
                text.write(cumulative)
                text.write("\n")
            }
            text.write("readiness_service_time_to_ready_seconds_sum{service=\"")
            text.writeLabelValue(service)
            text.write("\"} ")
            text.writeSeconds(milliseconds: histogram.sumMilliseconds)
            text.write("\nreadiness_service_time_to_ready_seconds_count{service=\"")
            text.writeLabelValue(service)
            text.write("\"} ")
            text.write(histogram.count)
            text.write("\n")
        }

        family("readiness_probe_code", "gauge", "The code readiness_probe would exit with now (0 ready); the hook counts only with --hook-interval.")
        text.write("readiness_probe_code ")
        text.write(Int(probeCode.rawValue))
        text.write("\n")
        family("readiness_events_total", "counter", "Events supervisord sent the listener.")
        text.write("readiness_events_total ")
        text.write(events)
        text.write("\n")
        family("readiness_events_lost_total", "counter", "Events supervisord's pool dropped before the listener took them (poolserial gaps).")
        text.write("readiness_events_lost_total ")
        text.write(eventsLost)
        text.write("\n")
        tally("readiness_xmlrpc_calls_total", "Calls to supervisord's XML-RPC interface, by result.", xmlrpcCalls)
        tally("readiness_notify_datagrams_total", "sd_notify datagrams received, by result: accepted, held, or why dropped.", datagrams)
        tally("readiness_http_requests_total", "HTTP requests answered, by path (other for any other) and status code.", requests)
        return text.finished()
    }
}

extension ByteText {
    /// `{group="…",program="…"}`, with `more` (`,name="value"`) before the brace.
    fileprivate mutating func writeLabels(_ program: ListenerMetrics.Program, _ more: StaticString = "") {
        write("{group=\"")
        writeLabelValue(program.group)
        write("\",program=\"")
        writeLabelValue(program.name)
        write("\"")
        write(more)
        write("}")
    }

    /// A label value, with `\`, `"` and newline escaped as the format wants.
    fileprivate mutating func writeLabelValue(_ value: String) {
        write(string: value) { byte in
            switch byte {
            case UInt8(ascii: "\\"): "\\\\"
            case UInt8(ascii: "\""): "\\\""
            case UInt8(ascii: "\n"): "\\n"
            default: nil
            }
        }
    }

    /// Milliseconds as seconds with three decimals: no floating point to print.
    fileprivate mutating func writeSeconds(milliseconds: Int64) {
        let (seconds, fraction) = milliseconds.floorDividedBy(1000)
        write(Int(seconds))
        write(".")
        if fraction < 100 { write("0") }
        if fraction < 10 { write("0") }
        write(Int(fraction))
    }
}
