/// The backend seam: the registry, the default and its scopes, the thread setting, and moving
/// tensors and trees (the cpu-only part; the libtorch backend's tests run both backends).
module VqVae.Tensors.Tests.BackendSeamTests

open System
open System.Threading.Tasks
open Xunit
open VqVae.Tensors

[<Fact>]
let ``cpu is the default and Get finds it by name`` () =
    Assert.Same(Backend.Cpu, Backend.Get "cpu")
    Assert.Same(Backend.Cpu, Backend.Get "CPU")
    Assert.Equal("cpu", Backend.Cpu.Name)
    Assert.Same(Backend.Cpu, Tensor.Zeros(2).Backend)

[<Fact>]
let ``an unknown backend is a clear error naming it and the known ones`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Backend.Get "tpu" |> ignore)
    Assert.Contains("'tpu'", e.Message)
    Assert.Contains("cpu", e.Message)
    Assert.Contains("torch", e.Message)

[<Fact>]
let ``Use scopes the default to this flow and restores it`` () =
    let outer = Backend.Default
    let seen = TaskCompletionSource<Backend>()
    let scope = Backend.Use Backend.Cpu
    // a thread started outside the scope does not see it; the flow inside does
    Task.Run(fun () -> seen.SetResult Backend.Default) |> ignore
    Assert.Same(Backend.Cpu, Backend.Default)
    scope.Dispose()
    scope.Dispose() // twice is harmless
    Assert.Same(outer, Backend.Default)
    Assert.Same(Backend.Cpu, seen.Task.Result)

[<Fact>]
let ``threads below one are refused with the value`` () =
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Backend.Threads <- 0)
    Assert.Contains("at least 1", e.Message)

[<Fact>]
let ``To the tensor's own backend is the same tensor`` () =
    let x = Tensor.FromArray([| 1f; 2f |], 2)
    Assert.Same(x, x.To Backend.Cpu)
    Assert.Throws<ArgumentNullException>(fun () -> x.To(Unchecked.defaultof<Backend>) |> ignore) |> ignore
