module VqVae.Functional.Tests.ReaderFuzzTests

// Seeded, structure-aware fuzzers for the readers (issue 16.6): each starts from valid files and
// mutates them where the format is fragile (lengths, offsets, shapes, dtypes, JSON keys, IDX sizes,
// gzip bytes), then reads. Every input must either read or raise the reader's documented exception,
// and no input may allocate more than a cap. CI runs a bounded number of inputs per reader; set
// VQVAE_FUZZ_INPUTS=100000 (and optionally VQVAE_FUZZ_SEED) for a full run:
//   VQVAE_FUZZ_INPUTS=100000 dotnet test tests/VqVae.Functional.Tests -c Release --filter ReaderFuzz

open System
open System.IO
open System.IO.Compression
open System.Text
open Xunit
open VqVae.Tensors
open VqVae.Tensors.IO
open VqVae.Functional.Model
open VqVae.Functional.Checkpoints
open VqVae.Data.Datasets
open VqVae.Tensors.Tests

let private inputs =
    match Environment.GetEnvironmentVariable "VQVAE_FUZZ_INPUTS" with
    | null | "" -> 1500
    | s -> int s

let private seed =
    match Environment.GetEnvironmentVariable "VQVAE_FUZZ_SEED" with
    | null | "" -> 20261203
    | s -> int s

/// An input under 1 MB may cost at most this many bytes of allocation (the issue's bound is 1 GB per run).
let private capFor (input: byte[]) = 64L * int64 input.Length + (8L <<< 20)

let private interesting = [| 0uy; 1uy; 0x7Fuy; 0x80uy; 0xFFuy; 0xFEuy; 0x20uy; 0x22uy; 0x2Cuy; 0x3Auy |]

/// A random structure-blind mutation: bit flips, interesting bytes, cut, duplicate or insert a range.
let private mutateBytes (rng: Random) (b: byte[]) =
    let b = Array.copy b
    match rng.Next 6 with
    | 0 when b.Length > 0 ->
        for _ in 1 .. 1 + rng.Next 4 do
            let i = rng.Next b.Length
            b[i] <- b[i] ^^^ (1uy <<< rng.Next 8)
        b
    | 1 when b.Length > 0 ->
        b[rng.Next b.Length] <- interesting[rng.Next interesting.Length]
        b
    | 2 when b.Length > 1 -> b[.. rng.Next(b.Length) - 1]
    | 3 when b.Length > 2 ->
        let i = rng.Next b.Length
        let n = rng.Next(1, min 64 (b.Length - i) + 1)
        Array.concat [ b[.. i + n - 1]; b[i .. i + n - 1]; b[i + n ..] ]
    | 4 ->
        let i = rng.Next(b.Length + 1)
        Array.concat [ b[.. i - 1]; Array.init (1 + rng.Next 16) (fun _ -> byte (rng.Next 256)); b[i ..] ]
    | _ -> b

/// Numbers and keys a hostile header would use.
let private hostileNumbers = [| "0"; "-1"; "4294967296"; "9223372036854775807"; "1e8"; "100000000"; "2147483647"; "1.5"; "null"; "\"7\"" |]

let private safetensorsBytes (header: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes header
    Array.concat [ BitConverter.GetBytes(int64 h.Length); h; data ]

/// Structure-aware: rewrite the JSON header of a safetensors file (numbers, duplicate keys, dtypes, metadata).
let private mutateHeader (rng: Random) (file: byte[]) =
    let len = int (BitConverter.ToInt64(file, 0))
    let header = Encoding.UTF8.GetString(file, 8, len)
    let data = file[8 + len ..]
    let header' =
        match rng.Next 6 with
        | 0 ->
            // Replace one number by a hostile one.
            let digits = [ for i in 0 .. header.Length - 1 do if Char.IsDigit header[i] && (i = 0 || not (Char.IsDigit header[i - 1])) then yield i ]
            if digits.IsEmpty then header
            else
                let i = digits[rng.Next digits.Length]
                let j = Seq.findIndex (fun c -> not (Char.IsDigit c)) (header.Substring i + " ") + i
                header.Substring(0, i) + hostileNumbers[rng.Next hostileNumbers.Length] + header.Substring j
        | 1 -> header.Replace("\"F32\"", [| "\"F64\""; "\"U8\""; "\"BF16\""; "\"X9\""; "1" |][rng.Next 5])
        | 2 -> header.Replace("\"shape\":[", "\"shape\":[0,", StringComparison.Ordinal)
        | 3 -> header.Replace("{\"dtype\"", "{\"dtype\":\"F32\",\"dtype\"", StringComparison.Ordinal)
        | 4 -> header.Replace("\"config\":", "\"config\":\"{}\",\"config\":", StringComparison.Ordinal)
        | _ -> header.Replace("\"hidden\":8", $"\"hidden\":{hostileNumbers[rng.Next hostileNumbers.Length]}", StringComparison.Ordinal)
    safetensorsBytes header' data

let private run (name: string) (seeds: byte[][]) (mutate: Random -> byte[] -> byte[]) (read: byte[] -> unit) (documented: exn -> bool) =
    let rng = Random(seed ^^^ name.GetHashCode(StringComparison.Ordinal))
    let mutable ok, refused = 0, 0
    for i in 1 .. inputs do
        let mutable input = seeds[rng.Next seeds.Length]
        for _ in 1 .. 1 + rng.Next 3 do input <- mutate rng input
        let before = GC.GetAllocatedBytesForCurrentThread()
        try
            read input
            ok <- ok + 1
        with e when documented e -> refused <- refused + 1
           | e ->
               let file = Scratch.path $"fuzz-{name}-{seed}-{i}.bin"
               File.WriteAllBytes(file, input)
               failwith $"{name} input {i} (seed {seed}, saved to {file}) raised {e.GetType().Name}: {e.Message}"
        let cost = GC.GetAllocatedBytesForCurrentThread() - before
        if cost > capFor input then
            let file = Scratch.path $"fuzz-{name}-{seed}-{i}.bin"
            File.WriteAllBytes(file, input)
            failwith $"{name} input {i} ({input.Length} bytes, saved to {file}) allocated {cost} bytes, above the cap {capFor input}"
    // The fuzzer must reach both outcomes, or it is not exercising the reader.
    Assert.True(refused > 0, $"{name}: no input was refused")
    Assert.True(ok > 0 || inputs < 200, $"{name}: no input was read")

let private checkpointSeed () =
    let dir = Scratch.dir "fuzz"
    let path = Path.Combine(dir, "m.safetensors")
    Checkpoint.Save(path, VqVaeModel.Init(VqVaeConfig.Small.With(hidden = 8, codebookSize = 4, codeDim = 2), Rng.Seed 0))
    File.ReadAllBytes path

[<Fact>]
let ``safetensors reader: every mutated file reads or is refused with SafeTensorsFormatException, within the memory cap`` () =
    let seeds =
        [| checkpointSeed ()
           SafeTensors.Encode([| SafeTensorEntry("x", [| 2; 3 |], Array.init 6 float32) |], dict [ "a", "b" ] |> Collections.Generic.Dictionary)
           safetensorsBytes """{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}""" (Array.zeroCreate 8) |]
    let mutate rng b = if (rng: Random).Next 2 = 0 then mutateBytes rng b else (try mutateHeader rng b with _ -> mutateBytes rng b)
    run "safetensors" seeds mutate (fun b -> SafeTensors.Read(b, "fuzz") |> ignore) (fun e -> e :? SafeTensorsFormatException)

[<Fact>]
let ``checkpoint reader: every mutated checkpoint loads or is refused with CheckpointException, within the memory cap`` () =
    let seeds = [| checkpointSeed () |]
    let dir = Scratch.dir "fuzz-ckpt"
    let path = Path.Combine(dir, "m.safetensors")
    let mutate rng b = if (rng: Random).Next 3 = 0 then mutateBytes rng b else (try mutateHeader rng b with _ -> mutateBytes rng b)
    run "checkpoint" seeds mutate (fun b -> File.WriteAllBytes(path, b); Checkpoint.Load path |> ignore) (fun e -> e :? CheckpointException)

let private idx (shape: int[]) (data: byte[]) =
    let head = Array.concat [ [| 0uy; 0uy; 8uy; byte shape.Length |]; shape |> Array.collect (fun d -> BitConverter.GetBytes(d) |> Array.rev) ]
    Array.append head data

let private gzip (b: byte[]) =
    use ms = new MemoryStream()
    (use gz = new GZipStream(ms, CompressionLevel.Fastest) in gz.Write(b, 0, b.Length))
    ms.ToArray()

/// Structure-aware: set one IDX dimension (raw, or inside the gzip body) to a hostile size.
let private mutateIdx (rng: Random) (b: byte[]) =
    let hostile = [| 0; 1; 46340; 600000000; Int32.MaxValue; -1 |]
    let patch (raw: byte[]) =
        let raw = Array.copy raw
        if raw.Length >= 8 then
            let rank = int raw[3]
            let d = rng.Next(max 1 rank)
            let at = 4 + 4 * d
            if at + 4 <= raw.Length then BitConverter.GetBytes(hostile[rng.Next hostile.Length]) |> Array.rev |> Array.iteri (fun k v -> raw[at + k] <- v)
        raw
    if b.Length > 2 && b[0] = 0x1Fuy && b[1] = 0x8Buy then
        match rng.Next 3 with
        | 0 -> (try gzip (patch (Idx.Read(b).Shape |> fun s -> idx s (Array.zeroCreate (Array.fold (*) 1 s)))) with _ -> mutateBytes rng b)
        | _ -> mutateBytes rng b
    else if rng.Next 2 = 0 then patch b
    else mutateBytes rng b

[<Fact>]
let ``IDX reader: every mutated raw or gzipped file reads or is refused with DatasetFormatException, within the memory cap`` () =
    let images = idx [| 3; 4; 4 |] (Array.init 48 byte)
    let labels = idx [| 3 |] [| 1uy; 2uy; 3uy |]
    let seeds = [| images; labels; gzip images; gzip labels |]
    run "idx" seeds mutateIdx (fun b -> Idx.Read(b, "fuzz") |> ignore) (fun e -> e :? DatasetFormatException)

[<Fact>]
let ``the fuzz harness fails on an undocumented exception (teeth)`` () =
    let seeds = [| [| 1uy; 2uy; 3uy |] |]
    let e = Assert.ThrowsAny<exn>(fun () -> run "teeth" seeds mutateBytes (fun _ -> raise (IndexOutOfRangeException "deep inside")) (fun e -> e :? SafeTensorsFormatException))
    Assert.Contains("IndexOutOfRangeException", e.Message)
    let e = Assert.ThrowsAny<exn>(fun () -> run "teeth-memory" seeds mutateBytes (fun _ -> GC.KeepAlive(Array.zeroCreate<byte> (200 <<< 20))) (fun _ -> false))
    Assert.Contains("above the cap", e.Message)
