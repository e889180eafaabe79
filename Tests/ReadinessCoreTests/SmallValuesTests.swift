import Testing

@testable import ReadinessCore

@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_795_387_133_123, "2026-11-22T22:38:53.123Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ])
    func formatsAndParsesRFC3339(milliseconds: Int64, text: String) {
        #expect(Timestamp(millisecondsSinceEpoch: milliseconds).description == text)
        #expect(Timestamp(rfc3339: text) == Timestamp(millisecondsSinceEpoch: milliseconds))
    }

    /// Dates that do not exist, which day arithmetic would quietly move to
    /// the next month, are refused; real leap days are not.
    @Test(arguments: ["2026-02-31", "2026-02-29", "2100-02-29", "2026-04-31", "2026-06-31", "2026-09-31", "2026-11-31", "2026-01-00"])
    func rejectsImpossibleDates(date: String) {
        #expect(Timestamp(rfc3339: "\(date)T12:00:00.000Z") == nil)
    }

    @Test(arguments: ["2024-02-29", "2000-02-29", "2026-01-31", "2026-12-31", "2026-04-30"])
    func acceptsRealDates(date: String) throws {
        let timestamp = try #require(Timestamp(rfc3339: "\(date)T12:00:00.000Z"))
        #expect(timestamp.description == "\(date)T12:00:00.000Z")
    }

    @Test func rejectsOtherForms() {
        for text in ["", "2026-11-22T22:38:53Z", "2026-13-22T22:38:53.123Z", "2026-11-22 22:38:53.123Z", "2026-11-22T22:38:53.12xZ"] {
            #expect(Timestamp(rfc3339: text) == nil, "\(text)")
        }
    }
}

@Suite struct LogfmtTests {
    @Test func quotesOnlyWhatNeedsIt() {
        var line = LogLine(time: Timestamp(millisecondsSinceEpoch: 0), level: .error, message: "cannot write")
        line.append("path", "/run/readiness/status")
        line.append("error", "Read-only \"file\" system\n")
        line.append("empty", "")
        #expect(String(decoding: line.rendered(), as: UTF8.self) == "ts=1970-01-01T00:00:00.000Z level=error msg=\"cannot write\" path=/run/readiness/status error=\"Read-only \\\"file\\\" system\\n\" empty=\"\"\n")
    }
}

@Suite struct JSONTests {
    @Test func escapesAndNests() {
        var inner = JSONObject()
        inner.set("n", nil as Int?)
        var object = JSONObject()
        object.set("ready", false)
        object.set("code", 101)
        object.set("message", "a \"b\"\n\u{01}")
        object.set("inner", inner)
        #expect(object.rendered == #"{"ready":false,"code":101,"message":"a \"b\"\n\u0001","inner":{"n":null}}"#)
    }
}

@Suite struct CommandLineOptionsTests {
    @Test func parsesValuesAndFlags() throws {
        let options = try CommandLineOptions(
            ["--program", "web", "--status-file=/x", "--verbose", "--program", "init:start", "--verbose"], valued: ["program", "status-file"],
            flags: ["verbose", "json"])
        #expect(options.value("program") == "init:start")
        #expect(options.values("program") == ["web", "init:start"])
        #expect(options.value("status-file") == "/x")
        #expect(options.value("hook") == nil)
        #expect(options.has("verbose") && !options.has("json"))
    }

    @Test func rejectsWhatItDoesNotKnow() {
        #expect(throws: UsageError("unknown option --nope")) { try CommandLineOptions(["--nope"], valued: [], flags: []) }
        #expect(throws: UsageError("option --program needs a value")) { try CommandLineOptions(["--program"], valued: ["program"], flags: []) }
        #expect(throws: UsageError("unexpected argument start")) { try CommandLineOptions(["start"], valued: [], flags: []) }
    }

    @Test(arguments: [("0.5", Int64(500)), ("3", 3000), ("1.25", 1250), (".1", 100), ("0.001", 1)])
    func parsesSeconds(text: String, milliseconds: Int64) throws {
        let options = try CommandLineOptions(["--hook-timeout", text], valued: ["hook-timeout"], flags: [])
        #expect(try options.milliseconds("hook-timeout", default: 700, range: 1...10_000) == milliseconds)
    }

    @Test(arguments: [("0.05", Int64(50)), ("2.5", 2500), ("10.010", 10_010)])
    func scalesFractionsOfOneToThreeDigits(text: String, milliseconds: Int64) throws {
        let options = try CommandLineOptions(["--timeout", text], valued: ["timeout"], flags: [])
        #expect(try options.milliseconds("timeout", default: 0, range: 0...86_400_000) == milliseconds)
    }

    @Test(arguments: ["abc", "-1", "1.2345", "0", "1.", "99999", "+1", "1.-5", " 1", "1e3"])
    func rejectsBadSeconds(text: String) throws {
        let options = try CommandLineOptions(["--hook-timeout", text], valued: ["hook-timeout"], flags: [])
        #expect(throws: UsageError.self) { try options.milliseconds("hook-timeout", default: 700, range: 1...10_000) }
    }

    @Test func theRangeIsSaidInSeconds() throws {
        let options = try CommandLineOptions(["--check-period", "0.05"], valued: ["check-period"], flags: [])
        #expect(throws: UsageError("--check-period must be between 0.1 and 3600 seconds")) {
            try options.milliseconds("check-period", default: 2000, range: 100...3_600_000)
        }
        #expect([1, 10, 1250, 3000, 86_400_000].map(CommandLineOptions.seconds) == ["0.001", "0.01", "1.25", "3", "86400"])
    }
}

/// The budget of getAllProcessInfo calls that unplaced senders may cost.
@Suite struct QueryBudgetTests {
    func at(_ seconds: Double) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_795_387_133_000 + Int64(seconds * 1000)) }

    @Test func aBurstThenOneEveryFiveSecondsAtMostFifteenAMinute() {
        var budget = QueryBudget()
        var taken: [Double] = []
        for tenth in 0..<600 {
            let second = Double(tenth) / 10
            if budget.take(at: at(second)) { taken.append(second) }
        }
        #expect(taken == [0, 0.1, 0.2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55])
        // Idle for a while: the burst again, not more.
        let later = (0..<10).filter { _ in budget.take(at: at(600)) }.count
        #expect(later == QueryBudget.burst)
    }

    @Test func aClockSteppedBackNeitherStopsNorFloodsIt() {
        var budget = QueryBudget()
        for _ in 0..<3 { _ = budget.take(at: at(100)) }
        let answers = [100, 50, 54, 55].map { budget.take(at: at($0)) }
        // Spent at 100; back to 50, nothing earned; from there, one 5 s later.
        #expect(answers == [false, false, false, true])
    }
}
