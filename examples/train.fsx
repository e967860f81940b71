// Train a VQ-VAE on the built-in synthetic digits with a training step composed by hand (DESIGN §5).
//
// Build once, from the repository root:   dotnet build -c Release
// Then run:                                dotnet fsi examples/train.fsx
//
// Writes examples/out/train-reconstructions.png (originals above reconstructions).
#load "references.fsx"

open System.IO
open VqVae.FSharp

VqVae.Tensors.Backend.Threads <- 2

// The reference architecture, narrowed so the script finishes in about a minute on 2 cores.
let cfg = VqVaeConfig.mnist |> VqVaeConfig.withHidden 32 |> VqVaeConfig.withCodebookSize 64 |> VqVaeConfig.withCodeDim 16
let model0 = VqVae.init cfg (Rng.seed 42)
let adam = Adam.create 2e-3f

// The step of DESIGN §5, as written there: loss, gradients of the same shape as the model, Adam.
let step (model, opt) batch =
    let terms, grads = Grad.valueAndGrad (VqVae.lossTerms batch >> LossTerms.total) model
    let model', opt' = Adam.update adam grads opt model
    (model', opt'), terms

let data = Dataset.synthetic 2048 (Rng.seed 1)
let steps = 200

let (model, _), _ =
    data
    |> Dataset.batches 32 (Rng.seed 2)
    |> Seq.take steps
    |> Seq.indexed
    |> Seq.fold (fun (state, _) (i, batch) ->
        let state', loss = step state batch
        if (i + 1) % 25 = 0 then printfn "step %4d  total loss %.4f" (i + 1) (Tensor.toScalar loss)
        state', loss) ((model0, Adam.init adam model0), Tensor.scalar 0.0f)

// Look at the result: 16 digits and their reconstructions.
let x = data |> Dataset.take 16 |> Dataset.toTensor
let terms = VqVae.evalLossTerms x model
printfn "held-in batch: recon %.4f, perplexity %.1f" (LossTerms.recon terms |> Tensor.toScalar) (LossTerms.perplexity terms)
let outDir = Path.Combine(__SOURCE_DIRECTORY__, "out")
Directory.CreateDirectory outDir |> ignore
let png = Path.Combine(outDir, "train-reconstructions.png")
Image.reconstructionGrid 8 x (VqVae.reconstruct model x) |> Image.save png
printfn "wrote %s" png
