/// The PyTorch module in python/vqvae_torch.py loads our checkpoints strictly (issue 15 item 6):
/// its state_dict names and shapes, per preset and quantizer, are checked in as
/// tests/fixtures/torch_module_state_dict.json (written by tests/fixtures/check_torch_module.py,
/// which also loads real checkpoints into the module and compares loss terms and gradients).
/// Here, without Python: the keys and shapes of a checkpoint we write equal the module's (as sets:
/// load_state_dict matches by name; PyTorch lists a module's own buffers before its children, so
/// it puts vq.cluster_size and vq.ema_w before vq.embedding.weight).
module VqVae.Functional.Tests.TorchModuleTests

open System.IO
open System.Text.Json
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional.Model
open VqVae.Functional.Checkpoints
open VqVae.Functional.Tests.ModelGenerators
open VqVae.Tensors.Tests

/// (config name, [(key, shape)]) from the fixture, in the module's state_dict order.
let private moduleKeys () =
    use doc = JsonDocument.Parse(File.ReadAllText(fixturePath "torch_module_state_dict.json"))
    [ for c in doc.RootElement.GetProperty("configs").EnumerateObject() ->
        c.Name,
        [ for kv in c.Value.EnumerateArray() ->
            (match kv[0].GetString() with null -> failwith "null key" | s -> s),
            [ for d in kv[1].EnumerateArray() -> d.GetInt32() ] ] ]

let private configOf (name: string) =
    match name.Split '+' with
    | [| preset |] -> VqVaeConfig.ByName preset
    | [| preset; "ema" |] -> (VqVaeConfig.ByName preset).With(quantizer = QuantizerKind.Ema)
    | _ -> failwithf "fixture: unknown config name %s" name

/// The (key, shape) list of a checkpoint file as we write it.
let private checkpointKeys (model: VqVaeModel) =
    let path = Scratch.path "vqvae-torchkeys.safetensors"
    try
        Checkpoint.Save(path, model)
        [ for e in (SafeTensors.Read path).Entries -> e.Name, List.ofArray e.Shape ]
    finally File.Delete path

[<Fact>]
let ``our checkpoints have exactly the PyTorch module's state_dict keys and shapes, EMA buffers included`` () =
    let configs = moduleKeys ()
    Assert.Equal<string list>([ "mnist"; "mnist+ema"; "mnistSmall"; "mnistSmall+ema"; "paper"; "paper+ema"; "small"; "small+ema" ], List.map fst configs)
    for name, expected in configs do
        let ours = checkpointKeys (VqVaeModel.Init(configOf name, Rng.Seed 0L))
        // Names first for a readable message, then names with shapes.
        let missing = Set.ofList (List.map fst expected) - Set.ofList (List.map fst ours)
        let unexpected = Set.ofList (List.map fst ours) - Set.ofList (List.map fst expected)
        Assert.True(missing.IsEmpty && unexpected.IsEmpty, $"{name}: missing in ours {missing}, unexpected in ours {unexpected}")
        Assert.Equal<(string * int list) list>(List.sort expected, List.sort ours)
        if name.EndsWith "+ema" then
            Assert.Contains((VqVaeModel.ClusterSizeName, [ (configOf name).CodebookSize ]), ours)
            Assert.Contains((VqVaeModel.EmaWName, [ (configOf name).CodebookSize; (configOf name).CodeDim ]), ours)
