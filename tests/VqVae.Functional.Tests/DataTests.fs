module VqVae.Functional.Tests.DataTests

open System
open System.IO
open System.IO.Compression
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors
open VqVae.Data.Datasets
open VqVae.Data.Images
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests

let private config n = Config.QuickThrowOnFailure.WithMaxTest(n)

let private tempDir () = Scratch.dir "vqdata"

let private withDir f =
    let dir = tempDir ()
    try f dir finally Directory.Delete(dir, true)

// ---- IDX ----

let be32 (v: int) = [| byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v |]

/// An unsigned-byte IDX file, built by hand from the format description.
let idxBytes (shape: int list) (data: byte[]) =
    Array.concat ([| 0uy; 0uy; 8uy; byte shape.Length |] :: (shape |> List.map be32) @ [ data ])

let gzip (bytes: byte[]) =
    use ms = new MemoryStream()
    (use gz = new GZipStream(ms, CompressionLevel.Fastest)
     gz.Write(bytes, 0, bytes.Length))
    ms.ToArray()

let private expectDataError (fragment: string) (f: unit -> 'a) =
    let e = Assert.Throws<DatasetFormatException>(fun () -> f () |> ignore)
    Assert.Contains(fragment, e.Message)
    e

[<Fact>]
let ``IDX reads shape and bytes, raw and gzipped`` () =
    let data = Array.init (2 * 3 * 4) byte
    for bytes in [ idxBytes [ 2; 3; 4 ] data; gzip (idxBytes [ 2; 3; 4 ] data) ] do
        let a = Idx.Read(bytes, "t")
        Assert.Equal<int[]>([| 2; 3; 4 |], a.Shape)
        Assert.Equal<byte[]>(data, a.Data)
    let labels = Idx.Read(idxBytes [ 3 ] [| 7uy; 0uy; 9uy |])
    Assert.Equal<int[]>([| 3 |], labels.Shape)

[<Fact>]
let ``IDX truncation, bad magic, wrong type and trailing bytes are clear errors`` () =
    let good = idxBytes [ 2; 5 ] (Array.create 10 1uy)
    for cut in 0 .. good.Length - 1 do
        expectDataError "truncated" (fun () -> Idx.Read(good[.. cut - 1], "cut.idx")) |> ignore
    let gz = gzip good
    for cut in 2 .. gz.Length - 1 do
        expectDataError "gzip" (fun () -> Idx.Read(gz[.. cut - 1])) |> ignore
    expectDataError "bad magic number 0x01000801" (fun () -> Idx.Read [| 1uy; 0uy; 8uy; 1uy; 0uy; 0uy; 0uy; 0uy |]) |> ignore
    expectDataError "element type 0x0D" (fun () -> Idx.Read(Array.concat [ [| 0uy; 0uy; 0x0Duy; 1uy |]; be32 0 ])) |> ignore
    expectDataError "2 unexpected bytes" (fun () -> Idx.Read(Array.append good [| 0uy; 0uy |])) |> ignore
    let e = expectDataError "does not exist" (fun () -> Idx.Read "/no/such/file-idx3-ubyte")
    Assert.Contains("/no/such/file-idx3-ubyte", e.Message)

[<Fact>]
let ``MNIST loads from raw or gz files under either spelling, scaled to 0..1`` () =
    withDir (fun dir ->
        let px = Array.init (3 * 28 * 28) (fun i -> byte (i % 256))
        File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte.gz"), gzip (idxBytes [ 3; 28; 28 ] px))
        File.WriteAllBytes(Path.Combine(dir, "train-labels.idx1-ubyte"), idxBytes [ 3 ] [| 5uy; 0uy; 4uy |])
        let d = Mnist.Load(dir, train = true)
        Assert.Equal((3, 1, 28, 28), (d.Count, d.Channels, d.Height, d.Width))
        Assert.Equal<int[]>([| 5; 0; 4 |], d.Labels)
        Assert.Equal(255f / 255f, d.Images[255])
        Assert.Equal(7f / 255f, d.Images[7])
        expectDataError "t10k-images-idx3-ubyte" (fun () -> Mnist.Load(dir, train = false)) |> ignore)

[<Fact>]
let ``MNIST with different image and label counts is an error`` () =
    withDir (fun dir ->
        File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), idxBytes [ 2; 2; 2 ] (Array.zeroCreate 8))
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), idxBytes [ 3 ] [| 1uy; 2uy; 3uy |])
        expectDataError "2 images" (fun () -> Mnist.Load(dir, train = false)) |> ignore
        expectDataError "does not exist" (fun () -> Mnist.Load(Path.Combine(dir, "nope"))) |> ignore)

// ---- PNG folders ----

[<Fact>]
let ``PNG folder: sorted by path, labels from folder or prefix, channels converted`` () =
    withDir (fun dir ->
        Directory.CreateDirectory(Path.Combine(dir, "3")) |> ignore
        Directory.CreateDirectory(Path.Combine(dir, "cats")) |> ignore
        ImageFile.WritePng(Path.Combine(dir, "3", "a.png"), Image(2, 1, 1, [| 10uy; 20uy |]))
        ImageFile.WritePng(Path.Combine(dir, "7_b.png"), Image(2, 1, 3, [| 255uy; 0uy; 0uy; 0uy; 0uy; 255uy |]))
        ImageFile.WritePng(Path.Combine(dir, "0001.png"), Image(2, 1, 1, [| 1uy; 2uy |]))
        ImageFile.WritePng(Path.Combine(dir, "cats", "c.PNG"), Image(2, 1, 4, [| 255uy; 255uy; 255uy; 0uy; 255uy; 255uy; 255uy; 255uy |]))
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "ignored")
        let d = ImageFolder.Load(dir, 1, 1, 2)
        // Ordinal order of relative paths: "0001.png" < "3/a.png" < "7_b.png" < "cats/c.PNG"
        Assert.Equal<int[]>([| -1; 3; 7; -1 |], d.Labels)
        let bytes = d.Images |> Array.map (fun v -> int (MathF.Round(v * 255f)))
        Assert.Equal<int[]>([| 1; 2; 10; 20; 76; 29; 0; 255 |], bytes)
        let rgb = ImageFolder.Load(dir, 3, 1, 2)
        Assert.Equal(4 * 3 * 2, rgb.Images.Length))

[<Fact>]
let ``PNG folder: wrong size, no images, missing folder and broken files are clear errors`` () =
    withDir (fun dir ->
        expectDataError "no image files" (fun () -> ImageFolder.Load(dir, 1, 2, 2)) |> ignore
        ImageFile.WritePng(Path.Combine(dir, "a.png"), Image(2, 2, 1, Array.zeroCreate 4))
        ImageFile.WritePng(Path.Combine(dir, "b.png"), Image(3, 2, 1, Array.zeroCreate 6))
        let e = expectDataError "is 3×2 but the dataset needs 2×2" (fun () -> ImageFolder.Load(dir, 1, 2, 2))
        Assert.Contains("b.png", e.Message)
        File.Delete(Path.Combine(dir, "b.png"))
        File.WriteAllText(Path.Combine(dir, "c.png"), "not a png")
        let pe = Assert.Throws<ImageFormatException>(fun () -> ImageFolder.Load(dir, 1, 2, 2) |> ignore)
        Assert.Contains("c.png", pe.Message)
        expectDataError "does not exist" (fun () -> ImageFolder.Load(Path.Combine(dir, "missing"), 1, 2, 2)) |> ignore)

// ---- Synthetic digits ----

[<Fact>]
let ``synthetic digits are deterministic per seed and differ across seeds`` () =
    let a = SyntheticDigits.Generate(40, Rng.Seed 3)
    let b = SyntheticDigits.Generate(40, Rng.Seed 3)
    let c = SyntheticDigits.Generate(40, Rng.Seed 4)
    Assert.Equal<float32[]>(a.Images, b.Images)
    Assert.NotEqual<float32[]>(a.Images, c.Images)
    Assert.Equal((40, 1, 28, 28), (a.Count, a.Channels, a.Height, a.Width))

[<PropertyTest(20)>]
let ``image i does not depend on how many images are generated`` () =
    Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 30)) (Gen.choose (0, 1000)))) (fun (extra, seed) ->
        let small = SyntheticDigits.Generate(7, Rng.Seed seed)
        let big = SyntheticDigits.Generate(7 + extra, Rng.Seed seed)
        Assert.Equal<float32[]>(small.Images, big.Images[.. small.Images.Length - 1])
        Assert.Equal<int[]>(small.Labels, big.Labels[.. 6]))

[<Fact>]
let ``all ten digits appear, pixels lie in 0..1, and every image has a centred stroke of real ink`` () =
    let d = SyntheticDigits.Generate(200, Rng.Seed 11)
    Assert.Equal<int list>([ 0..9 ], d.Labels[.. 9] |> Array.sort |> List.ofArray)
    Assert.Equal<int list>([ 0..9 ], d.Labels |> Array.distinct |> Array.sort |> List.ofArray)
    Assert.All(d.Images, fun v -> Assert.True(v >= 0f && v <= 1f, $"pixel {v}"))
    for i in 0 .. d.Count - 1 do
        let img = d.ImageAt i
        let ink = Array.sum img
        // MNIST digits carry ~100 pixels' worth of ink; a blank or blotted-out image would not.
        Assert.InRange(ink, 25f, 260f)
        Assert.True(Array.max img > 0.99f, $"image {i} never reaches full ink")
        Assert.True((img |> Array.filter (fun v -> v > 0f && v < 1f)).Length > 10, $"image {i} is not anti-aliased")
        let cx = (Seq.sum (seq { for p in 0..783 -> float32 (p % 28) * img[p] })) / ink
        let cy = (Seq.sum (seq { for p in 0..783 -> float32 (p / 28) * img[p] })) / ink
        Assert.InRange(cx, 10.5f, 17.5f)
        Assert.InRange(cy, 10.5f, 17.5f)

[<Fact>]
let ``digits are told apart by a nearest-class-mean classifier`` () =
    // A crude stand-in for "a person recognises them": classes must be distinct and consistent.
    let train = SyntheticDigits.Generate(1000, Rng.Seed 1)
    let test = SyntheticDigits.Generate(500, Rng.Seed 2)
    let means =
        Array.init 10 (fun k ->
            let idx = [| for i in 0 .. train.Count - 1 do if train.Labels[i] = k then i |]
            Array.init 784 (fun p -> idx |> Array.averageBy (fun i -> train.Images[i * 784 + p])))
    let predict (img: float32[]) =
        means |> Array.mapi (fun k m -> k, Array.fold2 (fun s a b -> s + (a - b) * (a - b)) 0f img m) |> Array.minBy snd |> fst
    let correct = [ for i in 0 .. test.Count - 1 -> if predict (test.ImageAt i) = test.Labels[i] then 1 else 0 ] |> List.sum
    Assert.True(correct >= 350, $"only {correct} of 500 classified correctly")

// ---- Dataset and batches ----

let private genData =
    gen {
        let! n = Gen.choose (1, 60)
        let! b = Gen.choose (1, 17)
        let! seed = Gen.choose (0, 10_000)
        let! epoch = Gen.choose (0, 5)
        let! dropLast = Gen.elements [ false; true ]
        return n, b, seed, epoch, dropLast
    }

/// A dataset whose image i is filled with the value i and labelled i, so batches show their origin.
let private tagged n = Dataset(Array.init (n * 2 * 3) (fun j -> float32 (j / 6)), Array.init n id, n, 2, 1, 3)

[<PropertyTest(200)>]
let ``an epoch visits every index exactly once, in batches of the requested size`` () =
    Prop.forAll (Arb.fromGen genData) (fun (n, b, seed, epoch, dropLast) ->
        let data = tagged n
        let batches = Batches.Epoch(data, b, Rng.Seed seed, epoch, dropLast) |> List.ofSeq
        let seen = batches |> List.collect (fun x -> List.ofArray x.Indices)
        if dropLast then
            Assert.Equal(n / b * b, seen.Length)
            Assert.All(batches, fun x -> Assert.Equal(b, x.Count))
        else
            Assert.Equal<int list>([ 0 .. n - 1 ], List.sort seen)
            Assert.Equal(Batches.PerEpoch(n, b), batches.Length)
            Assert.Equal((if n % b = 0 then b else n % b), (List.last batches).Count)
        Assert.Equal(seen.Length, List.distinct seen |> List.length)
        for x in batches do
            Assert.Equal(x.Count * 6, x.Images.Length)
            Assert.Equal<int[]>(x.Indices, x.Labels)
            Assert.Equal<float32[]>(x.Indices |> Array.collect (fun i -> Array.create 6 (float32 i)), x.Images)
            Assert.Equal(epoch, x.Epoch))

[<Fact>]
let ``shuffles are deterministic per seed and epoch, and differ between epochs`` () =
    let data = tagged 50
    let order seed epoch = Batches.Epoch(data, 8, Rng.Seed seed, epoch) |> Seq.collect _.Indices |> List.ofSeq
    Assert.Equal<int list>(order 5 0, order 5 0)
    Assert.NotEqual<int list>(order 5 0, order 5 1)
    Assert.NotEqual<int list>(order 5 0, order 6 0)
    Assert.NotEqual<int list>([ 0..49 ], order 5 0)
    let stream = Batches.Stream(data, 8, Rng.Seed 5) |> Seq.take 14 |> List.ofSeq
    // 50 images in batches of 8: 7 batches per epoch, so 14 batches are exactly epochs 0 and 1.
    Assert.Equal<int list>(order 5 0 @ order 5 1, stream |> List.collect (fun x -> List.ofArray x.Indices))
    Assert.Equal<int list>([ 0; 0; 0; 0; 0; 0; 0; 1; 1; 1; 1; 1; 1; 1 ], stream |> List.map _.Epoch)
    Assert.Throws<ArgumentException>(fun () -> Batches.Stream(tagged 3, 4, Rng.Seed 0, dropLast = true) |> ignore) |> ignore

[<Fact>]
let ``dataset slicing and selection keep images and labels together; bad shapes are rejected`` () =
    let d = tagged 10
    let s = d.Slice(3, 4)
    Assert.Equal<int[]>([| 3; 4; 5; 6 |], s.Labels)
    Assert.Equal(3f, s.Images[0])
    let p = d.Select [| 9; 0; 9 |]
    Assert.Equal<int[]>([| 9; 0; 9 |], p.Labels)
    Assert.Equal(9f, p.Images[12])
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> d.Slice(8, 3) |> ignore) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> d.Select [| 10 |] |> ignore) |> ignore
    let e = Assert.Throws<ArgumentException>(fun () -> Dataset(Array.zeroCreate 5, Array.zeroCreate 1, 1, 1, 2, 3) |> ignore)
    Assert.Contains("6", e.Message)
