/// A process and its ancestors, as the kernel tells them: what ties an
/// sd_notify sender, or a `MAINPID=` it names, to a service's run.
package enum Ancestry {
    /// `pid`, its parent, grandparent and so on. `entry(pid)` gives a
    /// process's parent and start time (`/proc/PID/stat` fields 4 and 22),
    /// nil when it cannot be read. Ends after pid 1, at a parent 0, at an
    /// entry that cannot be read (a process that exited meanwhile), at
    /// `limit` entries, or at a parent that started after its child: that
    /// pid was reused by another process once the real parent exited, and
    /// it is no ancestor. Empty when `pid` itself cannot be read.
    package static func walk(from pid: Int, limit: Int = 32, entry: (Int) -> (parent: Int, startTicks: UInt64)?) -> [Int] {
        var chain: [Int] = []
        var current = pid
        var childStart = UInt64.max
        while current > 0, chain.count < limit, let known = entry(current), known.startTicks <= childStart {
            chain.append(current)
            childStart = known.startTicks
            current = known.parent
        }
        return chain
    }
}
