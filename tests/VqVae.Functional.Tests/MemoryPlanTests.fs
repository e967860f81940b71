/// The training memory estimate (Resources/MemoryPlan.cs) by value: its calibrated formula worked out by hand for
/// each architecture on an 8×8 image, the bytes it adds up to, its description and its refusals. The formula is an
/// estimate calibrated against measured runs (see its remarks); these numbers pin it so that a change is a
/// decision, not an accident.
module VqVae.Functional.Tests.MemoryPlanTests

open System
open Xunit
open VqVae.Functional.Model
open VqVae.Functional.Resources
open VqVae.Tensors.Tests
open VqVae.Tensors.Tests.Refusals

let private cfg = VqVaeConfig(1, 8, 16, 4, 0.25f)

[<Fact>]
let ``activations per image follow the layer outputs of each architecture`` () =
    // 8×8: img 64, half 64/4 + 1 = 17, quarter 64/16 + 1 = 5; h = 8, D = 4, C = 1.
    // Reference: 2·8·17·2 (first conv) + 2·8·5·2 (second) + 9·4·5 (latents) + 12·1·64 (images) = 544 + 160 + 180 + 768.
    Assert.Equal(1652L, MemoryPlan.ForTraining(cfg, 1, 8, 8).ActivationValuesPerImage)
    // Compact: the first conv has h/2 = 4 channels: 272 instead of 544.
    Assert.Equal(1380L, MemoryPlan.ForTraining(cfg.With(architecture = Architecture.Compact), 1, 8, 8).ActivationValuesPerImage)
    // Residual, 2 layers of residual width 3: + 2·2·(2·8 + 2·3)·5 = 440.
    Assert.Equal(2092L, MemoryPlan.ForTraining(cfg.With(architecture = Architecture.Residual, residualLayers = 2, residualHidden = 3), 1, 8, 8).ActivationValuesPerImage)
    // Non-square: 8×16 gives img 128, half 33, quarter 9: 2·8·33·2 + 2·8·9·2 + 9·4·9 + 12·128 = 1056 + 288 + 324 + 1536.
    Assert.Equal(3204L, MemoryPlan.ForTraining(cfg, 1, 8, 16).ActivationValuesPerImage)
    // Three channels: the image term is 12·3·64 = 2304 instead of 768.
    Assert.Equal(3188L, MemoryPlan.ForTraining(cfg.With(channels = 3), 1, 8, 8).ActivationValuesPerImage)
    // Residual layers count only in the residual architecture.
    Assert.Equal(1652L, MemoryPlan.ForTraining(cfg.With(residualLayers = 2, residualHidden = 3), 1, 8, 8).ActivationValuesPerImage)
    // Sides too large to count saturate instead of wrapping round.
    let huge = MemoryPlan.ForTraining(cfg, 1, Int32.MaxValue, Int32.MaxValue)
    Assert.Equal((Int64.MaxValue, Int64.MaxValue), (huge.ActivationValuesPerImage, huge.Bytes))

[<Fact>]
let ``the bytes are the base plus four bytes per live value: ten per model value, five per activation value and image`` () =
    let p = MemoryPlan.ForTraining(cfg, 3, 8, 8)
    let values = ModelSize.Values cfg
    Assert.Equal((values, 3), (p.ModelValues, p.Batch))
    Assert.Equal(MemoryPlan.BaseBytes + 4L * (10L * values + 5L * 3L * 1652L), p.Bytes)
    Assert.Equal(100L <<< 20, MemoryPlan.BaseBytes)
    let text = MemoryPlan(2_000_000L, 1_640L, 3, 1_234_567_890L).Describe()
    Assert.Equal("about 1.23 GB (model 2 M values, 1.6 k activation values per image × 3)", text)
    Assert.Equal("more than 9 EB", MemoryPlan.Gb Int64.MaxValue)
    Assert.Equal("0.00 GB", MemoryPlan.Gb 0L)
    Assert.True(MemoryPlan.AvailableBytes() > 0L)

[<Fact>]
let ``a batch or side below 1 and a null config are refused by name`` () =
    for name, f in [ "batch", (fun () -> MemoryPlan.ForTraining(cfg, 0, 8, 8))
                     "height", (fun () -> MemoryPlan.ForTraining(cfg, 1, 0, 8))
                     "width", (fun () -> MemoryPlan.ForTraining(cfg, 1, 8, 0)) ] do
        refusedNaming name [] f |> ignore
    Assert.Equal("config", nullArgumentOf (fun () -> MemoryPlan.ForTraining(Unchecked.defaultof<VqVaeConfig>, 1, 8, 8)))

[<Fact>]
let ``available memory is MemAvailable plus this process's bytes, capped by the runtime's limit, else the limit`` () =
    let limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes
    let file (text: string) =
        let path = Scratch.path "meminfo"
        IO.File.WriteAllText(path, text)
        path
    Assert.Equal(2048L * 1024L + 5L, MemoryPlan.AvailableBytes(file "MemTotal:  100 kB\nMemAvailable:    2048 kB\nCached: 7 kB\n", 5L))
    Assert.Equal(limit, MemoryPlan.AvailableBytes(file "MemTotal:  100 kB\n", 5L))                       // no MemAvailable line
    Assert.Equal(limit, MemoryPlan.AvailableBytes(file "MemAvailable: lots kB\n", 5L))                  // not a number
    Assert.Equal(limit, MemoryPlan.AvailableBytes(file "MemAvailable: 99999999999999999999 kB\n", 5L))  // past a long
    Assert.Equal(limit, MemoryPlan.AvailableBytes(file "MemAvailable: 9100000000000000 kB\n", 5L))      // its bytes (9.3·10¹⁸) past a long
    Assert.Equal(limit, MemoryPlan.AvailableBytes(Scratch.path "no-such-meminfo", 5L))
    Assert.Equal(limit, MemoryPlan.AvailableBytes(Scratch.dir "meminfo-folder", 5L))   // a folder
    Assert.True(MemoryPlan.AvailableBytes() <= limit)
