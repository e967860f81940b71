// From autoencoder to generative model: train a small VQ-VAE briefly, encode the digits to code
// grids, fit a Gated PixelCNN prior over the codes, sample new grids and decode them.
//
// Build once, from the repository root:   dotnet build -c Release
// Then run:                                dotnet fsi examples/generate.fsx
//
// Prints the prior's held-out bits per code beside the uniform and unigram baselines, and writes
// examples/out/generate-samples.png. A few minutes on 2 cores.
// VQVAE_EXAMPLE_QUICK=1 runs the same pipeline much smaller (20 steps each; the test suite does, to check
// that the script runs; its figures mean nothing); VQVAE_EXAMPLE_OUT=DIR writes the picture to DIR.
#load "references.fsx"

open System
open System.IO
open VqVae.FSharp

VqVae.Tensors.Backend.Threads <- 2
let quick = Environment.GetEnvironmentVariable "VQVAE_EXAMPLE_QUICK" = "1"
let size full small = if quick then small else full

// 1. A small VQ-VAE (the reference architecture, narrowed), trained as in train.fsx.
let cfg = VqVaeConfig.mnist |> VqVaeConfig.withHidden 32 |> VqVaeConfig.withCodebookSize 64 |> VqVaeConfig.withCodeDim 16
let adam = Adam.create 2e-3f
// The built-in MNIST digits: 2,560 of the training part, 512 of the held-out part (256 and 64 when quick).
let trainImages, heldOutImages = Dataset.mnistTrain () |> Dataset.take (size 2560 256), Dataset.mnistHeldOut () |> Dataset.take (size 512 64)

let model =
    let model0 = VqVae.init cfg (Rng.seed 42)
    trainImages
    |> Dataset.batches 32 (Rng.seed 2)
    |> Seq.take (size 300 20)
    |> Seq.fold (fun (m, opt) batch ->
        let _, grads = Grad.valueAndGrad (VqVae.lossTerms batch >> LossTerms.total) m
        Adam.update adam grads opt m) (model0, Adam.init adam model0)
    |> fst

// 2. Every digit as a 7×7 grid of code indices.
let trainCodes = Prior.encodeAll model (Dataset.toTensor trainImages)
let heldOutCodes = Prior.encodeAll model (Dataset.toTensor heldOutImages)
printfn "encoded %d + %d digits to %d×%d code grids" trainCodes.Batch heldOutCodes.Batch trainCodes.Height trainCodes.Width

// 3. A Gated PixelCNN over the codes: causal by construction (Prior.reach proves it per position).
let prior =
    PriorConfig.forGrid 64 trainCodes.Height trainCodes.Width
    |> PriorConfig.withChannels 32
    |> fun pc -> Prior.init pc (Rng.seed 3)
    |> Prior.fit (size 400 20) 32 2e-3f 4L (fun step nats -> if step % 100 = 0 then printfn "prior step %d  %.3f bits/code" step (nats / log 2.0)) trainCodes

let e = Prior.evaluate trainCodes heldOutCodes prior
printfn "held-out: prior %.3f bits/code, unigram %.3f, uniform %.3f" e.NllBitsPerCode e.UnigramBitsPerCode e.UniformBitsPerCode

// 4. New code grids in raster order, decoded to digits.
let samples = prior |> Prior.sample 1.0f 0 7L (size 32 4)
let images = VqVae.decodeCodes model samples
let outDir =
    match Environment.GetEnvironmentVariable "VQVAE_EXAMPLE_OUT" with
    | null | "" -> Path.Combine(__SOURCE_DIRECTORY__, "out")
    | dir -> dir
Directory.CreateDirectory outDir |> ignore
let png = Path.Combine(outDir, "generate-samples.png")
Image.atlas 8 images |> Image.save png
printfn "wrote %s" png
