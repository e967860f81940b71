/// The VQ-VAE-2 files' small contracts: loss terms by name, the priors' grids, encoding in chunks, the latents a
/// decoder takes, state dicts, the EMA step, evaluation, and both checkpoint readers' refusals (each one the
/// problem in words, named), pinned before the first mutation run of the Hierarchical folder.
module VqVae.Functional.Tests.HierarchicalContractTests

open System
open System.Collections.Generic
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Tensors.Tests
open VqVae.Functional.Checkpoints
open VqVae.Functional.Model
open VqVae.Functional.Prior
open VqVae.Functional.Quantization
open VqVae.Functional.Hierarchical
open VqVae.Tensors.Tests.Refusals

let tiny = VqVae2Config(1, 8, 6, 10, 3, 0.25f, ResidualLayers = 1, ResidualHidden = 4)
let private model () = VqVae2Model.Init(tiny, Rng.Seed 1L)
let private images seed n = Tensor.Uniform(Rng.Seed seed, 0f, 1f, n, 1, 16, 16)

/// The problem a loader reports for a file written with `entries` and `meta`.
let private problemOf (load: string -> obj) (entries: SafeTensorEntry seq) (meta: (string * string) list) =
    let path = Scratch.path "v2.safetensors"
    SafeTensors.Write(path, Array.ofSeq entries, Dictionary(dict meta))
    (Assert.Throws<CheckpointException>(fun () -> load path |> ignore)).Problem

let private entriesOf (d: IReadOnlyDictionary<string, Tensor>) =
    [ for kv in d -> SafeTensorEntry(kv.Key, kv.Value.Shape, kv.Value.ToArray()) ]

[<Fact>]
let ``loss terms are read by their names, an unknown name is refused with the list`` () =
    let t = VqVae2Model.LossTerms(model (), images 2L 2)
    for name, expected in [ "recon", t.Recon; "codebook_t", t.CodebookTop; "codebook_b", t.CodebookBottom
                            "commitment_t", t.CommitmentTop; "commitment_b", t.CommitmentBottom; "total", t.Total ] do
        Assert.Same(expected, t.Term name)
    refusedAs<ArgumentException> "name" "vqvae2 loss terms: unknown term 'kl'; expected recon, codebook_t, codebook_b, commitment_t, commitment_b, total."
        (fun () -> t.Term "kl") |> ignore

[<Fact>]
let ``the two priors' configs follow the padded grids, the bottom conditioned on the top; a side below 1 is refused`` () =
    let struct (top, bottom) = HierarchicalPriors.Configs(tiny, 28, 13, 8, 2)
    Assert.Equal(PriorConfig(6, 4, 2, 8, 2), top)
    Assert.Equal(PriorConfig(10, 8, 4, 8, 2, ConditionCodes = 6, ConditionHeight = 4, ConditionWidth = 2), bottom)
    for h, w in [ 0, 28; 28, 0 ] do
        refusedAs<ArgumentOutOfRangeException> "height" $"hierarchical prior: image sides must be ≥ 1, got {h}×{w}." (fun () -> HierarchicalPriors.Configs(tiny, h, w)) |> ignore
    Assert.Equal("config", nullArgumentOf (fun () -> HierarchicalPriors.Configs(Unchecked.defaultof<VqVae2Config>, 28, 28)))

[<Fact>]
let ``encoding in chunks gives the codes of one pass, in order; bad images or chunk sizes are refused by name`` () =
    let m = model ()
    let x = images 3L 3
    let whole = HierarchicalPriors.EncodeAll(m, x)
    let chunked = HierarchicalPriors.EncodeAll(m, x, 2)
    let one = VqVae2Model.Encode(m, x)
    for c in [ whole; chunked ] do
        Assert.Equal<int[]>(one.Top.ToArray(), c.Top.ToArray())
        Assert.Equal<int[]>(one.Bottom.ToArray(), c.Bottom.ToArray())
        Assert.Equal<int[]>([| 3; 2; 2 |], c.Top.Shape)
        Assert.Equal<int[]>([| 3; 4; 4 |], c.Bottom.Shape)
    refusedAs<ArgumentException> "images" "encodeAll: images must be [N,C,H,W] with N ≥ 1, got [1,16,16]." (fun () -> HierarchicalPriors.EncodeAll(m, Tensor.Zeros(1, 16, 16))) |> ignore
    refusedAs<ArgumentOutOfRangeException> "batch" "encodeAll: batch must be ≥ 1." (fun () -> HierarchicalPriors.EncodeAll(m, x, 0)) |> ignore
    Assert.Equal("model", nullArgumentOf (fun () -> HierarchicalPriors.EncodeAll(Unchecked.defaultof<VqVae2Model>, x)))
    Assert.Equal("images", nullArgumentOf (fun () -> HierarchicalPriors.EncodeAll(m, Unchecked.defaultof<Tensor>)))

[<Fact>]
let ``the decoder takes top latents [B, D, h, w] and bottom latents on twice that grid, and says which is wrong`` () =
    let m = model ()
    let top, bottom = Tensor.Zeros(2, 3, 2, 2), Tensor.Zeros(2, 3, 4, 4)
    Assert.Equal<int[]>([| 2; 1; 16; 16 |], (VqVae2Model.Decode(m, top, bottom)).Shape)
    refusedAs<ArgumentException> "top" "vqvae2 decode: top latents must be [B, D=3, h, w], got [2,3,2]." (fun () -> VqVae2Model.Decode(m, Tensor.Zeros(2, 3, 2), bottom)) |> ignore
    refusedAs<ArgumentException> "top" "vqvae2 decode: top latents must be [B, D=3, h, w], got [2,4,2,2]." (fun () -> VqVae2Model.Decode(m, Tensor.Zeros(2, 4, 2, 2), bottom)) |> ignore
    for b in [ Tensor.Zeros(2, 3, 4); Tensor.Zeros(1, 3, 4, 4); Tensor.Zeros(2, 2, 4, 4); Tensor.Zeros(2, 3, 2, 4); Tensor.Zeros(2, 3, 4, 2) ] do
        refusedAs<ArgumentException> "bottom" "vqvae2 decode: bottom latents must be [B=2, D=3, 4, 4] (twice the top grid 2×2), got [" (fun () -> VqVae2Model.Decode(m, top, b)) |> ignore
    Assert.Equal("top", nullArgumentOf (fun () -> VqVae2Model.Decode(m, Unchecked.defaultof<Tensor>, bottom)))
    Assert.Equal("bottom", nullArgumentOf (fun () -> VqVae2Model.Decode(m, top, Unchecked.defaultof<Tensor>)))

[<Fact>]
let ``a state dict names its missing or unexpected keys, one or many, and an unknown leaf name is refused`` () =
    let m = model ()
    let edit (f: Dictionary<string, Tensor> -> unit) =
        let d = Dictionary<string, Tensor>(m.ToStateDict())
        f d
        d :> IReadOnlyDictionary<_, _>
    let keys = m.ToStateDict().Keys |> Array.ofSeq
    refusedAs<ArgumentException> "stateDict" $"state dict: missing key '{keys[0]}'." (fun () -> VqVae2Model.FromStateDict(tiny, edit (fun d -> d.Remove keys[0] |> ignore))) |> ignore
    refusedAs<ArgumentException> "stateDict" $"state dict: missing keys '{keys[0]}', '{keys[1]}'." (fun () -> VqVae2Model.FromStateDict(tiny, edit (fun d -> d.Remove keys[0] |> ignore; d.Remove keys[1] |> ignore))) |> ignore
    refusedAs<ArgumentException> "stateDict" "state dict: unexpected key 'junk'." (fun () -> VqVae2Model.FromStateDict(tiny, edit (fun d -> d["junk"] <- Tensor.Zeros 1))) |> ignore
    let many = edit (fun d -> for i in 1 .. 12 do d[$"junk{i:D2}"] <- Tensor.Zeros 1)
    let e = refusedAs<ArgumentException> "stateDict" "state dict: unexpected keys 'junk01', 'junk02'," (fun () -> VqVae2Model.FromStateDict(tiny, many))
    Assert.Contains("'junk10'.", e.Message)
    Assert.DoesNotContain("junk11", e.Message)                      // the first ten
    Assert.Equal("config", nullArgumentOf (fun () -> VqVae2Model.FromStateDict(Unchecked.defaultof<VqVae2Config>, m.ToStateDict())))
    Assert.Equal("stateDict", nullArgumentOf (fun () -> VqVae2Model.FromStateDict(tiny, Unchecked.defaultof<IReadOnlyDictionary<string, Tensor>>)))
    refusedAs<ArgumentException> "name" "vqvae2: no leaf is called 'junk.weight'." (fun () -> VqVae2Model.GroupOf "junk.weight") |> ignore

[<Fact>]
let ``the EMA step needs EMA state; evaluation needs at least one image`` () =
    let m = model ()
    let t = VqVae2Model.LossTerms(m, images 2L 2)
    refusedAs<ArgumentException> "level" "emaStep: the VQ-VAE-2 has no EMA state; build it with Quantizer = Ema." (fun () -> VqVae2TrainStep.EmaStep(m, t.TopQuantized, t.BottomQuantized)) |> ignore
    refusedAs<ArgumentException> "batches" "batches must hold at least one image." (fun () -> VqVae2Evaluation.Evaluate(m, [])) |> ignore

[<Fact>]
let ``the VQ-VAE-2 reader refuses a file without a config or of a later format, and bad config JSON, in words`` () =
    let entries = entriesOf ((model ()).ToStateDict())
    let config = VqVae2Checkpoint.ConfigToJson tiny
    let load p = VqVae2Checkpoint.Load p :> obj
    Assert.Equal("has no config in its metadata.", problemOf load entries [ "model", "vqvae2" ])
    Assert.Equal($"format version '99' is not one this library reads (1 to {Checkpoint.FormatVersion}).",
                 problemOf load entries [ "model", "vqvae2"; "format_version", "99"; "config", config ])
    for v in [ "0"; "x" ] do
        Assert.StartsWith($"format version '{v}' is not one", problemOf load entries [ "model", "vqvae2"; "format_version", v; "config", config ])
    refusedAs<ArgumentException> "json" "vqvae2 config: the JSON is null." (fun () -> VqVae2Checkpoint.ConfigFromJson "null") |> ignore
    refusedAs<ArgumentException> "json" "vqvae2 config: not valid JSON (" (fun () -> VqVae2Checkpoint.ConfigFromJson "{") |> ignore
    // Not a VQ-VAE-2 file, or no file at all: false, not an exception.
    Assert.False(VqVae2Checkpoint.IsVqVae2(Scratch.path "none.safetensors"))
    let garbage = Scratch.path "garbage.safetensors"
    IO.File.WriteAllText(garbage, "not a checkpoint")
    Assert.False(VqVae2Checkpoint.IsVqVae2 garbage)

[<Fact>]
let ``the hierarchical prior reader refuses another file, a missing, misshapen, non-finite or extra tensor, and a bottom prior on another grid`` () =
    let prior = HierarchicalPriors.Init(tiny, 16, 16, Rng.Seed 1L, 4, 2)
    let saved = Scratch.path "hprior.safetensors"
    HierarchicalPriorCheckpoint.Save(saved, prior, "m", 13, 16)
    let file = SafeTensors.Read saved
    let meta = [ for kv in file.Metadata -> kv.Key, kv.Value ]
    let entries = List.ofSeq file.Entries
    let load p = HierarchicalPriorCheckpoint.Load p :> obj
    let first = entries.Head.Name
    let notOne = "is not a hierarchical (VQ-VAE-2) prior checkpoint (its metadata lacks format = vqvae-functional-hierarchical-prior and the two prior configs)."
    for drop in [ "format"; "prior_config_top"; "prior_config_bottom" ] do
        Assert.Equal(notOne, problemOf load entries (meta |> List.filter (fun (k, _) -> k <> drop)))
    Assert.Equal(notOne, problemOf load entries (meta |> List.map (fun (k, v) -> if k = "format" then k, "other" else k, v)))
    Assert.Equal($"lacks the parameter '{first}' its configs need.", problemOf load entries.Tail meta)
    Assert.Equal("has tensors its configs do not use: junk.", problemOf load (entries @ [ SafeTensorEntry("junk", [| 1 |], [| 0f |]) ]) meta)
    Assert.Equal("has tensors its configs do not use: junk, junk2.", problemOf load (entries @ [ SafeTensorEntry("junk", [| 1 |], [| 0f |]); SafeTensorEntry("junk2", [| 1 |], [| 0f |]) ]) meta)
    let e0 = entries.Head
    Assert.StartsWith($"parameter '{first}' has shape [{e0.Data.Length}], its config needs [", problemOf load (SafeTensorEntry(first, [| e0.Data.Length |], e0.Data) :: entries.Tail) meta)
    // One infinity among finite values is enough.
    let oneInfinite = e0.Data |> Array.mapi (fun i v -> if i = e0.Data.Length - 1 then infinityf else v)
    Assert.Equal($"parameter '{first}' holds non-finite values.", problemOf load (SafeTensorEntry(first, e0.Shape, oneInfinite) :: entries.Tail) meta)
    let struct (_, otherBottom) = HierarchicalPriors.Configs(tiny, 32, 32, 4, 2)
    let swapped = meta |> List.map (fun (k, v) -> if k = "prior_config_bottom" then k, otherBottom.ToJson() else k, v)
    Assert.StartsWith("the bottom prior must be conditioned on the top grid (6 codes, 2×2), but its config says 6 codes, 4×4.", problemOf load entries swapped)
    // Recorded sides count only when they pad to the top grid × 8: 13 and 16 do for a 2×2 top grid; 0, 17 and words do not.
    let back = HierarchicalPriorCheckpoint.Load saved
    Assert.Equal((Nullable 13, Nullable 16, "m"), (back.ImageHeight, back.ImageWidth, back.VqVae))
    for side in [ "0"; "17"; "x"; "+9" ] do
        let path = Scratch.path "sides.safetensors"
        SafeTensors.Write(path, Array.ofList entries, Dictionary(dict (meta |> List.map (fun (k, v) -> if k = "image_height" then k, side else k, v))))
        Assert.Equal(Nullable(), (HierarchicalPriorCheckpoint.Load path).ImageHeight)
    Assert.True(HierarchicalPriorCheckpoint.IsHierarchical saved)
    Assert.False(HierarchicalPriorCheckpoint.IsHierarchical(Scratch.path "none.safetensors"))
    let other = Scratch.path "other-format.safetensors"
    SafeTensors.Write(other, Array.ofList entries, Dictionary(dict (meta |> List.map (fun (k, v) -> if k = "format" then k, "vqvae-functional-prior" else k, v))))
    Assert.False(HierarchicalPriorCheckpoint.IsHierarchical other)
    // The smallest side: one pixel pads to 8, a 1×1 top grid.
    let small = HierarchicalPriors.Init(tiny, 8, 8, Rng.Seed 1L, 4, 2)
    let onePixel = Scratch.path "hprior-1px.safetensors"
    HierarchicalPriorCheckpoint.Save(onePixel, small, "m", 1, 8)
    let back1 = HierarchicalPriorCheckpoint.Load onePixel
    Assert.Equal((Nullable 1, Nullable 8), (back1.ImageHeight, back1.ImageWidth))
    // Null and empty arguments, by name.
    Assert.Equal("prior", nullArgumentOf (fun () -> HierarchicalPriorCheckpoint.Save(Scratch.path "n.safetensors", Unchecked.defaultof<HierarchicalPrior>)))
    refusedNaming "path" [] (fun () -> HierarchicalPriorCheckpoint.Save("", small)) |> ignore
    // The path first, before anything else is looked at: both missing names the path.
    Assert.Equal("path", nullArgumentOf (fun () -> HierarchicalPriorCheckpoint.Save(Unchecked.defaultof<string>, Unchecked.defaultof<HierarchicalPrior>)))
    refusedNaming "path" [] (fun () -> HierarchicalPriorCheckpoint.Load "" |> ignore) |> ignore

[<Fact>]
let ``a hierarchical prior file's metadata: its keys and version, nothing recorded read as nothing, each grid mismatch and a bad config named`` () =
    let prior = HierarchicalPriors.Init(tiny, 16, 16, Rng.Seed 1L, 4, 2)
    let saved = Scratch.path "hprior-bare.safetensors"
    HierarchicalPriorCheckpoint.Save(saved, prior, Unchecked.defaultof<string>)   // a caller that ignores nullability
    let meta = (SafeTensors.Read saved).Metadata
    let expected =
        [ "format", "vqvae-functional-hierarchical-prior"; "format_version", "1"; "prior_config_top", prior.Top.Config.ToJson()
          "prior_config_bottom", prior.Bottom.Config.ToJson(); "vqvae", ""; "image_height", ""; "image_width", "" ]
    Assert.Equal<(string * string) list>(List.sort expected, [ for kv in meta -> kv.Key, kv.Value ] |> List.sort)
    let back = HierarchicalPriorCheckpoint.Load saved
    Assert.Equal(("", Nullable(), Nullable()), (back.VqVae, back.ImageHeight, back.ImageWidth))
    let entries = List.ofSeq (SafeTensors.Read saved).Entries
    let load p = HierarchicalPriorCheckpoint.Load p :> obj
    let withBottom (bottom: PriorConfig) (drop: string) =
        [ for kv in meta do if kv.Key <> drop then kv.Key, (if kv.Key = "prior_config_bottom" then bottom.ToJson() else kv.Value) ]
    // No "vqvae" key at all reads as "".
    let noName = Scratch.path "hprior-noname.safetensors"
    SafeTensors.Write(noName, Array.ofList entries, Dictionary(dict (withBottom prior.Bottom.Config "vqvae")))
    Assert.Equal("", (HierarchicalPriorCheckpoint.Load noName).VqVae)
    // The bottom prior conditioned on another top codebook, or on a grid that differs in width alone.
    let struct (_, sevenCodes) = HierarchicalPriors.Configs(tiny.With(topCodebookSize = 7), 16, 16, 4, 2)
    Assert.Equal("the bottom prior must be conditioned on the top grid (6 codes, 2×2), but its config says 7 codes, 2×2.", problemOf load entries (withBottom sevenCodes ""))
    let struct (_, wider) = HierarchicalPriors.Configs(tiny, 16, 32, 4, 2)
    Assert.StartsWith("the bottom prior must be conditioned on the top grid (6 codes, 2×2), but its config says 6 codes, 2×4.", problemOf load entries (withBottom wider ""))
    let badJson = [ for kv in meta -> kv.Key, (if kv.Key = "prior_config_top" then "{" else kv.Value) ]
    Assert.StartsWith("prior config: not valid JSON", problemOf load entries badJson)
    let garbage = Scratch.path "hprior-garbage.safetensors"
    IO.File.WriteAllText(garbage, "not a checkpoint")
    Assert.False(HierarchicalPriorCheckpoint.IsHierarchical garbage)

[<Fact>]
let ``VQ-VAE-2 evaluation gives the set's figures whatever the batching, each matching its definition`` () =
    let m = model ()
    let x = images 4L 3
    let r = VqVae2Evaluation.Evaluate(m, [ x.Narrow(0, 0, 1); x.Narrow(0, 1, 2) ])
    let xs = x.ToArray() |> Array.map float
    let xh = (VqVae2Model.Reconstruct(m, x)).ToArray() |> Array.map float
    let mse = Array.map2 (fun a b -> (a - b) ** 2.0) xs xh |> Array.average
    let mean = Array.average xs
    let var = xs |> Array.averageBy (fun v -> (v - mean) ** 2.0)
    Assert.Equal(3, r.Count)
    Assert.Equal(mse, r.Mse, 6)
    Assert.Equal(mse / var, r.MseOverVar, 5)
    Assert.Equal(10.0 * log10 (1.0 / mse), r.Psnr, 4)
    let codes = VqVae2Model.Encode(m, x)
    let counts (c: CodeIndices) k = Array.init k (fun i -> c.ToArray() |> Array.filter ((=) i) |> Array.length |> int64)
    Assert.Equal<int64[]>(counts codes.Top 6, Array.ofSeq r.Top.Counts)
    Assert.Equal<int64[]>(counts codes.Bottom 10, Array.ofSeq r.Bottom.Counts)

[<Fact>]
let ``a VQ-VAE-2 metrics row holds each level's terms, perplexity and codes used; the file is the header and the rows`` () =
    let m = VqVae2StepMetrics(3, 0.5f, 0.25f, 0.125f, 1.5f, 2.5f, 4.875f, 2.0, 3.25, Collections.Immutable.ImmutableArray.Create(1, 0, 2),
                              Collections.Immutable.ImmutableArray.Create(0, 0, 4, 1, 1), 0.7)
    let row = VqVae2MetricsCsv.Row(m, 12.34)
    Assert.Equal("3,0.5,0.25,0.125,1.5,2.5,4.875,2.0000,3.2500,2,3,12.3", row)
    let path = Scratch.path "metrics.csv"
    VqVae2MetricsCsv.Write(path, [ row; row ])
    Assert.Equal($"{VqVae2MetricsCsv.Header}\n{row}\n{row}\n", IO.File.ReadAllText path)
    Assert.Equal("m", nullArgumentOf (fun () -> VqVae2MetricsCsv.Row(Unchecked.defaultof<VqVae2StepMetrics>, 1.0)))
    Assert.Equal("rows", nullArgumentOf (fun () -> VqVae2MetricsCsv.Write(path, Unchecked.defaultof<string seq>)))
    refusedNaming "path" [] (fun () -> VqVae2MetricsCsv.Write("", [])) |> ignore

[<Fact>]
let ``model input pads each side to a multiple of 8 with black split evenly (the odd pixel after), then shifts the range`` () =
    let x = Tensor.FromArray(Array.init (13 * 10) (fun i -> float32 (i + 1) / 200f), 1, 1, 13, 10)
    let input = VqVae2Model.ModelInput(tiny, x)                          // InputShift −0.5
    Assert.Equal<int[]>([| 1; 1; 16; 16 |], input.Shape)
    // 13 → 16: one row before, two after; 10 → 16: three columns each side.
    let padded =
        Array.init 256 (fun i ->
            let r, c = i / 16 - 1, i % 16 - 3
            if r >= 0 && r < 13 && c >= 0 && c < 10 then float32 (r * 10 + c + 1) / 200f else 0f)
    Assert.Equal<float32[]>(padded |> Array.map (fun v -> v - 0.5f), input.ToArray())
    let unshifted = VqVae2Config(1, 8, 6, 10, 3, 0.25f, InputShift = 0f)
    Assert.Equal<float32[]>(padded, (VqVae2Model.ModelInput(unshifted, x)).ToArray())
    // A side already a multiple of 8 is left as it is.
    let square = Tensor.Uniform(Rng.Seed 1L, 0f, 1f, 1, 1, 8, 16)
    Assert.Equal<float32[]>((square - 0.5f).ToArray(), (VqVae2Model.ModelInput(tiny, square)).ToArray())
    for bad, text in [ Tensor.Zeros(1, 2, 8, 8), "[1,2,8,8]"; Tensor.Zeros(1, 8, 8), "[1,8,8]" ] do
        refusedAs<ArgumentException> "x" $"x must be images [B, C=1, H, W] (e.g. [B, 1, 28, 28]; sides are padded to multiples of 8), got {text}." (fun () -> VqVae2Model.ModelInput(tiny, bad)) |> ignore

[<Fact>]
let ``decoding crops the centre of the padded output to the asked sides, which must pad back to it`` () =
    let m = model ()
    let top, bottom = Tensor.Uniform(Rng.Seed 2L, -1f, 1f, 1, 3, 2, 2), Tensor.Uniform(Rng.Seed 3L, -1f, 1f, 1, 3, 4, 4)
    let full = VqVae2Model.Decode(m, top, bottom)
    Assert.Equal<int[]>([| 1; 1; 16; 16 |], full.Shape)
    // Back in pixels: the decoder's output with the input shift (−0.5) taken off again, i.e. raised by 0.5.
    let raw = m.Decoder.Apply(Tensor.Cat([| m.UpsampleTop.Apply top; bottom |], dim = 1))
    Assert.Equal<float32[]>((raw + 0.5f).ToArray(), full.ToArray())
    let cropped = VqVae2Model.Decode(m, top, bottom, 13, 10)
    let f = full.ToArray()
    Assert.Equal<float32[]>(Array.init 130 (fun i -> f[(i / 10 + 1) * 16 + i % 10 + 3]), cropped.ToArray())
    let refused name (h: int) (w: int) text =
        refusedAs<ArgumentOutOfRangeException> name $"vqvae2 decode: the output side must be in (8, 16] for a decoded side of 16 (sides are padded to the next multiple of 8), got {text}."
            (fun () -> VqVae2Model.Decode(m, top, bottom, h, w)) |> ignore
    refused "height" 8 16 8
    refused "height" 0 16 0
    refused "width" 16 17 17
    Assert.Equal<int[]>([| 1; 1; 9; 16 |], (VqVae2Model.Decode(m, top, bottom, 9, 16)).Shape)

[<Fact>]
let ``the smallest images and sides are accepted: one pixel high, decoded back to one row; a rank-3 batch is refused in words`` () =
    let m = model ()
    let x = Tensor.Uniform(Rng.Seed 8L, 0f, 1f, 1, 1, 1, 8)
    Assert.Equal<int[]>([| 1; 1; 8; 8 |], (VqVae2Model.ModelInput(tiny, x)).Shape)
    Assert.Equal<int[]>([| 1; 1; 1; 8 |], (VqVae2Model.Reconstruct(m, x)).Shape)
    Assert.Equal<int[]>([| 1; 1; 8; 1 |], (VqVae2Model.Reconstruct(m, Tensor.Uniform(Rng.Seed 9L, 0f, 1f, 1, 1, 8, 1))).Shape)
    // Channels match in place 1 of this rank-3 batch: the rank alone must refuse it (not an index error).
    refusedAs<ArgumentException> "x" "x must be images [B, C=1, H, W]" (fun () -> VqVae2Model.ModelInput(tiny, Tensor.Zeros(2, 1, 8))) |> ignore
    let struct (top, bottom) = HierarchicalPriors.Configs(tiny, 1, 1, 8, 2)
    Assert.Equal((1, 1, 2, 2), (top.Height, top.Width, bottom.Height, bottom.Width))

[<Fact>]
let ``every VQ-VAE-2 function names a null model, config or tensor`` () =
    let m = model ()
    let x = images 2L 1
    let t = Tensor.Zeros(1, 3, 2, 2)
    let b = Tensor.Zeros(1, 3, 4, 4)
    let f = Tensor.Zeros(1, 8, 4, 4)
    let nm = Unchecked.defaultof<VqVae2Model>
    let nt = Unchecked.defaultof<Tensor>
    let codes = VqVae2Model.Encode(m, x)
    for name, call in
        [ "config", (fun () -> VqVae2Model.Init(Unchecked.defaultof<VqVae2Config>, Rng.Seed 1L) |> box)
          "config", (fun () -> VqVae2Model.ModelInput(Unchecked.defaultof<VqVae2Config>, x) |> box)
          "model", (fun () -> VqVae2Model.BottomFeatures(nm, x) |> box)
          "input", (fun () -> VqVae2Model.BottomFeatures(m, nt) |> box)
          "model", (fun () -> VqVae2Model.TopLatents(nm, f) |> box)
          "bottomFeatures", (fun () -> VqVae2Model.TopLatents(m, nt) |> box)
          "model", (fun () -> VqVae2Model.QuantizeTop(nm, t) |> box)
          "zeTop", (fun () -> VqVae2Model.QuantizeTop(m, nt) |> box)
          "model", (fun () -> VqVae2Model.BottomLatents(nm, f, t) |> box)
          "bottomFeatures", (fun () -> VqVae2Model.BottomLatents(m, nt, t) |> box)
          "topDecoderInput", (fun () -> VqVae2Model.BottomLatents(m, f, nt) |> box)
          "model", (fun () -> VqVae2Model.QuantizeBottom(nm, b) |> box)
          "zeBottom", (fun () -> VqVae2Model.QuantizeBottom(m, nt) |> box)
          "model", (fun () -> VqVae2Model.Decode(nm, t, b) |> box)
          "model", (fun () -> VqVae2Model.CodesToLatents(nm, codes) |> box)
          "codes", (fun () -> VqVae2Model.CodesToLatents(m, Unchecked.defaultof<HierarchicalCodes>) |> box)
          "model", (fun () -> VqVae2Model.Encode(nm, x) |> box)
          "model", (fun () -> VqVae2Model.Reconstruct(nm, x) |> box)
          "model", (fun () -> VqVae2Model.LossTerms(nm, x) |> box)
          "config", (fun () -> VqVae2Model.CheckImages(Unchecked.defaultof<VqVae2Config>, x, "x"); box 0)
          "batches[3]", (fun () -> VqVae2Model.CheckImages(tiny, nt, "batches[3]"); box 0)
          "model", (fun () -> VqVae2Evaluation.Evaluate(nm, [ x ]) |> box)
          "batches", (fun () -> VqVae2Evaluation.Evaluate(m, Unchecked.defaultof<Tensor seq>) |> box)
          "writer", (fun () -> m.Flatten(Unchecked.defaultof<VqVae.Tensors.TreeWriter>); box 0)
          "reader", (fun () -> m.Unflatten(Unchecked.defaultof<VqVae.Tensors.TreeReader>) |> box)
          "writer", (fun () -> m.Top.Flatten(Unchecked.defaultof<VqVae.Tensors.TreeWriter>); box 0)
          "name", (fun () -> VqVae2Model.GroupOf(Unchecked.defaultof<string>) |> box)
          "model", (fun () -> VqVae2Routes.Reach(Func<VqVae2Model, Tensor>(fun p -> VqVae2Model.LossTerms(p, x).Total), nm) |> box)
          "gradients", (fun () -> VqVae2Routes.GroupNorms(Unchecked.defaultof<Gradients<VqVae2Model>>) |> box)
          "gradients", (fun () -> VqVae2Routes.ReachOf(Unchecked.defaultof<Gradients<VqVae2Model>>) |> box) ] do
        Assert.True((Some name = Option.ofObj (nullArgumentOf call)), $"expected the null argument {name}")

[<Fact>]
let ``VQ-VAE-2 evaluation names the batch the model cannot take by its index`` () =
    let m = model ()
    refusedNaming "batches[1]" [ "batches[1] must be images [B, C=1, H, W]" ] (fun () -> VqVae2Evaluation.Evaluate(m, [ images 1L 1; Tensor.Zeros(1, 2, 8, 8); images 2L 1 ])) |> ignore
    refusedNaming "batches[2]" [ "batches[2] must be images" ] (fun () -> VqVae2Evaluation.Evaluate(m, [ images 1L 1; images 2L 1; Tensor.Zeros(1, 2, 8, 8) ])) |> ignore

[<Fact>]
let ``the hierarchical prior's two levels draw from their own seeds, in fitting and in sampling, and name null arguments`` () =
    let prior = HierarchicalPriors.Init(tiny, 16, 16, Rng.Seed 1L, 4, 2)
    let codes = HierarchicalPriors.EncodeAll(model (), images 3L 8)
    let options = PriorFitOptions(3, 2, 1e-2f, 7L)
    // Fit is the two single-level fits: the top on its grids (seed s), the bottom given the true top grids (seed s + 1);
    // without onStep nothing is reported and nothing fails.
    let both = HierarchicalPriors.Fit(prior, codes, options)
    let top = PriorFitting.Fit(prior.Top, codes.Top, options)
    let bottomWith seed = PriorFitting.Fit(prior.Bottom, codes.Bottom, PriorFitOptions(3, 2, 1e-2f, seed), condition = PriorCondition(Codes = codes.Top))
    let values (p: PixelCnnPrior) = Tree.Leaves(p) |> Seq.collect (fun l -> l.Value.ToArray()) |> Array.ofSeq
    Assert.Equal<float32[]>(values top, values both.Top)
    Assert.Equal<float32[]>(values (bottomWith 8L), values both.Bottom)
    // Eight grids in batches of two: seeds s − 1 and s draw other batches, so the equality above pins s + 1.
    for other in [ 6L; 7L ] do
        Assert.NotEqual<float32[]>(values (bottomWith other), values both.Bottom)
    // Sampling: the top grids with the options' seed, the bottom with seed + 1 given them; no options means the defaults.
    let drawn = HierarchicalPriors.Sample(prior, 2, SamplingOptions(Seed = 4L))
    Assert.Equal<int[]>((PriorSampling.Sample(prior.Top, 2, SamplingOptions(Seed = 4L))).ToArray(), drawn.Top.ToArray())
    Assert.Equal<int[]>((PriorSampling.Sample(prior.Bottom, 2, SamplingOptions(Seed = 5L), PriorCondition(Codes = drawn.Top))).ToArray(), drawn.Bottom.ToArray())
    Assert.Equal<int[]>((HierarchicalPriors.Sample(prior, 2, SamplingOptions())).Top.ToArray(), (HierarchicalPriors.Sample(prior, 2)).Top.ToArray())
    let np = Unchecked.defaultof<HierarchicalPrior>
    let nc = Unchecked.defaultof<HierarchicalCodes>
    for name, call in
        [ "prior", (fun () -> HierarchicalPriors.Fit(np, codes, options) |> box)
          "codes", (fun () -> HierarchicalPriors.Fit(prior, nc, options) |> box)
          "options", (fun () -> HierarchicalPriors.Fit(prior, codes, Unchecked.defaultof<PriorFitOptions>) |> box)
          "prior", (fun () -> HierarchicalPriors.Evaluate(np, codes, codes) |> box)
          "train", (fun () -> HierarchicalPriors.Evaluate(prior, nc, codes) |> box)
          "heldOut", (fun () -> HierarchicalPriors.Evaluate(prior, codes, nc) |> box)
          "prior", (fun () -> HierarchicalPriors.Sample(np, 1) |> box)
          "model", (fun () -> HierarchicalPriors.SampleImages(Unchecked.defaultof<VqVae2Model>, prior, 1, null, 16, 16) |> box)
          "writer", (fun () -> prior.Flatten(Unchecked.defaultof<VqVae.Tensors.TreeWriter>); box 0)
          "reader", (fun () -> prior.Unflatten(Unchecked.defaultof<VqVae.Tensors.TreeReader>) |> box) ] do
        Assert.True((Some name = Option.ofObj (nullArgumentOf call)), $"expected the null argument {name}")
    // The levels are saved under "top." and "bottom.".
    let names = Tree.Leaves(prior) |> Seq.map (fun l -> l.Name) |> Array.ofSeq
    Assert.True(names |> Array.forall (fun n -> n.StartsWith "top." || n.StartsWith "bottom."), String.Join(", ", names))
    Assert.Equal(Tree.Leaves(prior.Top).Count, names |> Array.filter (fun n -> n.StartsWith "top.") |> Array.length)
