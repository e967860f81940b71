/// Shared pieces for the model, quantizer, loss and routing tests: random small configs, models
/// and batches (FsCheck generators), gradient-tree helpers and fixture loading.
module VqVae.Functional.Tests.ModelGenerators

open System
open System.IO
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Tensors.IO

open VqVae.Functional.Layers
open VqVae.Functional.Losses
open VqVae.Functional.Model
open VqVae.Functional.Quantization
open VqVae.Functional.Routing
open VqVae.Tensors.Tests.Properties
/// A small random test case: config, model seed, batch and data seed.
type ModelCase =
    { Config: VqVaeConfig
      ModelSeed: int64
      Batch: int
      Size: int
      DataSeed: int64 }
    override c.ToString() =
        sprintf "%A h=%d K=%d D=%d β=%g %A %A seed=%d batch=%d×%d×%d data=%d"
            c.Config.Architecture c.Config.Hidden c.Config.CodebookSize c.Config.CodeDim c.Config.Beta
            c.Config.Reconstruction c.Config.Quantizer c.ModelSeed c.Batch c.Size c.Size c.DataSeed

/// β values away from 1, so that β on the wrong term changes the numbers.
let genBeta =
    Gen.oneof [ Gen.choose (5, 90) |> Gen.map (fun i -> float32 i / 100.0f)
                Gen.choose (110, 300) |> Gen.map (fun i -> float32 i / 100.0f) ]

/// Tiny configs of every architecture (hidden 4–8, K 4–16, D 2–4).
let genConfig (quantizer: QuantizerKind) =
    gen {
        let! arch = Gen.elements [ Architecture.Reference; Architecture.Compact; Architecture.Residual ]
        let! hidden = Gen.choose (4, 8)
        let! k = Gen.choose (4, 16)
        let! d = Gen.choose (2, 4)
        let! beta = genBeta
        let! recon =
            if arch = Architecture.Reference then Gen.elements [ ReconstructionLoss.Mse; ReconstructionLoss.Bce; ReconstructionLoss.MseOverVariance ]
            else Gen.elements [ ReconstructionLoss.Mse; ReconstructionLoss.MseOverVariance ]
        return
            VqVaeConfig(1, hidden, k, d, beta, recon, quantizer,
                        ResidualLayers = (if arch = Architecture.Residual then 1 else 0),
                        Architecture = arch, ResidualHidden = (if arch = Architecture.Residual then 3 else 0))
    }

let genCaseWith quantizer =
    gen {
        let! cfg = genConfig quantizer
        let! seed = Gen.choose (0, 1_000_000)
        let! batch = Gen.choose (1, 3)
        let! size = Gen.elements [ 8; 12 ]
        let! data = Gen.choose (0, 1_000_000)
        return { Config = cfg; ModelSeed = int64 seed; Batch = batch; Size = size; DataSeed = int64 data }
    }

let genCase = genCaseWith QuantizerKind.Straight
let arbCase = Arb.fromGen genCase
let arbEmaCase = Arb.fromGen (genCaseWith QuantizerKind.Ema)

let modelOf (c: ModelCase) = VqVaeModel.Init(c.Config, Rng.Seed c.ModelSeed)
let batchOf (c: ModelCase) = Tensor.Uniform(Rng.Seed c.DataSeed, 0.0f, 1.0f, c.Batch, c.Config.Channels, c.Size, c.Size)

/// The model generators as FsCheck Arbitrary instances, registered for every property of this
/// assembly: a property takes a `ModelCase` (straight-through quantizer) by type; `EmaCases` and
/// `AnyCases` are for a property's own Arbitrary list.
type Arbs =
    static member Case() = arbCase

type EmaCases = static member Case() = arbEmaCase
type AnyCases = static member Case() = Arb.fromGen (Gen.oneof [ genCaseWith QuantizerKind.Straight; genCaseWith QuantizerKind.Ema ])

[<assembly: FsCheck.Xunit.Properties(Arbitrary = [| typeof<Arbs> |])>]
do ()

/// Runs an FsCheck property directly; throws on the first counterexample. For teeth tests, which
/// assert that a property FAILS on broken code (property tests themselves are [<PropertyTest>]s).
let check maxTest (prop: Property) = Check.One(Config.QuickThrowOnFailure.WithMaxTest maxTest, prop)

/// True when the property fails (the FsCheck run throws): used to show a property has teeth.
let fails maxTest (prop: Property) =
    try check maxTest prop; false
    with _ -> true

// ------------------------------------------------------------------ gradient trees

/// (name, group, gradient or None) for every leaf of the gradients of a model.
let gradLeaves (model: VqVaeModel) (grads: Gradients<VqVaeModel>) =
    let groups = model.Groups()
    grads
    |> Seq.mapi (fun i l -> let struct (n, g) = groups[i] in n, g, Option.ofObj l.Gradient)
    |> List.ofSeq

let gradOf (f: VqVaeModel -> Tensor) (model: VqVaeModel) = snd (Grad.ValueAndGrad(Func<_, _> f, model).ToTuple())

/// The tensor, or a failure naming what had no gradient.
let nonNull what (t: Tensor | null) : Tensor =
    match t with
    | null -> failwithf "%s: no gradient (null)" what
    | t -> t

let maxAbs (a: float32[]) = if a.Length = 0 then 0.0 else a |> Array.map (fun v -> abs (float v)) |> Array.max

let maxAbsDiff (a: float32[]) (b: float32[]) =
    if a.Length <> b.Length then infinity
    else Array.fold2 (fun m (x: float32) (y: float32) -> max m (abs (float x - float y))) 0.0 a b

/// |a − b| ≤ rel·max(|a|, |b|) + abs elementwise-maximum, and equal lengths.
let closeArrays rel absTol (a: float32[]) (b: float32[]) =
    a.Length = b.Length && maxAbsDiff a b <= rel * max (maxAbs a) (maxAbs b) + absTol

// ------------------------------------------------------------------ fixtures

let fixturePath name = Path.Combine(AppContext.BaseDirectory, "fixtures", name)
let loadFixture name = SafeTensors.Read(fixturePath name)
let tensorOf (f: SafeTensorsFile) (name: string) = let e = f[name] in Tensor.FromArray(e.Data, e.Shape)
