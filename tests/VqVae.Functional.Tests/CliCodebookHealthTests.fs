module VqVae.Functional.Tests.CliCodebookHealthTests

// Issue 15's mnistSmall target, end to end through `vqvae train`: the preset converges without its
// loss climbing, and that is the dead-code rule's doing. With the restart judging only codes never
// chosen (--dead-code-share 0, the rule before), a code chosen once in the epoch counts as alive, the
// encoder drifts from the few codes in use and the total loss climbs to 3-4× its low before a mass
// restart at step 160; with the share rule (default 0.1) the same seed stays within a third of it.

open System.IO
open Xunit
open VqVae.Functional.Tests.CliTests

/// The largest rise of the 20-step moving mean of the total loss above its running minimum, relative to that minimum.
let private worstRise (metrics: string) =
    let lines = File.ReadAllLines metrics
    let column = lines[0].Split(',') |> Array.findIndex ((=) "total")
    let totals = lines |> Array.skip 1 |> Array.map (fun l -> float (l.Split(',')[column]))
    let means = [| for i in 20 .. totals.Length -> Array.average totals[i - 20 .. i - 1] |]
    let mutable best, worst = infinity, 0.0
    for m in means do
        best <- min best m
        worst <- max worst ((m - best) / best)
    worst

let private mnistSmall (share: string) =
    let dir = tempDir ()
    try
        let r = vqvae [ "train"; "--preset"; "mnistSmall"; "--steps"; "200"; "--dead-code-share"; share; "--checkpoint-every"; "0"; "--out"; dir ]
        Assert.True((r.Code = 0), r.Err)
        worstRise (Path.Combine(dir, "metrics.csv"))
    finally
        Directory.Delete(dir, true)

[<Fact>]
let ``mnistSmall converges without the loss climbing, and judging only never-chosen codes brings the climb back`` () =
    let share = mnistSmall "0.1"
    let never = mnistSmall "0"
    Assert.True(share < 0.5, $"with the share rule the 20-step mean loss rose {share:P0} above its low")
    Assert.True(never > 1.0, $"teeth: judging only never-chosen codes should climb (it did before the share rule), rose {never:P0}")
