/// The Gated PixelCNN prior's model files (GatedLayer, PixelCnnPrior, PriorModel, PriorCheckpoint) against what a
/// user relies on and the mutation run found unpinned: the logits equal a plain-loop forward pass written here from
/// the paper's description (stacks, masks, the shifted link, the residual, class and grid conditioning, nearest
/// upsampling along either axis), a fresh prior's parameters lie within PyTorch's initialisation bounds under
/// PyTorch's names (and only the leaves its config uses), every refusal by name and exact wording, and a prior file
/// that lacks, misshapes or adds a tensor is refused saying which.
module VqVae.Functional.Tests.PriorModelContractTests

open System
open System.Collections.Generic
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional
open VqVae.Functional.Prior
open VqVae.Functional.Quantization
open VqVae.Tensors.Tests
open VqVae.Tensors.Tests.Refusals

// ---------------------------------------------------------------------------------------------------------------
// A plain-loop reference: [B,C,H,W] maps as flat double arrays, zero outside the grid.

type private Map4 = { B: int; C: int; H: int; W: int; V: float[] }

let private at (m: Map4) b c i j =
    if i < 0 || i >= m.H || j < 0 || j >= m.W then 0.0 else m.V[((b * m.C + c) * m.H + i) * m.W + j]

let private make b c h w (f: int -> int -> int -> int -> float) =
    { B = b; C = c; H = h; W = w
      V = Array.init (b * c * h * w) (fun n -> f (n / (w * h * c)) ((n / (w * h)) % c) ((n / w) % h) (n % w)) }

let private arr (t: Tensor) = t.ToArray() |> Array.map float

let private sigmoid x = 1.0 / (1.0 + exp -x)

/// tanh of the first half of the channels times the sigmoid of the second.
let private gate (m: Map4) =
    let f = m.C / 2
    make m.B f m.H m.W (fun b c i j -> tanh (at m b c i j) * sigmoid (at m b (c + f) i j))

/// A 1×1 convolution: out[o] = bias[o] + Σ w[o, ci] · m[ci].
let private conv1 (w: float[]) (bias: float[] option) outC (m: Map4) =
    make m.B outC m.H m.W (fun b o i j ->
        let mutable s = match bias with Some bs -> bs[o] | None -> 0.0
        for ci in 0 .. m.C - 1 do s <- s + w[o * m.C + ci] * at m b ci i j
        s)

let private add (a: Map4) (b: Map4) = { a with V = Array.map2 (+) a.V b.V }

/// One gated layer as the paper describes it.
let private layerRef (l: GatedLayer) (v: Map4) (h: Map4) (first: bool) (labels: int[] option) (cond: Map4 option) =
    let f = v.C
    let k = l.HWeight.Shape[3]
    let c = k / 2
    let vw, vb, hw, hb = arr l.VWeight, arr l.VBias, arr l.HWeight, arr l.HBias
    // vertical: rows i−c … i, all k columns
    let vpre0 =
        make v.B (2 * f) v.H v.W (fun b o i j ->
            let mutable s = vb[o]
            for ci in 0 .. f - 1 do
                for dy in 0 .. c do
                    for dx in 0 .. k - 1 do
                        s <- s + vw[((o * f + ci) * (c + 1) + dy) * k + dx] * at v b ci (i - c + dy) (j - c + dx)
            s)
    // horizontal: columns left of j (and j itself after the first layer), plus the link from the row above
    let shifted = make v.B (2 * f) v.H v.W (fun b o i j -> at vpre0 b o (i - 1) j)
    let link = conv1 (arr l.LinkWeight) (Some(arr l.LinkBias)) (2 * f) shifted
    let hpre0 =
        make h.B (2 * f) h.H h.W (fun b o i j ->
            let mutable s = hb[o] + at link b o i j
            for ci in 0 .. f - 1 do
                for dx in 0 .. (if first then c - 1 else c) do
                    s <- s + hw[(o * f + ci) * k + dx] * at h b ci i (j - c + dx)
            s)
    let extra =
        make v.B (2 * f) v.H v.W (fun b o i j ->
            let byClass =
                match labels, l.ClassEmbedding with
                | Some ls, NonNull e -> (arr e)[ls[b] * 2 * f + o]
                | _ -> 0.0
            let byGrid =
                match cond, l.CondWeight with
                | Some m, NonNull cw -> at (conv1 (arr cw) None (2 * f) m) b o i j
                | _ -> 0.0
            byClass + byGrid)
    let vpre, hpre = add vpre0 extra, add hpre0 extra
    let hOut = conv1 (arr l.OutWeight) (Some(arr l.OutBias)) f (gate hpre)
    gate vpre, (if first then hOut else add hOut h)

/// The prior's logits [B,K,H,W] by the reference.
let private logitsRef (p: PixelCnnPrior) (codes: CodeIndices) (labels: int[] option) (condCodes: CodeIndices option) =
    let cfg = p.Config
    let f, kk = cfg.Channels, cfg.CodebookSize
    let emb = arr p.Embedding
    let x = make codes.Batch f codes.Height codes.Width (fun b ch i j -> emb[codes[b, i, j] * f + ch])
    let cond =
        condCodes
        |> Option.map (fun cc ->
            let ce = arr (nonNull p.CondEmbedding)
            let fy, fx = codes.Height / cc.Height, codes.Width / cc.Width
            make codes.Batch f codes.Height codes.Width (fun b ch i j -> ce[cc[b, i / fy, j / fx] * f + ch]))
    let mutable v, h = x, x
    for i in 0 .. p.Layers.Length - 1 do
        let v2, h2 = layerRef p.Layers[i] v h (i = 0) labels cond
        v <- v2
        h <- h2
    let hidden = conv1 (arr p.Out0Weight) (Some(arr p.Out0Bias)) f h
    conv1 (arr p.Out2Weight) (Some(arr p.Out2Bias)) kk { hidden with V = Array.map tanh hidden.V }

let private grid (seed: int64) (k: int) b h w =
    let rng = Rng.Seed seed
    CodeIndices.Of(Array.init (b * h * w) (fun i -> rng.IntAt(int64 i, k)), b, h, w)

[<Fact>]
let ``the logits equal a plain-loop gated PixelCNN: masked stacks, the shifted link, the residual, class and grid conditions upsampled along either axis`` () =
    let cases =
        [ PriorConfig(5, 2, 3, 2, 3, 3), false, false
          PriorConfig(4, 3, 4, 2, 2, 5), false, false
          // grid condition 1×3 on 2×3 (rows repeated), with classes
          PriorConfig(5, 2, 3, 2, 2, 3, Classes = 3, ConditionCodes = 4, ConditionHeight = 1, ConditionWidth = 3), true, true
          // grid condition 2×3 on 4×3 and 2×2 on 2×4: repeated along one axis only, which broadcasting cannot do
          PriorConfig(5, 4, 3, 2, 2, 3, ConditionCodes = 4, ConditionHeight = 2, ConditionWidth = 3), false, true
          PriorConfig(5, 2, 4, 2, 2, 3, Classes = 3, ConditionCodes = 4, ConditionHeight = 2, ConditionWidth = 2), true, true
          // grid condition 2×1 on 2×3 (columns repeated)
          PriorConfig(5, 2, 3, 2, 2, 3, ConditionCodes = 4, ConditionHeight = 2, ConditionWidth = 1), false, true
          // grid condition as large as the grid (nothing to repeat)
          PriorConfig(5, 2, 3, 2, 2, 3, ConditionCodes = 4, ConditionHeight = 2, ConditionWidth = 3), false, true ]
    for n, (cfg, byClass, byGrid) in List.indexed cases do
        let prior = PriorModel.Init(cfg, Rng.Seed(int64 (10 + n)))
        let codes = grid (int64 (20 + n)) cfg.CodebookSize 2 cfg.Height cfg.Width
        let labels = if byClass then Some [| 2; 0 |] else None
        let condCodes = if byGrid then Some(grid (int64 (30 + n)) 4 2 cfg.ConditionHeight cfg.ConditionWidth) else None
        let condition =
            PriorCondition(Option.toObj labels, (match condCodes with Some c -> c | None -> Unchecked.defaultof<CodeIndices>))
        let got = (PriorModel.Logits(prior, codes, condition)).ToArray()
        let want = (logitsRef prior codes labels condCodes).V
        Assert.Equal(want.Length, got.Length)
        for i in 0 .. want.Length - 1 do
            Assert.True(abs (want[i] - float got[i]) < 1e-4, $"case {n}: logit {i} is {got[i]}, the reference gives {want[i]}")

[<Fact>]
let ``a layer without class or grid conditioning ignores labels and a map passed to it`` () =
    let layer = GatedLayer.Init(Rng.Seed 3L, 2, 3, 0, false)
    let x = Tensor.Uniform(Rng.Seed 4L, -1f, 1f, 2, 2, 2, 3)
    let struct (v0, h0) = layer.Apply(x, x, false, null, null, PriorFault.None)
    let struct (v1, h1) = layer.Apply(x, x, false, [| 0; 1 |], Tensor.Ones(2, 2, 2, 3), PriorFault.None)
    Assert.Equal<float32[]>(v0.ToArray(), v1.ToArray())
    Assert.Equal<float32[]>(h0.ToArray(), h1.ToArray())

// ---------------------------------------------------------------------------------------------------------------
// Initialisation and parameter names

/// Every leaf within ±bound, and (for leaves of 8 values or more) filling more than half of it.
let private withinBound (name: string) (bound: float) (t: Tensor) =
    let a = t.ToArray() |> Array.map (fun x -> abs (float x))
    let top = Array.max a
    Assert.True(top <= bound, $"{name}: |w| reaches {top}, beyond 1/√fan_in = {bound}")
    if a.Length >= 8 then Assert.True(top > 0.5 * bound, $"{name}: |w| only reaches {top} of {bound}")

[<Fact>]
let ``a fresh prior's convolutions lie within PyTorch's ±1/√fan_in and its embeddings are normal`` () =
    let f, k = 4, 3
    let prior = PriorModel.Init(PriorConfig(6, 3, 3, f, 2, k, Classes = 5, ConditionCodes = 3, ConditionHeight = 1, ConditionWidth = 1), Rng.Seed 1L)
    let b fan = 1.0 / sqrt (float fan)
    for l in prior.Layers do
        let c = k / 2
        withinBound "v_conv.weight" (b (f * (c + 1) * k)) l.VWeight
        withinBound "v_conv.bias" (b (f * (c + 1) * k)) l.VBias
        withinBound "h_conv.weight" (b (f * k)) l.HWeight
        withinBound "h_conv.bias" (b (f * k)) l.HBias
        withinBound "v_to_h.weight" (b (2 * f)) l.LinkWeight
        withinBound "v_to_h.bias" (b (2 * f)) l.LinkBias
        withinBound "h_out.weight" (b f) l.OutWeight
        withinBound "h_out.bias" (b f) l.OutBias
        withinBound "cond_conv.weight" (b f) (nonNull l.CondWeight)
        let ce = (nonNull l.ClassEmbedding).ToArray() |> Array.map float
        Assert.Equal<int[]>([| 5; 2 * f |], (nonNull l.ClassEmbedding).Shape)
        let sd = sqrt (Array.averageBy (fun x -> x * x) ce)
        Assert.True(sd > 0.05 && sd < 0.2, $"class_cond.weight: spread {sd}, expected about 0.1")
    withinBound "out.0.weight" (b f) prior.Out0Weight
    withinBound "out.0.bias" (b f) prior.Out0Bias
    withinBound "out.2.weight" (b f) prior.Out2Weight
    withinBound "out.2.bias" (b f) prior.Out2Bias
    for name, t in [ "embedding.weight", prior.Embedding; "cond_embedding.weight", nonNull prior.CondEmbedding ] do
        let a = t.ToArray() |> Array.map float
        let sd = sqrt (Array.averageBy (fun x -> x * x) a)
        Assert.True(sd > 0.6 && sd < 1.5, $"{name}: spread {sd}, expected about 1")
    Assert.Equal<int[]>([| 3; f |], (nonNull prior.CondEmbedding).Shape)
    // Layer i starts from the seed's stream 100 + i, whatever the depth: a deeper prior's first layers start alike.
    for i in 0 .. 1 do
        let own = GatedLayer.Init((Rng.Seed 1L).Fold(int64 (100 + i)), f, k, 5, true)
        for a, b in Seq.zip (Tree.Leaves own) (Tree.Leaves prior.Layers[i]) do Assert.Equal<float32[]>(a.Value.ToArray(), b.Value.ToArray())
    Assert.NotEqual<float32[]>(prior.Layers[0].VWeight.ToArray(), prior.Layers[1].VWeight.ToArray())

let private names (p: PixelCnnPrior) = Tree.Leaves p |> Seq.map (fun l -> l.Name) |> List.ofSeq

let private layerNames i extra =
    [ for s in [ "v_conv.weight"; "v_conv.bias"; "h_conv.weight"; "h_conv.bias"; "v_to_h.weight"; "v_to_h.bias"; "h_out.weight"; "h_out.bias" ] @ extra ->
        $"layers.{i}.{s}" ]

[<Fact>]
let ``a prior's leaves carry PyTorch's state_dict names, in order, and only the conditioning its config asks for`` () =
    let plain = PriorModel.Init(PriorConfig(6, 3, 3, 4, 2), Rng.Seed 1L)
    Assert.Equal<string list>(
        [ "embedding.weight" ] @ layerNames 0 [] @ layerNames 1 [] @ [ "out.0.weight"; "out.0.bias"; "out.2.weight"; "out.2.bias" ],
        names plain)
    Assert.True(isNull plain.CondEmbedding && isNull plain.Layers[0].ClassEmbedding && isNull plain.Layers[0].CondWeight)
    let both = PriorModel.Init(PriorConfig(6, 3, 3, 4, 2, Classes = 2, ConditionCodes = 3, ConditionHeight = 3, ConditionWidth = 3), Rng.Seed 1L)
    Assert.Equal<string list>(
        [ "embedding.weight" ] @ layerNames 0 [ "class_cond.weight"; "cond_conv.weight" ] @ layerNames 1 [ "class_cond.weight"; "cond_conv.weight" ]
        @ [ "cond_embedding.weight"; "out.0.weight"; "out.0.bias"; "out.2.weight"; "out.2.bias" ],
        names both)
    // Unflatten reads them back in that order.
    let again = Tree.FromLeaves(both, Tree.Leaves both |> Seq.map (fun l -> l.Value) |> Array.ofSeq)
    for a, b in Seq.zip (Tree.Leaves both) (Tree.Leaves again) do Assert.Same(a.Value, b.Value)

[<Fact>]
let ``flattening and unflattening a prior or a layer refuse a null writer or reader by name`` () =
    let prior = PriorModel.Init(PriorConfig(6, 3, 3, 4, 1), Rng.Seed 1L)
    Assert.Equal("writer", nullArgumentOf (fun () -> prior.Flatten(Unchecked.defaultof<TreeWriter>)))
    Assert.Equal("reader", nullArgumentOf (fun () -> prior.Unflatten(Unchecked.defaultof<TreeReader>)))
    Assert.Equal("writer", nullArgumentOf (fun () -> prior.Layers[0].Flatten(Unchecked.defaultof<TreeWriter>)))
    Assert.Equal("reader", nullArgumentOf (fun () -> prior.Layers[0].Unflatten(Unchecked.defaultof<TreeReader>)))
    Assert.Equal("config", nullArgumentOf (fun () -> PriorModel.Init(Unchecked.defaultof<PriorConfig>, Rng.Seed 1L)))
    // Init validates the config first: an even kernel is refused in words, not built with no centre tap.
    refusedAs<ArgumentException> "Kernel" "prior config: Kernel must be odd (a centre tap), got 4." (fun () -> PriorModel.Init(PriorConfig(5, 2, 3, 2, 2, 4), Rng.Seed 1L)) |> ignore

// ---------------------------------------------------------------------------------------------------------------
// Refusals of the forward pass

[<Fact>]
let ``the forward pass refuses codes, an embedded grid, labels and a condition grid that do not fit, by name and wording`` () =
    let prior = PriorModel.Init(PriorConfig(6, 2, 3, 4, 1), Rng.Seed 1L)
    let refused name text f = refusedAs<ArgumentException> name text f |> ignore
    let outOfRange name text f = refusedAs<ArgumentOutOfRangeException> name text f |> ignore
    refused "codes" "prior: the code grid is 2×4, the prior was made for 2×3." (fun () -> PriorModel.Logits(prior, CodeIndices.Of(Array.zeroCreate 8, 1, 2, 4)))
    refused "codes" "prior: the code grid is 3×3, the prior was made for 2×3." (fun () -> PriorModel.Logits(prior, CodeIndices.Of(Array.zeroCreate 9, 1, 3, 3)))
    outOfRange "codes" "prior: a code is 6, outside the prior's [0, 5]." (fun () -> PriorModel.Logits(prior, CodeIndices.Of([| 0; 1; 2; 3; 4; 6 |], 1, 2, 3)))
    PriorModel.Logits(prior, CodeIndices.Of([| 0; 1; 2; 3; 4; 5 |], 1, 2, 3)) |> ignore   // K − 1 is a code
    refused "x" "prior: the embedded grid must be [B,4,H,W], got [1,3,2,3]." (fun () -> PriorModel.LogitsOfEmbedded(prior, Tensor.Zeros(1, 3, 2, 3)))
    refused "x" "prior: the embedded grid must be [B,4,H,W], got [4,2,3]." (fun () -> PriorModel.LogitsOfEmbedded(prior, Tensor.Zeros(4, 2, 3)))
    let classes = PriorModel.Init(PriorConfig(6, 2, 3, 4, 1, Classes = 3), Rng.Seed 1L)
    let codes2 = CodeIndices.Of(Array.zeroCreate 12, 2, 2, 3)
    refused "condition" "prior: this prior is class-conditional (3 classes); pass labels in the condition." (fun () -> PriorModel.Logits(classes, codes2))
    refused "condition" "prior: expected 2 labels (one per sample), got 1." (fun () -> PriorModel.Logits(classes, codes2, PriorCondition([| 0 |])))
    outOfRange "condition" "prior: labels[1] = 3 is outside [0, 2]." (fun () -> PriorModel.Logits(classes, codes2, PriorCondition([| 2; 3 |])))
    outOfRange "condition" "prior: labels[0] = -1 is outside [0, 2]." (fun () -> PriorModel.Logits(classes, codes2, PriorCondition([| -1; 0 |])))
    PriorModel.Logits(classes, codes2, PriorCondition([| 2; 0 |])) |> ignore
    let gridded = PriorModel.Init(PriorConfig(6, 2, 3, 4, 1, ConditionCodes = 4, ConditionHeight = 1, ConditionWidth = 3), Rng.Seed 1L)
    let cond (v: int[]) b h w = PriorCondition(Codes = CodeIndices.Of(v, b, h, w))
    refused "condition" "prior: this prior is conditioned on a 1×3 code grid; pass Codes in the condition." (fun () -> PriorModel.Logits(gridded, codes2, PriorCondition([| 0; 0 |])))
    refused "condition" "prior: the condition grid must be [2,1,3], got [1,1,3]." (fun () -> PriorModel.Logits(gridded, codes2, cond (Array.zeroCreate 3) 1 1 3))
    refused "condition" "prior: the condition grid must be [2,1,3], got [2,2,3]." (fun () -> PriorModel.Logits(gridded, codes2, cond (Array.zeroCreate 12) 2 2 3))
    refused "condition" "prior: the condition grid must be [2,1,3], got [2,1,1]." (fun () -> PriorModel.Logits(gridded, codes2, cond (Array.zeroCreate 2) 2 1 1))
    outOfRange "condition" "prior: a condition code is 4, outside [0, 3]." (fun () -> PriorModel.Logits(gridded, codes2, cond [| 0; 1; 2; 3; 4; 0 |] 2 1 3))
    PriorModel.Logits(gridded, codes2, cond [| 0; 1; 2; 3; 3; 0 |] 2 1 3) |> ignore

// ---------------------------------------------------------------------------------------------------------------
// Prior files

let private writeFile (path: string) (entries: SafeTensorEntry seq) (meta: (string * string) list) =
    SafeTensors.Write(path, Array.ofSeq entries, Dictionary<string, string>(dict meta))

let private entriesOf (p: PixelCnnPrior) =
    Tree.Leaves p |> Seq.map (fun l -> SafeTensorEntry(l.Name, l.Value.Shape, l.Value.ToArray())) |> List.ofSeq

let private problem (path: string) =
    (Assert.Throws<VqVae.Functional.Checkpoints.CheckpointException>(fun () -> PriorCheckpoint.Load path |> ignore)).Problem

[<Fact>]
let ``a prior file records its format and version; one without a VQ-VAE note loads with an empty note`` () =
    let prior = PriorModel.Init(PriorConfig(6, 2, 3, 4, 1), Rng.Seed 1L)
    let path = Scratch.path "prior.safetensors"
    PriorCheckpoint.Save(path, prior)
    let meta = (SafeTensors.Read path).Metadata
    Assert.Equal("vqvae-functional-prior", meta["format"])
    Assert.Equal("1", meta["format_version"])
    Assert.Equal("", meta["vqvae"])
    Assert.Equal(prior.Config, PriorConfig.FromJson meta["prior_config"])
    let bare = Scratch.path "bare.safetensors"
    writeFile bare (entriesOf prior) [ "prior_config", prior.Config.ToJson() ]
    let loaded = PriorCheckpoint.Load bare
    Assert.Equal("", loaded.VqVae)
    Assert.Equal<float32[]>(prior.Out2Bias.ToArray(), loaded.Prior.Out2Bias.ToArray())
    Assert.Equal("vqvae", nullArgumentOf (fun () -> PriorCheckpoint.Save(path, prior, Unchecked.defaultof<string>)))
    Assert.Equal("prior", nullArgumentOf (fun () -> PriorCheckpoint.Save(path, Unchecked.defaultof<PixelCnnPrior>)))

[<Fact>]
let ``a prior file that is not a prior, lacks a parameter, misshapes one or holds one too many is refused saying which`` () =
    let prior = PriorModel.Init(PriorConfig(6, 2, 3, 4, 1), Rng.Seed 1L)
    let json = prior.Config.ToJson()
    let all = entriesOf prior
    let notPrior = Scratch.path "model.safetensors"
    writeFile notPrior all [ "format", "something-else" ]
    Assert.Equal("is not a prior checkpoint (no 'prior_config' in its metadata; a VQ-VAE model file goes to --model).", problem notPrior)
    let lacking = Scratch.path "lacking.safetensors"
    writeFile lacking (all |> List.filter (fun e -> e.Name <> "layers.0.h_out.bias")) [ "prior_config", json ]
    Assert.Equal("lacks the parameter 'layers.0.h_out.bias' its config needs.", problem lacking)
    let misshapen = Scratch.path "misshapen.safetensors"
    writeFile misshapen (all |> List.map (fun e -> if e.Name = "out.2.bias" then SafeTensorEntry(e.Name, [| 2; 3 |], e.Data) else e)) [ "prior_config", json ]
    Assert.Equal("parameter 'out.2.bias' has shape [2,3], its config needs [6].", problem misshapen)
    let extra = Scratch.path "extra.safetensors"
    writeFile extra (all @ [ SafeTensorEntry("stray", [| 1 |], [| 0f |]) ]) [ "prior_config", json ]
    Assert.Equal("has tensors its config does not use: stray.", problem extra)
    let many = Scratch.path "many.safetensors"
    writeFile many (all @ [ for i in 1 .. 7 -> SafeTensorEntry($"stray{i}", [| 1 |], [| 0f |]) ]) [ "prior_config", json ]
    Assert.Equal("has tensors its config does not use: stray1, stray2, stray3, stray4, stray5.", problem many)
