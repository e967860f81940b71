module VqVae.Functional.Tests.CliDataTests

// `train --data mnist:DIR` and `--data png:DIR` on small folders written here: MNIST IDX files
// (images gzipped, labels raw, as the two spellings in the wild come) and a folder of PNGs.

open System
open System.IO
open System.IO.Compression
open Xunit
open VqVae.Data.Datasets
open VqVae.Data.Images
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional.Tests.CliTests

let private bigEndian (n: int) = [| byte (n >>> 24); byte (n >>> 16); byte (n >>> 8); byte n |]

let private digits count = SyntheticDigits.Generate(count, Rng.Seed 11L)

let private toBytes (d: Dataset) = d.Images |> Array.map (fun v -> byte (MathF.Round(v * 255f)))

let private writeMnist dir count =
    let d = digits count
    let images = Array.concat [ bigEndian 0x803; bigEndian count; bigEndian 28; bigEndian 28; toBytes d ]
    use gz = new GZipStream(File.Create(Path.Combine(dir, "train-images-idx3-ubyte.gz")), CompressionLevel.Fastest)
    gz.Write(images, 0, images.Length)
    let labels = Array.concat [ bigEndian 0x801; bigEndian count; d.Labels |> Array.map byte ]
    File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), labels)

let private trainsOn (spec: string) =
    let out = tempDir ()
    let r = vqvae ([ "train"; "--data"; spec; "--steps"; "2"; "--out"; out ] @ tiny)
    Assert.True((r.Code = 0), $"train --data {spec} failed: {r.Err}")
    Assert.Equal(3, File.ReadAllLines(Path.Combine(out, "metrics.csv")).Length)
    let batch = SafeTensors.Read(Path.Combine(out, "batch.safetensors"))
    Assert.Equal<int[]>([| 1; 28; 28 |], batch["x"].Shape[1..])
    out

[<Fact>]
let ``train reads MNIST IDX files from a folder (gzipped images, raw labels)`` () =
    let dir = tempDir ()
    writeMnist dir 24
    let out = trainsOn $"mnist:{dir}"
    // The batch the run saved holds images of the folder: every value is one of the 256 grey levels.
    let saved = SafeTensors.Read(Path.Combine(out, "batch.safetensors"))
    for v in saved["x"].Data do
        Assert.Equal(MathF.Round(v * 255f), v * 255f, 3)
    let r = vqvae [ "reconstruct"; "--model"; Path.Combine(out, "model.safetensors"); "--data"; $"mnist:{dir}"; "--out"; Path.Combine(out, "r.png") ]
    Assert.True((r.Code = 0), r.Err)
    ImageFile.Read(Path.Combine(out, "r.png")) |> ignore

[<Fact>]
let ``train reads a folder of PNG images, labels from class folders (images:DIR, and png:DIR as an alias)`` () =
    let dir = tempDir ()
    let d = digits 20
    for i in 0 .. d.Count - 1 do
        let classDir = Path.Combine(dir, string d.Labels[i])
        Directory.CreateDirectory classDir |> ignore
        ImageFile.WritePng(Path.Combine(classDir, $"img{i:D3}.png"), d.ToImage i)
    trainsOn $"images:{dir}" |> ignore
    trainsOn $"png:{dir}" |> ignore

let private pngHeaderOnly (w: int) (h: int) =
    // A valid header (correct CRC) declaring w×h grey pixels, and no pixels.
    ImageFileTests.png [ ImageFileTests.ihdr w h 8 0 0; ImageFileTests.chunk "IDAT" (ImageFileTests.zlib [| 0uy; 0uy |]) ]

[<Theory>]
[<InlineData("truncated", "truncated")>]
[<InlineData("magic", "not a PNG, JPEG, WebP or BMP file")>]
[<InlineData("huge", "46340×46340 = 2147395600 pixels, above the limit")>]
let ``a malformed image file in the folder is one line naming it, exit code 1`` (kind: string, says: string) =
    let dir = tempDir ()
    let d = digits 4
    for i in 0 .. d.Count - 1 do
        ImageFile.WritePng(Path.Combine(dir, $"a{i}.png"), d.ToImage i)
    let good = ImageFile.EncodePng(d.ToImage 0)
    let bad =
        match kind with
        | "truncated" -> good[.. good.Length / 2]
        | "magic" -> Array.append "JUNK"B good[4..]
        | _ -> pngHeaderOnly 46340 46340
    // Named to sort first, so it is also the file whose header decides the dataset's size.
    let path = Path.Combine(dir, "0-bad.png")
    File.WriteAllBytes(path, bad)
    let r = vqvae ([ "train"; "--data"; $"images:{dir}"; "--steps"; "1"; "--out"; tempDir () ] @ tiny)
    assertOneLineError 1 r
    Assert.Contains(path, r.Err)
    Assert.Contains(says, r.Err)

[<Fact>]
let ``an MNIST folder without the image file is one line and exit code 1`` () =
    let dir = tempDir ()
    let r = vqvae ([ "train"; "--data"; $"mnist:{dir}"; "--steps"; "1"; "--out"; tempDir () ] @ tiny)
    assertOneLineError 1 r
