/// The global CPU thread count, set for the length of one test. Tests that call this share the "Threading.Threads"
/// xunit collection, so that no two run at once and restore each other's saved value in the wrong order.
module VqVae.Tensors.Tests.ThreadCount

open VqVae.Tensors.Backends.Cpu

/// Runs f with Threading.Threads = n, then puts the previous count back (also when f throws).
let withThreads (n: int) (f: unit -> 'a) : 'a =
    let saved = Threading.Threads
    Threading.Threads <- n
    try f () finally Threading.Threads <- saved
