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
open VqVae.Tensors.Tests.Refusals

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

/// CodeUsage's figures and checks on a hand-made case (found unpinned by mutation testing).
[<Fact>]
let ``code usage counts, merges and refuses bad input with the argument named`` () =
    let u = CodeUsage.FromCounts [ 3L; 0L; 1L; 0L; 2L ]
    Assert.Equal((5, 6L, 3, 2), (u.Codes, u.Total, u.Used, u.Dead))
    Assert.Equal<int[]>([| 1; 3 |], u.DeadCodes)
    Assert.Equal<int[]>([| 1; 2; 3 |], u.Below 2L)   // strictly fewer than 2 rows
    Assert.Equal<int[]>([| 0; 1; 2; 3; 4 |], u.Below 4L)
    Assert.Equal<int[]>([||], u.Below 0L)
    let added = u.Add [| 1; 1; 4 |]
    Assert.Equal<int64 list>([ 3L; 2L; 1L; 0L; 3L ], List.ofSeq added.Counts)
    Assert.Equal<int64 list>([ 6L; 2L; 2L; 0L; 5L ], List.ofSeq (added.Merge u).Counts)
    Assert.Equal<int64 list>([ 3L; 0L; 1L; 0L; 2L ], List.ofSeq u.Counts) // Add and Merge leave their inputs alone
    let named (name: string) (text: string) (f: unit -> unit) = refusedNaming name [ text ] f |> ignore
    named "other" "codeUsage: cannot merge usage over 4 codes into usage over 5." (fun () -> u.Merge(CodeUsage.Empty 4) |> ignore)
    named "codes" "codeUsage: the number of codes must be ≥ 1." (fun () -> CodeUsage.Empty 0 |> ignore)
    Assert.Equal(1, (CodeUsage.Empty 1).Codes)
    named "counts" "codeUsage: counts must be non-empty and non-negative." (fun () -> CodeUsage.FromCounts [] |> ignore)
    named "counts" "codeUsage: counts must be non-empty and non-negative." (fun () -> CodeUsage.FromCounts [ 1L; -1L ] |> ignore)
    Assert.Equal(0L, (CodeUsage.FromCounts [ 0L ]).Total)
    named "indices" "codeUsage: indices[1] = 5 is outside [0, 4]." (fun () -> u.Add [| 0; 5 |] |> ignore)
    named "indices" "codeUsage: indices[0] = -1 is outside [0, 4]." (fun () -> u.Add [| -1 |] |> ignore)
    named "codes" "codeUsage: the number of codes must be ≥ 1." (fun () -> CodeUsage.Count([| 0 |], 0) |> ignore)
    Assert.Equal<int64[]>([| 0L; 2L |], CodeUsage.Count([| 1; 1 |], 2))
    Assert.Equal<int64[]>([| 0L |], CodeUsage.Count([||], 1))
    named "counts" "perplexity: counts must be ≥ 0, got -1." (fun () -> CodeUsage.PerplexityOf(System.ReadOnlySpan<int64>([| 2L; -1L |])) |> ignore)
    // exp of the entropy of (1/2, 1/6, 1/3) over the used codes; an empty usage is 1.
    let h = -(0.5 * log 0.5 + (1.0 / 6.0) * log (1.0 / 6.0) + (1.0 / 3.0) * log (1.0 / 3.0))
    Assert.Equal(exp h, u.Perplexity, 12)
    Assert.Equal(1.0, (CodeUsage.Empty 3).Perplexity)
    Assert.Equal(2.0, CodeUsage.PerplexityOf([| 0; 2; 0; 2 |], 3), 12)
