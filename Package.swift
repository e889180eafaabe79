// swift-tools-version:6.2

import PackageDescription

let package = Package(
    name: "supervisord-readiness",
    products: [
        .executable(name: "readiness_listener", targets: ["readiness_listener"]),
        .executable(name: "readiness_probe", targets: ["readiness_probe"]),
    ],
    targets: [
        // The package's gateway to libc, in both build modes (Embedded Swift
        // has no Glibc module): the headers, plus wrappers for what Swift
        // cannot call (variadic functions, errno, macros, signal handlers).
        // EmbeddedMain.c is the Embedded release build's `main` (the Makefile's);
        // EmbeddedUnicode.c its Unicode data, which the full stdlib has.
        .target(name: "CReadiness", exclude: ["EmbeddedMain.c", "EmbeddedUnicode.c"]),
        // Plain values: framing, event parsing, the status record, the exit-code policy.
        .target(name: "ReadinessCore"),
        // Everything that touches the operating system, behind one syscall file.
        .target(name: "ReadinessPlatform", dependencies: ["CReadiness", "ReadinessCore"]),
        .executableTarget(
            name: "readiness_listener", dependencies: ["ReadinessCore", "ReadinessPlatform"],
            // Debug builds only (the release build is the Makefile's): READINESS_TEST_SHUTDOWN_DELAY_MS.
            swiftSettings: [.define("READINESS_TEST_HOOKS", .when(configuration: .debug))]),
        .executableTarget(name: "readiness_probe", dependencies: ["ReadinessCore", "ReadinessPlatform"]),
        .testTarget(name: "ReadinessCoreTests", dependencies: ["ReadinessCore"]),
        // The platform layer's own behaviour: errno mapping, and each checked libc call made to fail.
        .testTarget(name: "ReadinessPlatformTests", dependencies: ["ReadinessPlatform", "ReadinessCore"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["readiness_listener", "readiness_probe", "ReadinessCore"]
        ),
    ]
)

for target in package.targets where target.type != .system {
    guard target.name != "CReadiness" else { continue }
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
