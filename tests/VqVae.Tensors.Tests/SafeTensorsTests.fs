module VqVae.Tensors.Tests.SafeTensorsTests

open System
open System.IO
open System.Text
open Xunit
open FsCheck
open FsCheck.FSharp
open VqVae.Tensors.IO
open VqVae.Tensors.Tests.Properties
open VqVae.Tensors.Tests.Refusals


/// A raw safetensors file from a header string and data bytes (no padding added).
let private rawFile (header: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes header
    Array.concat [ BitConverter.GetBytes(uint64 h.Length); h; data ]

let private floatBits (xs: float32[]) = xs |> Array.map BitConverter.SingleToInt32Bits

let private expectFormatError (fragment: string) (f: unit -> 'a) =
    let e = Assert.Throws<SafeTensorsFormatException>(fun () -> f () |> ignore)
    Assert.Contains(fragment, e.Message)
    e

// Names: printable ASCII, some non-ASCII (incl. a surrogate pair), quotes and backslashes to test escaping.
let private genName =
    let chars = Gen.elements ([ 'a' .. 'z' ] @ [ '.'; '_'; '/'; '"'; '\\'; ' '; 'é'; 'λ'; '中' ])
    Gen.map (fun (cs: char[]) -> String cs) (Gen.arrayOf chars)

let private genEntries =
    gen {
        let! n = Gen.choose (0, 6)
        let! names = Gen.listOfLength n genName
        let! entries =
            names
            |> List.mapi (fun i name ->
                gen {
                    let! rank = Gen.choose (0, 4)
                    let! shape = Gen.arrayOfLength rank (Gen.choose (0, 4))
                    let count = shape |> Array.fold (*) 1
                    // Any 32-bit pattern: NaNs with payloads, infinities, subnormals, -0.
                    let! bits = Gen.arrayOfLength count (Gen.choose (Int32.MinValue, Int32.MaxValue))
                    let! emoji = Gen.elements [ ""; "😀" ]
                    return SafeTensorEntry($"{name}{emoji}#{i}", shape, bits |> Array.map BitConverter.Int32BitsToSingle)
                })
            |> Gen.sequenceToList
        let! meta = Gen.listOf (Gen.zip genName genName)
        return entries, (meta |> List.distinctBy fst |> readOnlyDict)
    }

[<PropertyTest(200)>]
let ``round trip keeps names, order, shapes, metadata and every float bit`` () =
    Prop.forAll (Arb.fromGen genEntries) (fun (entries, meta) ->
        let file = SafeTensors.Read(SafeTensors.Encode(Array.ofList entries, meta))
        Assert.Equal<string list>(entries |> List.map _.Name, file.Entries |> Seq.map _.Name |> List.ofSeq)
        for e in entries do
            let r = file[e.Name]
            Assert.Equal<int[]>(e.Shape, r.Shape)
            Assert.Equal<int[]>(floatBits e.Data, floatBits r.Data)
        Assert.Equal<Collections.Generic.KeyValuePair<string, string> list>(
            meta |> Seq.sortBy _.Key |> List.ofSeq, file.Metadata |> Seq.sortBy _.Key |> List.ofSeq))

[<Fact>]
let ``header is padded to a multiple of 8 and data follows in the given order`` () =
    let a = SafeTensorEntry("b", [| 2 |], [| 1f; 2f |])
    let b = SafeTensorEntry("a", [| 1 |], [| 3f |])
    let bytes = SafeTensors.Encode([| a; b |])
    let n = BitConverter.ToUInt64(bytes, 0) |> int
    Assert.Equal(0, n % 8)
    Assert.Equal(8 + n + 12, bytes.Length)
    Assert.Equal(1f, BitConverter.ToSingle(bytes, 8 + n))
    Assert.Equal(3f, BitConverter.ToSingle(bytes, 8 + n + 8))
    let header = Encoding.UTF8.GetString(bytes, 8, n)
    Assert.True(header.IndexOf("\"b\"") < header.IndexOf("\"a\""), header)
    Assert.Equal<string list>([ "b"; "a" ], SafeTensors.Read(bytes).Names |> List.ofSeq)

[<Fact>]
let ``write is atomic: replaces the file and leaves no temporary files`` () =
    let dir = Directory.CreateTempSubdirectory("st-").FullName
    try
        let path = Path.Combine(dir, "m.safetensors")
        SafeTensors.Write(path, [| SafeTensorEntry("x", [| 1 |], [| 1f |]) |])
        SafeTensors.Write(path, [| SafeTensorEntry("y", [| 2 |], [| 5f; 6f |]) |], readOnlyDict [ "config", "{}" ])
        let f = SafeTensors.Read path
        Assert.Equal<string list>([ "y" ], f.Names |> List.ofSeq)
        Assert.Equal("{}", f.Metadata["config"])
        Assert.Equal<string[]>([| path |], Directory.GetFiles dir)
        use stream = File.OpenRead path
        let fromStream = SafeTensors.Read(stream, path)
        Assert.Equal<float32[]>([| 5f; 6f |], fromStream["y"].Data)
    finally
        Directory.Delete(dir, true)

[<Fact>]
let ``reads other dtypes PyTorch may save, converted to float32`` () =
    let f64 = Array.concat [ BitConverter.GetBytes 1.5; BitConverter.GetBytes -2.0 ]
    let f16 = BitConverter.GetBytes(Half.op_Explicit 0.5f: Half)
    let bf16 = BitConverter.GetBytes(uint16 (BitConverter.SingleToInt32Bits 3.0f >>> 16))
    let i64 = BitConverter.GetBytes -7L
    let i32 = BitConverter.GetBytes 9
    let data = Array.concat [ f64; f16; bf16; i64; i32 ]
    let header =
        """{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[],"data_offsets":[16,18]},"""
        + """"c":{"dtype":"BF16","shape":[1],"data_offsets":[18,20]},"d":{"dtype":"I64","shape":[1,1],"data_offsets":[20,28]},"""
        + """"e":{"dtype":"I32","shape":[1],"data_offsets":[28,32]}}"""
    let f = SafeTensors.Read(rawFile header data)
    Assert.Equal<float32[]>([| 1.5f; -2f |], f["a"].Data)
    Assert.Equal<float32[]>([| 0.5f |], f["b"].Data)
    Assert.Equal<float32[]>([| 3f |], f["c"].Data)
    Assert.Equal<float32[]>([| -7f |], f["d"].Data)
    Assert.Equal<int[]>([| 1; 1 |], f["d"].Shape)
    Assert.Equal<float32[]>([| 9f |], f["e"].Data)

let private eight = Array.zeroCreate<byte> 8

[<Fact>]
let ``a missing file is a format error naming the file`` () =
    let path = Path.Combine(Path.GetTempPath(), "no-such-file-" + string (Guid.NewGuid()) + ".safetensors")
    let e = expectFormatError "does not exist" (fun () -> SafeTensors.Read path)
    Assert.Contains(path, e.Message)

[<Fact>]
let ``corrupt headers are format errors that say what is wrong`` () =
    let ok = """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"""
    SafeTensors.Read(rawFile ok eight) |> ignore
    expectFormatError "fewer than the 8-byte header length" (fun () -> SafeTensors.Read([| 1uy; 2uy |], "tiny.st")) |> ignore
    let beyond = Array.concat [ BitConverter.GetBytes 1000UL; Encoding.UTF8.GetBytes "{}" ]
    expectFormatError "beyond the end of the file" (fun () -> SafeTensors.Read(beyond, "big.st")) |> ignore
    expectFormatError "not valid JSON" (fun () -> SafeTensors.Read(rawFile """{"x":""" eight)) |> ignore
    expectFormatError "not valid UTF-8" (fun () -> SafeTensors.Read(Array.concat [ BitConverter.GetBytes 4UL; [| 34uy; 0xDAuy; 34uy; 32uy |] ])) |> ignore
    expectFormatError "must be a JSON object" (fun () -> SafeTensors.Read(rawFile "[1,2]" [||])) |> ignore
    expectFormatError "unknown dtype 'F8'" (fun () ->
        SafeTensors.Read(rawFile """{"x":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}}""" eight)) |> ignore
    expectFormatError "go beyond the 8 data bytes" (fun () ->
        SafeTensors.Read(rawFile """{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""" eight)) |> ignore
    expectFormatError "needs 12 bytes" (fun () ->
        SafeTensors.Read(rawFile """{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""" eight)) |> ignore
    expectFormatError "overlaps" (fun () ->
        SafeTensors.Read(
            rawFile
                """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"""
                eight)) |> ignore
    expectFormatError "unused bytes" (fun () ->
        SafeTensors.Read(rawFile """{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""" eight)) |> ignore
    expectFormatError "data_offsets" (fun () ->
        SafeTensors.Read(rawFile """{"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""" eight)) |> ignore
    expectFormatError "are not 0 ≤ begin ≤ end" (fun () ->
        SafeTensors.Read(rawFile """{"x":{"dtype":"F32","shape":[2],"data_offsets":["0",8]}}""" eight)) |> ignore
    expectFormatError "shape dimension 0" (fun () ->
        SafeTensors.Read(rawFile """{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}""" eight)) |> ignore
    expectFormatError "must be a string" (fun () -> SafeTensors.Read(rawFile """{"__metadata__":{"a":1}}""" [||])) |> ignore
    let dup = """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"""
    let e = expectFormatError "names 'x' twice" (fun () -> SafeTensors.Read(rawFile dup eight, "dup.st"))
    Assert.Contains("'dup.st'", e.Message)

[<Fact>]
let ``every truncation of a valid file is a format error`` () =
    let bytes =
        SafeTensors.Encode([| SafeTensorEntry("w", [| 3; 2 |], Array.init 6 float32); SafeTensorEntry("b", [| 3 |], [| 1f; 2f; 3f |]) |],
                           readOnlyDict [ "k", "v" ])
    for cut in 0 .. bytes.Length - 1 do
        Assert.Throws<SafeTensorsFormatException>(fun () -> SafeTensors.Read(bytes[.. cut - 1], $"cut{cut}") |> ignore) |> ignore

[<PropertyTest(500)>]
let ``random byte damage never escapes as anything but a format error`` () =
    let bytes = SafeTensors.Encode([| SafeTensorEntry("weight", [| 2; 2 |], [| 1f; 2f; 3f; 4f |]) |], readOnlyDict [ "c", "d" ])
    let gen =
        Gen.zip (Gen.choose (0, bytes.Length - 1)) (Gen.choose (0, 255)) |> Gen.listOf
    Prop.forAll (Arb.fromGen gen) (fun edits ->
        let damaged = Array.copy bytes
        for (i, b) in edits do damaged[i] <- byte b
        try SafeTensors.Read damaged |> ignore with :? SafeTensorsFormatException -> ())

[<Fact>]
let ``writer rejects duplicate, reserved and mis-shaped entries`` () =
    let x = SafeTensorEntry("x", [| 1 |], [| 0f |])
    Assert.Throws<ArgumentException>(fun () -> SafeTensors.Encode([| x; x |]) |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> SafeTensors.Encode([| SafeTensorEntry("__metadata__", [| 1 |], [| 0f |]) |]) |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> SafeTensorEntry("y", [| 2 |], [| 0f |]) |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> SafeTensors.Encode([| SafeTensorEntry(String [| 'a'; char 0xD800 |], [| 1 |], [| 0f |]) |]) |> ignore) |> ignore

[<Fact>]
let ``lookup by a missing name lists the names present`` () =
    let f = SafeTensorsFile([| SafeTensorEntry("enc", [||], [| 1f |]) |])
    let e = Assert.Throws<Collections.Generic.KeyNotFoundException>(fun () -> f["dec"] |> ignore)
    Assert.Contains("enc", e.Message)
    Assert.True(f.Contains "enc")

// ---- entries, files and atomic writes: every check by name (found unpinned by mutation testing) ----

[<Fact>]
let ``an entry's element count is the product of its shape, 0 with any zero dimension, and an overflow is an error`` () =
    Assert.Equal(1L, SafeTensorEntry.ElementCount([||]))
    Assert.Equal("shape", Assert.Throws<ArgumentNullException>(fun () -> SafeTensorEntry.ElementCount(Unchecked.defaultof<int[]>) |> ignore).ParamName)
    Assert.Equal(24L, SafeTensorEntry.ElementCount([| 2; 3; 4 |]))
    Assert.Equal(0L, SafeTensorEntry.ElementCount([| Int32.MaxValue; Int32.MaxValue; Int32.MaxValue; 0 |]))
    Assert.Throws<OverflowException>(fun () -> SafeTensorEntry.ElementCount([| Int32.MaxValue; Int32.MaxValue; Int32.MaxValue |]) |> ignore) |> ignore

[<Fact>]
let ``an entry refuses a null part, a negative dimension and data that do not fill the shape, by name`` () =
    let named (name: string) (text: string) (f: unit -> SafeTensorEntry) = Assert.StartsWith(text, (refusedNaming name [] f).Message)
    named "Name" "" (fun () -> SafeTensorEntry(Unchecked.defaultof<string>, [| 1 |], [| 0f |]))
    named "Shape" "" (fun () -> SafeTensorEntry("w", Unchecked.defaultof<int[]>, [| 0f |]))
    named "Shape" "Tensor 'w': dimension 1 of shape [2, -1] is negative." (fun () -> SafeTensorEntry("w", [| 2; -1 |], [||]))
    named "Data" "" (fun () -> SafeTensorEntry("w", [| 1 |], Unchecked.defaultof<float32[]>))
    named "Data" "Tensor 'w': shape [2, 3] holds 6 elements but Data has 5." (fun () -> SafeTensorEntry("w", [| 2; 3 |], Array.zeroCreate 5))
    Assert.Equal(6, SafeTensorEntry("w", [| 2; 3 |], Array.zeroCreate 6).Data.Length)

[<Fact>]
let ``a file refuses null or repeated entries, and a missing name lists up to 20 names`` () =
    let entry name = SafeTensorEntry(name, [||], [| 1f |])
    Assert.Equal("entries", Assert.Throws<ArgumentNullException>(fun () -> SafeTensorsFile(Unchecked.defaultof<SafeTensorEntry[]>) |> ignore).ParamName)
    Assert.Equal("entries", Assert.Throws<ArgumentNullException>(fun () -> SafeTensorsFile([| entry "a"; Unchecked.defaultof<SafeTensorEntry> |]) |> ignore).ParamName)
    let e = Assert.Throws<ArgumentException>(fun () -> SafeTensorsFile([| entry "a"; entry "b"; entry "a" |]) |> ignore)
    Assert.Equal("entries", e.ParamName)
    Assert.StartsWith("Tensor name 'a' appears more than once.", e.Message)
    let missing (n: int) = (Assert.Throws<Collections.Generic.KeyNotFoundException>(fun () -> SafeTensorsFile(Array.init n (fun i -> entry $"e{i}"))["x"] |> ignore)).Message
    Assert.Equal("No tensor named 'x'; the file holds 2: e0, e1.", missing 2)
    Assert.EndsWith("the file holds 20: e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18, e19.", missing 20)
    Assert.EndsWith("the file holds 21: e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18, e19, ….", missing 21)

[<Fact>]
let ``an atomic write names bad arguments, a folder it cannot create, and leaves no temporary file when the writer fails`` () =
    let dir = Path.Combine(Path.GetTempPath(), $"atomic-{Guid.NewGuid():N}")
    Directory.CreateDirectory dir |> ignore
    try
        Assert.Equal("path", Assert.ThrowsAny<ArgumentException>(fun () -> AtomicFile.Write(Unchecked.defaultof<string>, fun _ -> ())).ParamName)
        Assert.Equal("path", Assert.ThrowsAny<ArgumentException>(fun () -> AtomicFile.Write("", fun _ -> ())).ParamName)
        Assert.Equal("write", Assert.Throws<ArgumentNullException>(fun () -> AtomicFile.Write(Path.Combine(dir, "x"), Unchecked.defaultof<Action<Stream>>)).ParamName)
        let e = Assert.Throws<ArgumentException>(fun () -> AtomicFile.Write("/", fun _ -> ()))
        Assert.Equal("path", e.ParamName)
        Assert.StartsWith("'/' has no parent folder.", e.Message)
        // A folder under a plain file cannot be created.
        let file = Path.Combine(dir, "plain")
        File.WriteAllText(file, "old")
        let target = Path.Combine(file, "sub", "out.bin")
        let e = Assert.Throws<IOException>(fun () -> AtomicFile.WriteAllBytes(target, [| 1uy |]))
        Assert.StartsWith($"cannot write '{target}': its folder cannot be created (", e.Message)
        // A writer that fails: the target keeps its old bytes, no temporary file is left, and the error names the target.
        let e = Assert.Throws<IOException>(fun () -> AtomicFile.Write(file, fun s -> s.WriteByte 9uy; raise (IOException "disk full")))
        Assert.Equal($"cannot write '{file}': disk full", e.Message)
        Assert.Throws<InvalidOperationException>(fun () -> AtomicFile.Write(file, fun _ -> invalidOp "not an IO error")) |> ignore
        Assert.Equal("old", File.ReadAllText file)
        Assert.Equal<string[]>([| file |], Directory.GetFiles dir)
        AtomicFile.WriteAllBytes(file, [| 7uy; 8uy |])
        Assert.Equal<byte[]>([| 7uy; 8uy |], File.ReadAllBytes file)
        Assert.Equal<string[]>([| file |], Directory.GetFiles dir)
    finally Directory.Delete(dir, true)
