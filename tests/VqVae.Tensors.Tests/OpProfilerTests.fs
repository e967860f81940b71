/// The opt-in per-op profiler: what it books and under which name. It is process-wide and not
/// thread-safe (one nesting depth for all threads), so its tests run alone.
namespace VqVae.Tensors.Tests

open Xunit
open VqVae.Tensors
open VqVae.Tensors.Diagnostics

[<CollectionDefinition("OpProfiler", DisableParallelization = true)>]
type OpProfilerCollection() = class end

[<Collection("OpProfiler")>]
module OpProfilerTests =

    [<Fact>]
    let ``an embedding is booked once under embedGrid, the gather, reshape and permute inside it counted there`` () =
        let table = Tensor.FromArray([| 1f; 2f; 3f; 4f; 5f; 6f |], 3, 2)
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        try table.EmbedGrid([| 0; 2; 1; 1 |], 1, 2, 2) |> ignore
        finally OpProfiler.Enabled <- false
        let rows = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name, t.Calls) |> List.ofSeq
        OpProfiler.Reset()
        Assert.Equal<(string * int64) list>([ ("fwd embedGrid", 1L) ], rows)

    [<Fact>]
    let ``a backward pass books each rule under its op's name and every adjoint sum under accumulate`` () =
        let x = Tensor.FromArray([| 1f; -2f; 3f |], 3)
        OpProfiler.Reset()
        OpProfiler.Enabled <- true
        // x·x + x: the leaf x gets three adjoints (two from mul, one from add), so two sums.
        try Grad.ValueAndGrad(System.Func<Tensor, Tensor>(fun t -> (t * t + t).Sum()), x) |> ignore
        finally OpProfiler.Enabled <- false
        let rows = OpProfiler.Snapshot() |> Seq.map (fun t -> t.Name, t.Calls) |> Map.ofSeq
        OpProfiler.Reset()
        Assert.Equal<(string * int64) list>(
            [ ("bwd accumulate", 2L); ("bwd add", 1L); ("bwd mul", 1L); ("bwd sum", 1L); ("fwd add", 1L); ("fwd mul", 1L); ("fwd sum", 1L) ],
            rows |> Map.toList |> List.filter (fun (n, _) -> n.StartsWith "bwd" || n.StartsWith "fwd"))
