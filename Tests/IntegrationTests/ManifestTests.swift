import Foundation
import Testing

/// examples/kubernetes/ validated: core objects with kubernetes-validate
/// (strict), the PodProbeMarker against the schema kept beside it.
@Suite struct ManifestTests {
    static let directory = "\(Paths.repository)/examples/kubernetes"

    func validate(_ files: [String]) throws -> Completed {
        try run("\(Paths.venv)/python", ["\(Self.directory)/validate.py"] + files)
    }

    @Test func shippedManifestsAreValid() throws {
        let result = try validate([])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasSuffix("4 files, 0 errors\n"))
    }

    /// The httpGet example probes (and has Prometheus scrape) the paths the
    /// listener serves, on the port the shipped config's example gives it.
    @Test func httpGetManifestMatchesTheListener() throws {
        let text = try String(contentsOfFile: "\(Self.directory)/deployment-httpget.yaml", encoding: .utf8)
        let config = try String(contentsOfFile: "\(Paths.repository)/supervisor.d/readiness_listener.conf", encoding: .utf8)
        #expect(config.contains("--http :8099\n"))
        #expect(text.contains("containerPort: 8099\n              name: readiness\n"))
        #expect(text.contains("httpGet:\n              path: /readyz\n              port: readiness\n"))
        #expect(text.contains("httpGet:\n              path: /livez\n              port: readiness\n"))
        #expect(text.contains("prometheus.io/port: \"8099\"\n        prometheus.io/path: /metrics\n"))
    }

    @Test func manifestsNameTheInstalledProbe() throws {
        for file in ["deployment.yaml", "podprobemarker.yaml"] {
            let text = try String(contentsOfFile: "\(Self.directory)/\(file)", encoding: .utf8)
            #expect(text.contains("command: [\"/usr/bin/readiness_probe.sh\"]"), "\(file)")
        }
    }

    /// Each per-service probe is one the installed probe accepts: with no
    /// status file it answers NO_STATUS, not USAGE.
    @Test func perServiceProbesAreTheProbesOwnArguments() throws {
        let text = try String(contentsOfFile: "\(Self.directory)/podprobemarker-services.yaml", encoding: .utf8)
        let prefix = "command: [\"/usr/bin/readiness_probe\", \"--service\", \""
        let services = text.components(separatedBy: "\n").compactMap { line -> String? in
            let line = line.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix(prefix), line.hasSuffix("\"]") else { return nil }
            return String(line.dropFirst(prefix.count).dropLast(2))
        }
        #expect(services == ["start", "redis", "web"])
        let scratch = ScratchDirectory()
        for service in services {
            let result = try run(Paths.probe, ["--service", service, "--status-file", "\(scratch.path)/none"])
            #expect(result.status == 104, "\(service): \(result.stderr)")
        }
    }

    /// The validators catch what the API server would silently drop or refuse.
    @Test(arguments: [
        ("deployment.yaml", "periodSeconds: 5", "perodSeconds: 5", "'perodSeconds' was unexpected"),
        ("deployment.yaml", "timeoutSeconds: 1", "timeoutSeconds: one", "'one' is not of type 'integer'"),
        ("podprobemarker.yaml", "containerName: service", "container: service", "'containerName' is a required property"),
        ("podprobemarker.yaml", "state: Failed", "state: Failing", "'Failing' is not one of"),
        ("podprobemarker-services.yaml", "- conditionType: example.com/redis-ready", "- conditonType: example.com/redis-ready", "readinessGates/0: 'conditionType' is a required property"),
    ])
    func brokenManifestsFail(file: String, original: String, replacement: String, message: String) throws {
        let scratch = ScratchDirectory()
        let text = try String(contentsOfFile: "\(Self.directory)/\(file)", encoding: .utf8)
        #expect(text.contains(original))
        let broken = scratch.write(file, text.replacingOccurrences(of: original, with: replacement))
        let result = try validate([broken])
        #expect(result.status == 1)
        #expect(result.stdout.contains(message), "\(result.stdout)")
    }
}
