import Foundation
import Testing

/// Random dependency graphs under `--start-after`, against a real
/// supervisord: every program is started exactly once, and never before
/// what it waits for, as supervisord's own log (one file, in the order
/// supervisord did things) shows.
@Suite struct StartOrderGraphTests {
    struct Node {
        var name: String
        var oneshot: Bool
        /// Each dependency's name and condition.
        var waitsFor: [(name: String, condition: String)]
    }

    /// `graphs` random graphs of 3 to 5 programs: oneshots (exit 0) and
    /// long-running ones, each after 1 or 2 earlier ones, `exited` after a
    /// oneshot and `running` or `ready` (RUNNING, for a program that is no
    /// service) after a long-running one. Programs that wait for nothing
    /// are supervisord's own (autostart=true).
    static func randomGraphs(_ graphs: Int) -> [Node] {
        var nodes: [Node] = []
        for graph in 0..<graphs {
            let first = nodes.count
            for index in 0..<Int.random(in: 3...5) {
                var node = Node(name: "g\(graph)p\(index)", oneshot: Bool.random(), waitsFor: [])
                if index > 0 {
                    for dependency in (first..<nodes.count).shuffled().prefix(Int.random(in: 1...min(2, index))) {
                        let condition = nodes[dependency].oneshot ? "exited" : ["running", "ready"].randomElement()!
                        node.waitsFor.append((nodes[dependency].name, condition))
                    }
                }
                nodes.append(node)
            }
        }
        return nodes
    }

    /// Ten graphs per supervisord, five supervisords: 50 graphs.
    @Test(arguments: 0..<5) func randomGraphsStartInOrderAndOnce(round: Int) throws {
        let nodes = Self.randomGraphs(10)
        let programs = nodes.map { node in
            Supervisord.Program(
                name: node.name, script: node.oneshot ? "sleep 0.\(Int.random(in: 1...3)); exit 0" : "exec sleep 600",
                settings: ["autostart": node.waitsFor.isEmpty ? "true" : "false", "startsecs": node.oneshot ? "0" : "1", "autorestart": "false"])
        }
        let rules = nodes.filter { !$0.waitsFor.isEmpty }.map { node in
            "--start-after \(node.name)=" + node.waitsFor.map { "\($0.name):\($0.condition)" }.joined(separator: ",")
        }
        let graph = rules.joined(separator: " ")
        let supervisord = try Supervisord(start: "exit 0", programs: programs, listenerArguments: graph)
        #expect(eventually(within: 60) { nodes.allSatisfy { supervisord.log.contains("spawned: '\($0.name)'") } }, "\(graph)")
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"), "\(graph)")
        let log = supervisord.log
        func position(_ line: String) -> Int? { log.range(of: line).map { log.distance(from: log.startIndex, to: $0.lowerBound) } }
        for node in nodes {
            #expect(log.components(separatedBy: "spawned: '\(node.name)'").count == 2, "\(node.name) in \(graph)")
            guard let spawned = position("spawned: '\(node.name)'") else { continue }
            for (dependency, condition) in node.waitsFor {
                let held = condition == "exited" ? "exited: \(dependency) (exit status 0; expected)" : "success: \(dependency) entered RUNNING"
                let heldAt = try #require(position(held), "\(dependency) in \(graph)")
                #expect(heldAt < spawned, "\(node.name) spawned before \(dependency) was \(condition), in \(graph)")
            }
        }
    }
}
