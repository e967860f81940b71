/// Random small VQ-VAE-2 configs, models and batches for the hierarchical model's properties.
module VqVae.Functional.Tests.VqVae2Generators

open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Functional.Model
open VqVae.Functional.Hierarchical
open VqVae.Functional.Tests.ModelGenerators

type VqVae2Case =
    { Config: VqVae2Config
      ModelSeed: int64
      Batch: int
      Height: int
      Width: int
      DataSeed: int64 }
    override c.ToString() =
        sprintf "h=%d Kt=%d Kb=%d D=%d res=%d β=%g %A %A seed=%d batch=%d×%d×%d data=%d"
            c.Config.Hidden c.Config.TopCodebookSize c.Config.BottomCodebookSize c.Config.CodeDim c.Config.ResidualLayers
            c.Config.Beta c.Config.Reconstruction c.Config.Quantizer c.ModelSeed c.Batch c.Height c.Width c.DataSeed

/// Tiny configs (hidden 4–8, K 3–8 per level, D 2–3, 0 or 1 residual block).
let genConfig2 (quantizer: QuantizerKind) =
    gen {
        let! hidden = Gen.choose (2, 4) |> Gen.map ((*) 2)
        let! kt = Gen.choose (3, 8)
        let! kb = Gen.choose (3, 8)
        let! d = Gen.choose (2, 3)
        let! res = Gen.choose (0, 1)
        let! beta = genBeta
        let! recon = Gen.elements [ ReconstructionLoss.Mse; ReconstructionLoss.MseOverVariance ]
        return VqVae2Config(1, hidden, kt, kb, d, beta, ResidualLayers = res, ResidualHidden = 2, Reconstruction = recon, Quantizer = quantizer)
    }

/// Sides 8 (grids 2×2 and 1×1), 12 (padded to 16) and 16; batches of 1–2.
let genCase2With quantizer =
    gen {
        let! cfg = genConfig2 quantizer
        let! seed = Gen.choose (0, 1_000_000)
        let! batch = Gen.choose (1, 2)
        let! h = Gen.elements [ 8; 12; 16 ]
        let! w = Gen.elements [ 8; 12 ]
        let! data = Gen.choose (0, 1_000_000)
        return { Config = cfg; ModelSeed = int64 seed; Batch = batch; Height = h; Width = w; DataSeed = int64 data }
    }

let arbCase2 = Arb.fromGen (genCase2With QuantizerKind.Straight)
let arbEmaCase2 = Arb.fromGen (genCase2With QuantizerKind.Ema)

let model2Of (c: VqVae2Case) = VqVae2Model.Init(c.Config, Rng.Seed c.ModelSeed)
let batch2Of (c: VqVae2Case) = Tensor.Uniform(Rng.Seed c.DataSeed, 0.0f, 1.0f, c.Batch, c.Config.Channels, c.Height, c.Width)

/// The generators above as Arbitrary instances for a property's own Arbitrary list.
type VqVae2Cases = static member Case() = arbCase2
type EmaVqVae2Cases = static member Case() = arbEmaCase2
