// Embed a trained model in an analysis: encode synthetic digits to code indices and show which
// codes each digit class uses, then decode one image's codes back.
//
// Build once, from the repository root:   dotnet build -c Release
// Then run:    dotnet fsi examples/analysis.fsx [path/to/model.safetensors]
// Without a path it uses runs/latest/model.safetensors (from `vqvae train`) when present, and
// otherwise trains a small model for a minute first.
#load "references.fsx"

open System.IO
open VqVae.FSharp

VqVae.Tensors.Backend.Threads <- 2

let trainSmall () =
    printfn "no checkpoint given: training a small model for 150 steps…"
    let cfg = VqVaeConfig.mnist |> VqVaeConfig.withHidden 32 |> VqVaeConfig.withCodebookSize 64 |> VqVaeConfig.withCodeDim 16
    let adam = Adam.create 2e-3f
    let model0 = VqVae.init cfg (Rng.seed 3)
    Dataset.synthetic 2048 (Rng.seed 4)
    |> Dataset.batches 32 (Rng.seed 5)
    |> Seq.take 150
    |> Seq.fold (fun state x -> VqVae.trainStep adam state x |> fst) (model0, Adam.init adam model0)
    |> fst

let model =
    let arg = fsi.CommandLineArgs |> Array.tryItem 1
    let path = arg |> Option.defaultValue (Path.Combine(__SOURCE_DIRECTORY__, "..", "runs", "latest", "model.safetensors"))
    match arg, File.Exists path with
    | _, true ->
        match Checkpoint.load path with
        | Ok m -> printfn "loaded %s" path; m
        | Error e -> failwith e
    | Some _, false -> failwithf "no such checkpoint: %s" path
    | None, false -> trainSmall ()

// 500 fresh digits (a different seed from training), encoded to [N,7,7] code indices.
let data = Dataset.synthetic 500 (Rng.seed 2024)
let codes = VqVae.encodeToCodes model (Dataset.toTensor data)
let perImage = 7 * 7
let labels = Dataset.labels data |> Array.ofList

printfn "K = %d codes; %d distinct codes used by these %d images" model.Config.CodebookSize (codes.Values |> Seq.distinct |> Seq.length) data.Count
printfn "digit  images  distinct codes  most used codes (share of positions)"
for digit in 0 .. 9 do
    let images = [ for i in 0 .. data.Count - 1 do if labels[i] = digit then i ]
    let used = [ for i in images do for p in 0 .. perImage - 1 -> codes.Values[i * perImage + p] ]
    let top =
        used |> List.countBy id |> List.sortByDescending snd |> List.truncate 5
        |> List.map (fun (code, n) -> sprintf "%d (%.0f%%)" code (100.0 * float n / float used.Length))
        |> String.concat ", "
    printfn "%5d  %6d  %14d  %s" digit images.Length (used |> List.distinct |> List.length) top

// Codes → image: decode the first digit's indices back (the model as a discrete representation).
let first = VqVae.decodeCodes model codes
printfn "decoded %A images from their codes; mean absolute error %.4f"
    (Tensor.shape first) ((first - Dataset.toTensor data) |> abs |> Tensor.mean |> Tensor.toScalar)
