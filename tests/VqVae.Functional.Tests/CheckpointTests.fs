module VqVae.Functional.Tests.CheckpointTests

open System
open System.IO
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.Tests.OnBackends
open VqVae.Tensors.IO
open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Functional.Checkpoints
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests

let private tempDir () = Scratch.dir "ckpt"

let private bits (t: Tensor | null) =
    match t with
    | null -> failwith "null leaf"
    | t -> t.ToArray() |> Array.map BitConverter.SingleToInt32Bits

let private leafBits (m: VqVaeModel) = Tree.Leaves m |> Seq.map (fun l -> l.Name, l.Value.Shape, bits l.Value) |> List.ofSeq

let private termBits (m: VqVaeModel) x =
    let t = VqVaeModel.LossTerms(m, x)
    [ t.Recon; t.Codebook; t.Commitment; t.Total ] |> List.map bits, t.Perplexity

let private expectError (path: string) (fragments: string list) (f: unit -> 'a) =
    let e = Assert.Throws<CheckpointException>(fun () -> f () |> ignore)
    Assert.Contains(path, e.Message)
    for fr in fragments do Assert.Contains(fr, e.Message)
    e

let private anyCase = Arb.fromGen (Gen.oneof [ genCaseWith QuantizerKind.Straight; genCaseWith QuantizerKind.Ema ])

/// The fixture's 13 parameters (its other keys are inputs and expected outputs).
let private torchParameters () =
    let f = loadFixture "vqvae_small.safetensors"
    f.Entries |> Seq.filter (fun e -> e.Name.StartsWith "encoder." || e.Name.StartsWith "decoder." || e.Name.StartsWith "vq.") |> Array.ofSeq, f

[<PropertyTest(25)>]
let ``a checkpoint round trip is exact: names, shapes, every bit and the config`` () =
    let dir = tempDir ()
    Prop.forAll anyCase (fun c -> onEveryBackend <| fun () ->
        let model = modelOf c
        let path = Path.Combine(dir, "m.safetensors")
        Checkpoint.Save(path, model)
        let back = Checkpoint.Read path
        Assert.True(back.FromMetadata)
        Assert.Empty(back.Assumptions)
        Assert.Equal(model.Config, back.Model.Config)
        Assert.Equal<(string * int[] * int[]) list>(leafBits model, leafBits back.Model)
        let meta = (SafeTensors.Read path).Metadata
        Assert.Equal("1", meta["format_version"]))

[<PropertyTest(15)>]
let ``a saved-then-loaded model gives identical loss terms`` () =
    let dir = tempDir ()
    Prop.forAll anyCase (fun c -> onEveryBackend <| fun () ->
        let model, x = modelOf c, batchOf c
        let path = Path.Combine(dir, "m.safetensors")
        Checkpoint.Save(path, model)
        Assert.Equal(termBits model x, termBits (Checkpoint.Load path) x))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a PyTorch state_dict without metadata loads with the architecture inferred and the guesses listed`` (backend: string) = onBackend backend <| fun () ->
    let dir = tempDir ()
    let entries, fixture = torchParameters ()
    let path = Path.Combine(dir, "torch.safetensors")
    SafeTensors.Write(path, entries)
    let loaded = Checkpoint.Read path
    let c = loaded.Model.Config
    Assert.False(loaded.FromMetadata)
    Assert.Equal((1, 8, 16, 4, Architecture.Reference, QuantizerKind.Straight, "small", 0.25f),
                 (c.Channels, c.Hidden, c.CodebookSize, c.CodeDim, c.Architecture, c.Quantizer, c.Preset, c.Beta))
    Assert.Contains(loaded.Assumptions, fun a -> a.StartsWith "beta")
    for e in entries do
        Assert.Equal<int[]>(e.Data |> Array.map BitConverter.SingleToInt32Bits, bits (loaded.Model.ToStateDict()[e.Name]))
    // With the fixture's β the loaded model reproduces PyTorch's total loss.
    let m = Checkpoint.Load(path, beta = 0.37f)
    let total = VqVaeModel.LossTerms(m, tensorOf fixture "x").Total.ToScalar()
    let expected = (tensorOf fixture "loss/total").ToScalar()
    Assert.True(abs (total - expected) <= 1e-5f * abs expected, $"total {total} vs PyTorch {expected}")

[<PropertyTest(25)>]
let ``inference recovers every architecture, size and the EMA buffers from names and shapes alone`` () =
    let dir = tempDir ()
    Prop.forAll anyCase (fun c -> onEveryBackend <| fun () ->
        let model = modelOf c
        let path = Path.Combine(dir, "bare.safetensors")
        SafeTensors.Write(path, [ for kv in model.ToStateDict() -> SafeTensorEntry(kv.Key, kv.Value.Shape, kv.Value.ToArray()) ])
        let back = (Checkpoint.Read path).Model
        let shape (k: VqVaeConfig) = k.Channels, k.Hidden, k.CodebookSize, k.CodeDim, k.Architecture, k.Quantizer, k.ResidualLayers, k.ResidualChannels
        Assert.Equal(shape model.Config, shape back.Config)
        Assert.Equal<(string * int[] * int[]) list>(leafBits model, leafBits back))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``a missing key, an extra key or a wrong shape is named in a CheckpointException`` (backend: string) = onBackend backend <| fun () ->
    let dir = tempDir ()
    let model = VqVaeModel.Init(VqVaeConfig.Small.With(quantizer = QuantizerKind.Ema), Rng.Seed 1L)
    let good = Path.Combine(dir, "good.safetensors")
    Checkpoint.Save(good, model)
    let file = SafeTensors.Read good
    let rewrite name (entries: SafeTensorEntry seq) =
        let p = Path.Combine(dir, name)
        SafeTensors.Write(p, Array.ofSeq entries, file.Metadata)
        p
    let missing = rewrite "missing.safetensors" (file.Entries |> Seq.filter (fun e -> e.Name <> "decoder.2.bias"))
    expectError missing [ "missing"; "'decoder.2.bias'" ] (fun () -> Checkpoint.Load missing) |> ignore
    let noEma = rewrite "noema.safetensors" (file.Entries |> Seq.filter (fun e -> e.Name <> "vq.ema_w"))
    expectError noEma [ "'vq.ema_w'" ] (fun () -> Checkpoint.Load noEma) |> ignore
    let extra = rewrite "extra.safetensors" (Seq.append file.Entries [ SafeTensorEntry("x", [| 1 |], [| 0f |]) ])
    expectError extra [ "unexpected"; "'x'" ] (fun () -> Checkpoint.Load extra) |> ignore
    let wrong =
        rewrite "wrong.safetensors"
            (file.Entries |> Seq.map (fun e -> if e.Name = "vq.embedding.weight" then SafeTensorEntry(e.Name, [| 4; 16 |], e.Data) else e))
    expectError wrong [ "'vq.embedding.weight'"; "[16,4]"; "[4,16]" ] (fun () -> Checkpoint.Load wrong) |> ignore
    // The fixture holds inputs and expected outputs beside the parameters: a strict load names them.
    let fixture = fixturePath "vqvae_small.safetensors"
    expectError fixture [ "unexpected"; "'x'" ] (fun () -> Checkpoint.Load fixture) |> ignore
    let lenient = Checkpoint.Load(fixture, strict = false)
    Assert.Equal(0.37f, lenient.Config.Beta)
    let badConfig = Path.Combine(dir, "badconfig.safetensors")
    SafeTensors.Write(badConfig, Array.ofSeq file.Entries, readOnlyDict [ "config", """{"channels": "one"}""" ])
    expectError badConfig [ "'channels'" ] (fun () -> Checkpoint.Load badConfig) |> ignore
    let future = Path.Combine(dir, "future.safetensors")
    SafeTensors.Write(future, Array.ofSeq file.Entries, readOnlyDict [ "format_version", "2"; "config", file.Metadata["config"] ])
    expectError future [ "format version" ] (fun () -> Checkpoint.Load future) |> ignore

[<PropertyTest(200)>]
let ``truncated or corrupt files give a CheckpointException naming the file, never another error`` () =
    let dir = tempDir ()
    let good = Path.Combine(dir, "good.safetensors")
    Checkpoint.Save(good, VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 2L))
    let bytes = File.ReadAllBytes good
    expectError (Path.Combine(dir, "none.safetensors")) [ "does not exist" ] (fun () -> Checkpoint.Load(Path.Combine(dir, "none.safetensors"))) |> ignore
    let path = Path.Combine(dir, "bad.safetensors")
    let gen =
        Gen.oneof [ Gen.choose (0, bytes.Length - 1) |> Gen.map (fun n -> Array.take n bytes)
                    Gen.zip (Gen.choose (0, 300)) (Gen.choose (0, 255)) |> Gen.map (fun (i, b) -> Array.updateAt i (byte b) bytes) ]
    Prop.forAll (Arb.fromGen gen) (fun data -> onEveryBackend <| fun () ->
        File.WriteAllBytes(path, data)
        try
            // A flipped byte inside the tensor data is a valid file with other numbers: it may load.
            Checkpoint.Load path |> ignore
            Assert.Equal(bytes.Length, data.Length)
        with :? CheckpointException as e -> Assert.Contains(path, e.Message))

[<Theory; MemberData("All", MemberType = typeof<Backends>)>]
let ``TryLoad returns the model or the error without throwing`` (backend: string) = onBackend backend <| fun () ->
    let dir = tempDir ()
    let good = Path.Combine(dir, "good.safetensors")
    Checkpoint.Save(good, VqVaeModel.Init(VqVaeConfig.Small, Rng.Seed 2L))
    let ok, model, err = Checkpoint.TryLoad good
    Assert.True(ok && not (isNull model) && isNull err)
    let ok, model, err = Checkpoint.TryLoad(Path.Combine(dir, "none.safetensors"))
    Assert.False(ok)
    Assert.Null(model)
    Assert.Contains("none.safetensors", (match err with null -> "" | e -> e.Message))
