module VqVae.Functional.Tests.CodebookTests

open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Codebooks
open VqVae.Functional.Tests.TrainingHelpers
open VqVae.Tensors.Tests.Properties

[<PropertyTest(100)>]
let ``perplexity is the number of codes under uniform use and 1 under a single code`` () =
    Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (1, 20)) (Gen.choose (1, 5)))) (fun (m, reps) ->
        let k = m + 3
        let uniform = Array.init (m * reps) (fun i -> i % m)
        Assert.Equal(float m, CodeUsage.PerplexityOf(uniform, k), 9)
        Assert.Equal(1.0, CodeUsage.PerplexityOf(Array.create reps (m - 1), k), 12))

[<PropertyTest(100)>]
let ``usage accumulated over batches equals usage of all indices, and counts dead codes`` () =
    let genBatches = Gen.listOf (Gen.arrayOf (Gen.choose (0, 9)))
    Prop.forAll (Arb.fromGen genBatches) (fun batches ->
        let usage = batches |> List.fold (fun (u: CodeUsage) b -> u.Add b) (CodeUsage.Empty 10)
        let all = Array.concat batches
        Assert.Equal<int64 list>([ for c in 0 .. 9 -> all |> Array.filter ((=) c) |> Array.length |> int64 ], List.ofSeq usage.Counts)
        let used = Array.distinct all |> Array.length
        Assert.Equal(used, usage.Used)
        Assert.Equal(10 - used, usage.Dead)
        Assert.Equal<int[]>([| for c in 0 .. 9 do if not (Array.contains c all) then c |], usage.DeadCodes)
        if all.Length > 0 then Assert.Equal(CodeUsage.PerplexityOf(all, 10), usage.Perplexity, 12))

[<PropertyTest(100)>]
let ``dead-code restart moves exactly the dead codes onto batch rows and resets their EMA statistics`` () =
    Prop.forAll seeds (fun seed ->
        let rng = Rng.Seed(int64 seed)
        let k, d, n = 4 + seed % 8, 1 + seed % 3, 1 + seed % 20
        let codebook = tensor (rng.Fold 1L) -1f 1f [| k; d |]
        let ema = EmaState(tensor (rng.Fold 2L) 1f 5f [| k |], tensor (rng.Fold 3L) -1f 1f [| k; d |])
        let rows = tensor (rng.Fold 4L) 5f 6f [| n; d |] // far from every code, so a moved code is visible
        let idx = Array.init 30 (fun i -> (rng.Fold 5L).IntAt(int64 i, k))
        let usage = (CodeUsage.Empty k).Add idx
        let struct (e', emaOpt, restarted) = DeadCodes.Restart(codebook, ema, rows, usage, rng.Fold 6L)
        let ema' = nonNull emaOpt
        Assert.Equal<int[]>(usage.DeadCodes, restarted)
        let e0, e1, z = codebook.ToArray(), e'.ToArray(), rows.ToArray()
        let rowsList = [ for i in 0 .. n - 1 -> z[i * d .. i * d + d - 1] ]
        for c in 0 .. k - 1 do
            let code = e1[c * d .. c * d + d - 1]
            if Array.contains c restarted then
                Assert.Contains(code, rowsList)
                Assert.Equal(1f, ema'.ClusterSize.ToArray()[c])
                Assert.Equal<float32[]>(code, ema'.EmaW.ToArray()[c * d .. c * d + d - 1])
            else
                Assert.Equal<float32[]>(e0[c * d .. c * d + d - 1], code)
                Assert.Equal(ema.ClusterSize.ToArray()[c], ema'.ClusterSize.ToArray()[c])
                Assert.Equal<float32[]>(ema.EmaW.ToArray()[c * d .. c * d + d - 1], ema'.EmaW.ToArray()[c * d .. c * d + d - 1])
        // Distinct rows while there are enough of them.
        let picked = restarted |> Array.map (fun c -> e1[c * d .. c * d + d - 1]) |> Array.distinct
        Assert.Equal(min n restarted.Length, picked.Length))
