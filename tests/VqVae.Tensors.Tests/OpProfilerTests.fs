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
