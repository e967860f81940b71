/// Argument checks and small contracts of the quantizer's types (CodeIndices, Quantizer, losses):
/// each bad argument on its own, so that every condition of every check is exercised, and the
/// row-major layout of code indices checked position by position.
module VqVae.Functional.Tests.QuantizerValidationTests

open System
open System.Collections.Immutable
open Xunit
open VqVae.Tensors

open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Codebooks
open VqVae.Tensors.Tests.Refusals
let private throwsArg (paramName: string) (messagePart: string) (f: unit -> unit) = refusedNaming paramName [ messagePart ] f |> ignore

/// A null argument refused by its own name (not by whichever callee happens to touch it first).
let private throwsNull (name: string) (f: unit -> unit) = Assert.Equal(name, nullArgumentOf f)

let private nul<'T when 'T: not struct> = Unchecked.defaultof<'T>

let private grid () = CodeIndices.Of(Array.init 24 (fun i -> i * 7 % 24), 2, 3, 4)

[<Theory>]
[<InlineData(0, 3, 4)>]
[<InlineData(2, 0, 4)>]
[<InlineData(2, 3, 0)>]
let ``code indices reject a grid with a dimension below 1, each dimension on its own`` (b: int, h: int, w: int) =
    throwsArg "batch" "must be ≥ 1" (fun () -> ignore (CodeIndices.Of([||], b, h, w)))

[<Fact>]
let ``code indices reject a value count that does not fill the grid, and negative indices`` () =
    throwsArg "values" "expected 24 values for shape [2, 3, 4], got 23" (fun () -> ignore (CodeIndices.Of(Array.zeroCreate 23, 2, 3, 4)))
    throwsArg "values" "got 0" (fun () -> ignore (CodeIndices(ImmutableArray<int>.Empty, 1, 1, 1)))
    throwsArg "values" "must be ≥ 0" (fun () -> ignore (CodeIndices.Of([| 0; -1 |], 1, 1, 2)))
    throwsNull "values" (fun () -> ignore (CodeIndices.Of(nul<int[]>, 1, 1, 1)))

[<Fact>]
let ``code indices are row-major over batch, height and width`` () =
    let g = grid ()
    for b in 0 .. 1 do
        for h in 0 .. 2 do
            for w in 0 .. 3 do
                Assert.Equal(((b * 3 + h) * 4 + w) * 7 % 24, g[b, h, w])
    Assert.Equal<int[]>([| 2; 3; 4 |], g.Shape)
    Assert.Equal(24, g.Count)

[<Theory>]
[<InlineData(2, 0, 0)>]
[<InlineData(0, 3, 0)>]
[<InlineData(0, 0, 4)>]
[<InlineData(-1, 0, 0)>]
let ``code indices reject a position just outside the grid, each coordinate on its own`` (b: int, h: int, w: int) =
    let g = grid ()
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> g[b, h, w] |> ignore)
    Assert.Contains("is outside [2, 3, 4]", e.Message)

[<Fact>]
let ``counts tally each code and reject an index equal to the codebook size`` () =
    let g = CodeIndices.Of([| 0; 2; 2; 1; 2; 0 |], 1, 2, 3)
    Assert.Equal<int[]>([| 2; 1; 3 |], g.Counts 3)
    Assert.Equal<int[]>([| 2; 1; 3; 0 |], g.Counts 4)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> g.Counts 2 |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> g.Counts 0 |> ignore) |> ignore

[<Fact>]
let ``code indices are equal exactly when shape and values agree`` () =
    let a = CodeIndices.Of([| 1; 2; 3; 4 |], 1, 2, 2)
    let same = CodeIndices.Of([| 1; 2; 3; 4 |], 1, 2, 2)
    Assert.Equal(a, same)
    Assert.Equal(a.GetHashCode(), same.GetHashCode())
    for other in [ CodeIndices.Of([| 1; 2; 3; 4 |], 2, 1, 2); CodeIndices.Of([| 1; 2; 3; 4 |], 1, 4, 1)
                   CodeIndices.Of([| 1; 2; 3; 4 |], 1, 1, 4); CodeIndices.Of([| 1; 2; 3; 5 |], 1, 2, 2) ] do
        Assert.NotEqual(a, other)
    Assert.False(a.Equals(nul<CodeIndices>))

let private codebook () = Tensor.FromArray([| 0f; 0f; 1f; 1f; -1f; 2f |], 3, 2)
let private ze () = Tensor.FromArray(Array.init 8 (fun i -> float32 i / 8f), 1, 2, 2, 2)

[<Theory>]
[<InlineData(2, 2, 2)>]
[<InlineData(1, 1, 2)>]
[<InlineData(1, 2, 1)>]
let ``quantizing with chosen indices rejects indices of another grid, each dimension on its own`` (b: int, h: int, w: int) =
    let idx = CodeIndices.Of(Array.zeroCreate (b * h * w), b, h, w)
    throwsArg "indices" "indices must be [1,2,2]" (fun () -> ignore (Quantizer.FromIndices(codebook (), ze (), idx)))

[<Fact>]
let ``quantizer inputs are checked: codebook rank and size, z_e rank, channels and each spatial size`` () =
    throwsArg "codebook" "codebook must be [K, D]" (fun () -> ignore (Quantizer.Quantize(Tensor.Zeros(6), ze ())))
    throwsArg "codebook" "codebook must be [K, D]" (fun () -> ignore (Quantizer.Quantize(Tensor.Zeros(0, 2), ze ())))
    throwsArg "codebook" "codebook must be [K, D]" (fun () -> ignore (Quantizer.Quantize(Tensor.Zeros(3, 0), Tensor.Zeros(1, 0, 2, 2))))
    for bad in [ Tensor.Zeros(2, 2, 2); Tensor.Zeros(1, 3, 2, 2); Tensor.Zeros(0, 2, 2, 2); Tensor.Zeros(1, 2, 0, 2); Tensor.Zeros(1, 2, 2, 0) ] do
        throwsArg "ze" "z_e must be [B, D=2, H, W]" (fun () -> ignore (Quantizer.Quantize(codebook (), bad)))
    throwsNull "codebook" (fun () -> ignore (Quantizer.Quantize(nul<Tensor>, ze ())))
    throwsNull "ze" (fun () -> ignore (Quantizer.Quantize(codebook (), nul<Tensor>)))
    throwsNull "indices" (fun () -> ignore (Quantizer.FromIndices(codebook (), ze (), nul<CodeIndices>)))

[<Fact>]
let ``codes to latents rejects an index equal to the codebook size and a codebook that is not [K, D]`` () =
    let idx = CodeIndices.Of([| 0; 1; 2; 3 |], 1, 2, 2)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Quantizer.Lookup(codebook (), idx) |> ignore)
    Assert.Contains("index 3 is outside [0, 2]", e.Message)
    let ok = Quantizer.Lookup(codebook (), CodeIndices.Of([| 2; 1; 0; 2 |], 1, 2, 2))
    Assert.Equal<float32[]>([| -1f; 1f; 0f; -1f; 2f; 1f; 0f; 2f |], ok.ToArray())
    throwsArg "codebook" "codebook must be [K, D]" (fun () -> ignore (Quantizer.Lookup(Tensor.Zeros(3, 2, 1), idx)))
    throwsArg "codebook" "codebook must be [K, D]" (fun () -> ignore (Quantizer.Lookup(Tensor.Zeros(3, 0), idx)))
    throwsNull "codebook" (fun () -> ignore (Quantizer.Lookup(nul<Tensor>, idx)))
    throwsNull "indices" (fun () -> ignore (Quantizer.Lookup(codebook (), nul<CodeIndices>)))

[<Fact>]
let ``perplexity of no rows is 1 and counts only used codes`` () =
    Assert.Equal(1.0, Quantizer.Perplexity([| 0; 0 |]), 12)
    Assert.Equal(Quantizer.Perplexity([| 0; 0 |]), (CodeUsage.Empty 2).Perplexity)
    Assert.Equal("counts", nullArgumentOf (fun () -> Quantizer.Perplexity(nul<Collections.Generic.IReadOnlyList<int>>)))
    Assert.Equal(1.0, Quantizer.Perplexity([| 0; 5; 0 |]), 12)
    Assert.Equal(2.0, Quantizer.Perplexity([| 3; 0; 3 |]), 12)
    let q = Quantizer.FromIndices(codebook (), ze (), CodeIndices.Of([| 0; 0; 2; 0 |], 1, 2, 2))
    Assert.Equal(2, q.CodesUsed)

[<Fact>]
let ``losses and loss terms reject null arguments with ArgumentNullException`` () =
    let t = Tensor.Zeros(1, 1, 4, 4)
    throwsNull "xHat" (fun () -> ignore (Loss.Reconstruction(ReconstructionLoss.Mse, nul<Tensor>, t)))
    throwsNull "x" (fun () -> ignore (Loss.Reconstruction(ReconstructionLoss.Mse, t, nul<Tensor>)))
    throwsNull "xHat" (fun () -> ignore (Loss.Bce(nul<Tensor>, t)))
    throwsNull "x" (fun () -> ignore (Loss.Bce(t, nul<Tensor>)))
    // Checked before the batch's variance: a null x̂ with a constant batch (variance 0) is the null, not the variance.
    throwsNull "xHat" (fun () -> ignore (Loss.MseOverVariance(nul<Tensor>, t)))
    throwsNull "x" (fun () -> ignore (Loss.MseOverVariance(t, nul<Tensor>)))
    let model = VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 3L)
    throwsNull "x" (fun () -> ignore (VqVaeModel.LossTerms(model, nul<Tensor>)))
    throwsNull "model" (fun () -> ignore (VqVaeModel.LossTerms(nul<VqVaeModel>, t)))
    throwsNull "model" (fun () -> ignore (VqVaeModel.WithBuffersFrom(nul<VqVaeModel>, model)))
    throwsNull "source" (fun () -> ignore (VqVaeModel.WithBuffersFrom(model, nul<VqVaeModel>)))

[<Fact>]
let ``an unknown reconstruction kind is rejected by name`` () =
    let t = Tensor.Zeros(1, 1, 4, 4)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Loss.Reconstruction(enum<ReconstructionLoss> 42, t, t) |> ignore)
    Assert.Equal("kind", e.ParamName)
    Assert.Contains("unknown kind", e.Message)

[<Fact>]
let ``loss terms check the images and the encoder output against the codebook`` () =
    let cfg = VqVaeConfig.Small
    let model = VqVaeModel.Init(cfg, Rng.Seed 4L)
    throwsArg "x" "x must be [B, C=1, H, W]" (fun () -> ignore (VqVaeModel.LossTerms(model, Tensor.Zeros(1, 2, 8, 8))))
    // A codebook of another width than the encoder's output: the latents check names the encoder output.
    let wide = model.With(codebook = Codebook(Tensor.Zeros(cfg.CodebookSize, cfg.CodeDim + 1)))
    throwsArg "encoder output" "encoder output must be latents [B, D=" (fun () -> ignore (VqVaeModel.LossTerms(wide, Tensor.Zeros(1, 1, 8, 8))))

[<Fact>]
let ``buffers can only be taken from a model with the same leaves`` () =
    let straight = VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 5L)
    let ema = VqVaeModel.Init(VqVaeConfig.Small.With(quantizer = QuantizerKind.Ema), Rng.Seed 5L)
    throwsArg "source" "the source has" (fun () -> ignore (VqVaeModel.WithBuffersFrom(straight, ema)))
