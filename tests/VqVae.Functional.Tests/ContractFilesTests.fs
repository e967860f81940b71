/// The file contracts of DESIGN §6 at the library level: batch files (one tensor x, [B,C,H,W], finite),
/// gradients files (term/parameter keys, present exactly where the term reaches), the checkpoint reader's
/// errors for files the system cannot read, and a state dict with a null entry.
module VqVae.Functional.Tests.ContractFilesTests

open System
open System.IO
open System.Collections.Generic
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional.Checkpoints
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Routing
open VqVae.Tensors.Tests.Refusals
open VqVae.Tensors.Tests

let private tiny = ModelTests.tiny

let private inTemp (f: string -> unit) =
    let dir = Scratch.dir "contract"
    try f dir finally Directory.Delete(dir, true)

[<Fact>]
let ``a batch file holds one finite [B,C,H,W] tensor x, and every other file is refused naming the file`` () =
    inTemp <| fun dir ->
        let path = Path.Combine(dir, "b.safetensors")
        let x = Tensor.Uniform(Rng.Seed 1L, 0f, 1f, 2, 1, 4, 4)
        BatchFile.Write(path, x)
        Assert.Equal<float32[]>(x.ToArray(), (BatchFile.Read path).ToArray())
        Assert.Equal<int[]>([| 2; 1; 4; 4 |], (BatchFile.Read path).Shape)
        Assert.Equal("path", nullArgumentOf (fun () -> BatchFile.Write(Unchecked.defaultof<string>, x)))
        refusedNaming "path" [] (fun () -> BatchFile.Write("", x)) |> ignore
        Assert.Equal("x", nullArgumentOf (fun () -> BatchFile.Write(path, Unchecked.defaultof<Tensor>)))
        refusedAs<ArgumentException> "x" "batch file: x must be [B,C,H,W], got [2,16]." (fun () -> BatchFile.Write(path, Tensor.Zeros(2, 16))) |> ignore
        refusedNaming "path" [] (fun () -> BatchFile.Read "") |> ignore
        let refused (entries: SafeTensorEntry list) (text: string) =
            SafeTensors.Write(path, entries)
            let e = Assert.Throws<InvalidDataException>(fun () -> BatchFile.Read path |> ignore)
            Assert.Equal($"batch file {path}{text}", e.Message)
        refused [ SafeTensorEntry("y", [| 1 |], [| 0f |]); SafeTensorEntry("z", [| 1 |], [| 0f |]) ] " has no tensor named 'x' (it has: y, z)."
        refused [ SafeTensorEntry("x", [| 2; 8 |], Array.zeroCreate 16) ] ": 'x' must be [B,C,H,W], got [2,8]."
        refused [ SafeTensorEntry("x", [| 2; 0; 4; 4 |], [||]) ] ": 'x' has shape [2,0,4,4]; B, C, H and W must all be at least 1."
        let data = Array.create 8 0.5f
        data[3] <- nanf
        data[6] <- infinityf
        refused [ SafeTensorEntry("x", [| 2; 1; 2; 2 |], data) ] ": 'x' holds 2 non-finite value(s) (the first, NaN, at index 3); images must be finite."

[<Fact>]
let ``a gradients file has a term/parameter key exactly where the term reaches, and the batch's loss terms`` () =
    let m = VqVaeModel.Init(tiny, Rng.Seed 2L)
    let x = Tensor.Uniform(Rng.Seed 3L, 0f, 1f, 2, 1, 8, 8)
    let struct (entries, terms) = GradientsFile.Compute(m, x)
    let keys = entries |> Seq.map _.Name |> Set.ofSeq
    // The routing contract, key by key: the codebook term reaches only the codebook; commitment only the encoder;
    // reconstruction the encoder (straight-through) and the decoder but not the codebook.
    let has term p = keys.Contains $"{term}/{p}"
    Assert.True(has "codebook" VqVaeModel.CodebookName)
    Assert.False(has "recon" VqVaeModel.CodebookName)
    Assert.False(has "commitment" VqVaeModel.CodebookName)
    Assert.True(has "commitment" "encoder.0.weight")
    Assert.False(has "codebook" "encoder.0.weight")
    Assert.True(has "recon" "encoder.0.weight")
    Assert.True(has "recon" "decoder.0.weight")
    Assert.False(has "commitment" "decoder.0.weight")
    for t in LossTerms.Names do Assert.True(has t "encoder.0.weight" || t = "codebook", t)
    // The terms returned are the batch's, and each gradient is that term's gradient.
    let direct = VqVaeModel.LossTerms(m, x)
    Assert.Equal(direct.Total.ToScalar(), terms.Total.ToScalar())
    let struct (_, g) = Grad.ValueAndGrad(Func<VqVaeModel, Tensor>(fun p -> VqVaeModel.LossTerms(p, x).Term "commitment"), m)
    let fromFile = entries |> Seq.find (fun e -> e.Name = "commitment/encoder.0.weight")
    Assert.Equal<float32[]>((nonNull g["encoder.0.weight"]).ToArray(), fromFile.Data)
    Assert.Equal("model", nullArgumentOf (fun () -> GradientsFile.Compute(Unchecked.defaultof<VqVaeModel>, x)))
    Assert.Equal("x", nullArgumentOf (fun () -> GradientsFile.Compute(m, Unchecked.defaultof<Tensor>)))
    inTemp <| fun dir ->
        let path = Path.Combine(dir, "g.safetensors")
        let written = GradientsFile.Write(path, m, x)
        Assert.Equal(direct.Total.ToScalar(), written.Total.ToScalar())
        let back = SafeTensors.Read path
        Assert.Equal<string list>(entries |> Seq.map _.Name |> List.ofSeq, List.ofSeq back.Names)
        Assert.Equal<float32[]>(fromFile.Data, back["commitment/encoder.0.weight"].Data)
        refusedNaming "path" [] (fun () -> GradientsFile.Write("", m, x)) |> ignore

[<Fact>]
let ``a checkpoint the system cannot read is a checkpoint error naming the file and the reason`` () =
    inTemp <| fun dir ->
        // A folder where a file should be: the system refuses to open it.
        let e = Assert.Throws<CheckpointException>(fun () -> CheckpointFile.Read dir |> ignore)
        Assert.Equal(dir, e.Path)
        Assert.StartsWith("cannot be read (", e.Problem)
        // A name longer than the file system allows: an I/O error.
        let long = Path.Combine(dir, String('n', 300) + ".safetensors")
        let e = Assert.Throws<CheckpointException>(fun () -> CheckpointFile.Read long |> ignore)
        Assert.StartsWith("cannot be read (", e.Problem)
        Assert.IsAssignableFrom<IOException>(e.InnerException) |> ignore
        // A malformed file keeps the reader's own words.
        let bad = Path.Combine(dir, "bad.safetensors")
        File.WriteAllBytes(bad, [| 1uy |])
        let e = Assert.Throws<CheckpointException>(fun () -> CheckpointFile.Read bad |> ignore)
        Assert.Equal("truncated: 1 bytes, fewer than the 8-byte header length.", e.Problem)

[<Fact>]
let ``a state dict entry that is null counts as missing, by name`` () =
    let m = VqVaeModel.Init(tiny, Rng.Seed 4L)
    let d = Dictionary<string, Tensor>(m.ToStateDict())
    d["decoder.2.bias"] <- Unchecked.defaultof<Tensor>
    refusedAs<ArgumentException> "stateDict" "state dict: missing key 'decoder.2.bias'." (fun () -> VqVaeModel.FromStateDict(tiny, d)) |> ignore

[<Fact>]
let ``a state dict's missing and unexpected keys are listed in the message, one or many`` () =
    let ema = tiny.With(quantizer = QuantizerKind.Ema)
    let m = VqVaeModel.Init(ema, Rng.Seed 5L)
    let edit (f: Dictionary<string, Tensor> -> unit) = let d = Dictionary<string, Tensor>(m.ToStateDict()) in f d; d
    let refused text strict (d: Dictionary<string, Tensor>) =
        refusedAs<ArgumentException> "stateDict" text (fun () -> VqVaeModel.FromStateDict(ema, d, strict = strict)) |> ignore
    refused "state dict: missing key 'decoder.2.bias'." true (edit (fun d -> d.Remove "decoder.2.bias" |> ignore))
    refused "state dict: missing keys 'encoder.0.bias', 'decoder.2.bias'." true (edit (fun d -> d.Remove "decoder.2.bias" |> ignore; d.Remove "encoder.0.bias" |> ignore))
    // Without strict, missing EMA buffers alone are allowed; with any other key missing they are listed too.
    refused "state dict: missing keys 'vq.ema_w', 'decoder.2.bias'." false (edit (fun d -> d.Remove "decoder.2.bias" |> ignore; d.Remove "vq.ema_w" |> ignore))
    refused "state dict: unexpected key 'extra' (pass strict: false to ignore)." true (edit (fun d -> d["extra"] <- Tensor.Zeros 1))
    refused "state dict: unexpected keys 'x0', 'x1' (pass strict: false to ignore)." true (edit (fun d -> for i in 0 .. 1 do d[$"x{i}"] <- Tensor.Zeros 1))
    let eleven = String.Join(", ", [ for i in 0 .. 9 -> $"'x{i}'" ])
    refused $"state dict: unexpected keys {eleven}, … (pass strict: false to ignore)." true (edit (fun d -> for i in 0 .. 10 do d[$"x{i}"] <- Tensor.Zeros 1))
    refused $"state dict: unexpected keys {eleven} (pass strict: false to ignore)." true (edit (fun d -> for i in 0 .. 9 do d[$"x{i}"] <- Tensor.Zeros 1))
    Assert.Equal("config", nullArgumentOf (fun () -> VqVaeModel.FromStateDict(Unchecked.defaultof<VqVaeConfig>, m.ToStateDict())))
    Assert.Equal("stateDict", nullArgumentOf (fun () -> VqVaeModel.FromStateDict(ema, Unchecked.defaultof<IReadOnlyDictionary<string, Tensor>>)))

[<Fact>]
let ``a model names a leaf it does not have, replaces only the parts With is given, and refuses a null writer or reader`` () =
    let m = VqVaeModel.Init(tiny, Rng.Seed 6L)
    Assert.Equal(ParameterGroup.Codebook, m.GroupOf VqVaeModel.CodebookName)
    Assert.Equal(ParameterGroup.Decoder, m.GroupOf "decoder.2.bias")
    refusedAs<ArgumentException> "name" "model: no leaf is called 'decoder.9.bias'." (fun () -> m.GroupOf "decoder.9.bias") |> ignore
    Assert.Null(m.Ema)
    let e = EmaState.Init m.Codebook
    let withEma = m.With(ema = e)
    Assert.Same(e, withEma.Ema)
    Assert.Same(e, withEma.With().Ema)
    let e2 = EmaState.Init m.Codebook
    Assert.Same(e2, withEma.With(ema = e2).Ema)                 // a given state replaces the one there
    let cb = Codebook.Init(Rng.Seed 9L, 8, 2)
    Assert.Same(cb, m.With(codebook = cb).Codebook)
    Assert.Same(m.Encoder, withEma.Encoder)
    Assert.Equal("writer", nullArgumentOf (fun () -> m.Flatten(Unchecked.defaultof<TreeWriter>)))
    Assert.Equal("reader", nullArgumentOf (fun () -> m.Unflatten(Unchecked.defaultof<TreeReader>)))

[<Fact>]
let ``images are checked for rank, batch, channels and sides that are positive multiples of 4, naming the argument`` () =
    let c = tiny
    let accepts (x: Tensor) = VqVaeModel.CheckImages(c, x, "x")
    accepts (Tensor.Zeros(1, 1, 4, 4))                    // the smallest sides allowed
    accepts (Tensor.Zeros(2, 1, 8, 12))
    let refused (shape: string) (x: Tensor) =
        refusedAs<ArgumentException> "batch" $"batch must be [B, C=1, H, W] with H and W positive multiples of 4 (e.g. [B, 1, 28, 28]), got {shape}."
            (fun () -> VqVaeModel.CheckImages(c, x, "batch")) |> ignore
    refused "[1,1,28]" (Tensor.Zeros(1, 1, 28))          // rank 3: refused in words, not by an index out of range
    refused "[0,1,4,4]" (Tensor.Zeros(0, 1, 4, 4))
    refused "[1,2,4,4]" (Tensor.Zeros(1, 2, 4, 4))
    refused "[1,1,0,4]" (Tensor.Zeros(1, 1, 0, 4))
    refused "[1,1,4,6]" (Tensor.Zeros(1, 1, 4, 6))
    Assert.Equal("config", nullArgumentOf (fun () -> VqVaeModel.CheckImages(Unchecked.defaultof<VqVaeConfig>, Tensor.Zeros(1, 1, 4, 4), "x")))
    Assert.Equal("pixels", nullArgumentOf (fun () -> VqVaeModel.CheckImages(c, Unchecked.defaultof<Tensor>, "pixels")))
    // A model whose encoder does not give the codebook's D: Encode names the encoder output.
    let m = VqVaeModel.Init(tiny, Rng.Seed 7L)
    let misfit = VqVaeModel(m.Config, m.Encoder, Codebook.Init(Rng.Seed 2L, 8, 3), m.Decoder)
    refusedNaming "encoder output" [] (fun () -> VqVaeModel.Encode(misfit, Tensor.Zeros(1, 1, 8, 8))) |> ignore

[<Fact>]
let ``the input range is applied in one place: no copy without a shift, the shift added in and taken back out`` () =
    let x = Tensor.FromArray([| 0f; 0.25f; 1f; -0f |], 1, 1, 2, 2)
    Assert.Same(x, VqVaeModel.ToModelRange(tiny, x))
    Assert.Same(x, VqVaeModel.ToPixels(tiny, x))
    let shifted = tiny.With(inputShift = -0.5f)
    Assert.Equal<float32[]>([| -0.5f; -0.25f; 0.5f; -0.5f |], (VqVaeModel.ToModelRange(shifted, x)).ToArray())
    Assert.Equal<float32[]>([| 0.5f; 0.75f; 1.5f; 0.5f |], (VqVaeModel.ToPixels(shifted, x)).ToArray())
    Assert.Equal("config", nullArgumentOf (fun () -> VqVaeModel.ToModelRange(Unchecked.defaultof<VqVaeConfig>, x)))
    Assert.Equal("pixels", nullArgumentOf (fun () -> VqVaeModel.ToModelRange(tiny, Unchecked.defaultof<Tensor>)))
    Assert.Equal("config", nullArgumentOf (fun () -> VqVaeModel.ToPixels(Unchecked.defaultof<VqVaeConfig>, x)))
    Assert.Equal("modelValues", nullArgumentOf (fun () -> VqVaeModel.ToPixels(tiny, Unchecked.defaultof<Tensor>)))
