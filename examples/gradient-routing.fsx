// Which loss term sends gradient to which part of a VQ-VAE: print the routing matrix and check
// each row as a sentence (DESIGN §4 and §8). Exits with code 1 if a check fails.
//
// Build once, from the repository root:   dotnet build -c Release
// Then run:                                dotnet fsi examples/gradient-routing.fsx
#load "references.fsx"

open VqVae.FSharp

let cfg = VqVaeConfig.small                      // the reference architecture at test size
let model = VqVae.init cfg (Rng.seed 7)
let x = Dataset.synthetic 8 (Rng.seed 8) |> Dataset.toTensor

printfn "%O" (Routing.matrix x model)

let expected =
    [ "recon",      LossTerms.recon,      { Encoder = true;  Codebook = false; Decoder = true }
      "codebook",   LossTerms.codebook,   { Encoder = false; Codebook = true;  Decoder = false }
      "commitment", LossTerms.commitment, { Encoder = true;  Codebook = false; Decoder = false }
      "total",      LossTerms.total,      { Encoder = true;  Codebook = true;  Decoder = true } ]

let failures =
    [ for name, term, want in expected do
        let got = Grad.reach (VqVae.lossTerms x >> term) model
        printfn "%-10s reaches %A  %s" name got (if got = want then "ok" else $"EXPECTED %A{want}")
        if got <> want then name ]

// The straight-through estimator: the recon gradient reaches the encoder although argmin has none.
let _, grads = Grad.valueAndGrad (VqVae.lossTerms x >> LossTerms.recon) model
printfn "recon gradient of the codebook: %s" (match Grad.tryGrad "vq.embedding.weight" grads with None -> "none (as it should be)" | Some _ -> "PRESENT")

if not failures.IsEmpty || (Grad.tryGrad "vq.embedding.weight" grads).IsSome then
    eprintfn "routing checks failed: %A" failures
    exit 1
printfn "all routing checks hold"
