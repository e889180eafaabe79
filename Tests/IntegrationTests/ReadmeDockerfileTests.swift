import Foundation
import Testing

/// The README's Dockerfile and what `make e2e` really does cannot drift apart:
/// the Makefile's `e2e-install` steps, written as Dockerfile lines, must be the
/// Dockerfile's build stage, and the containers run its CMD with start.sh and
/// start.conf where it copies them.
@Suite struct ReadmeDockerfileTests {
    /// The ```dockerfile block of the README's "Put it in an image".
    static func dockerfile() throws -> [String] {
        let readme = try String(contentsOfFile: "\(Paths.repository)/README.md", encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Put it in an image").dropFirst().first)
        let block = try #require(section.components(separatedBy: "```dockerfile\n").dropFirst().first?.components(separatedBy: "```").first)
        return block.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    /// The recipe of `e2e-install`, as the Dockerfile would say it: the cached
    /// root is the `runtime` stage, the installed layer is the build stage's /out.
    static func e2eSteps() throws -> [String] {
        let makefile = try String(contentsOfFile: "\(Paths.repository)/Makefile", encoding: .utf8)
        let recipe = try #require(makefile.components(separatedBy: "\ne2e-install:").dropFirst().first?.components(separatedBy: "\n\n").first)
        return recipe.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }.compactMap { line in
            if line.hasPrefix("cp -a $(E2E_BASE)") {
                return line.replacingOccurrences(of: "cp -a $(E2E_BASE)", with: "COPY --from=runtime ")
                    .replacingOccurrences(of: "$(E2E_OUT)", with: "/out")
            }
            if line.hasPrefix("$(MAKE) install ") {
                return line.replacingOccurrences(of: "$(MAKE) install ", with: "RUN make install ")
                    .replacingOccurrences(of: "$(CURDIR)/$(E2E_OUT)", with: "/out")
                    .replacingOccurrences(of: "ARCH=$(ARCH)", with: "ARCH=$TARGETARCH")
            }
            return nil
        }
    }

    @Test func buildStageIsWhatTheE2EInstalls() throws {
        let steps = try Self.e2eSteps()
        #expect(steps == ["COPY --from=runtime /etc/supervisor/ /out/etc/supervisor/", "RUN make install DESTDIR=/out PREFIX=/usr ARCH=$TARGETARCH"])
        let dockerfile = try Self.dockerfile()
        let build = try #require(dockerfile.firstIndex { $0.hasPrefix("FROM ") && $0.hasSuffix(" AS build") })
        let buildStage = dockerfile[build...].prefix { !$0.hasPrefix("FROM runtime") }
        #expect(buildStage.filter { $0.hasPrefix("COPY --from=runtime") || $0.hasPrefix("RUN make") } == steps[...])
    }

    @Test func finalStageIsWhatTheContainersRun() throws {
        let dockerfile = try Self.dockerfile()
        let final = try #require(dockerfile.lastIndex(of: "FROM runtime"))
        let command = ContainerImage.command.map { "\"\($0)\"" }.joined(separator: ", ")
        #expect(Array(dockerfile[(final + 1)...]) == [
            "COPY --from=build /out/ /",
            "COPY start.sh \(ContainerImage.startScript)",
            "COPY start.conf \(ContainerImage.startConfig)",
            "CMD [\(command)]",
        ])
        #expect(dockerfile.first == "FROM debian:bookworm-slim AS runtime")
        #expect(dockerfile.contains { $0.hasPrefix("RUN apt-get") && $0.contains("install") && $0.contains(" supervisor ") })
    }
}
