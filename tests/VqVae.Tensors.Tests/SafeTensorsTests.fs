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
    let dir = Scratch.dir "st"
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
    let path = Scratch.path "no-such-file.safetensors"
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
    let dir = Scratch.path "atomic"
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

// ---- the reader's and writer's every check, message by message (survivors of mutation testing) ----

let private one = SafeTensorEntry("x", [| 1 |], [| 0f |])

[<Fact>]
let ``the writer names each bad argument and says what is wrong`` () =
    Assert.Equal("path", nullArgumentOf (fun () -> SafeTensors.Write(Unchecked.defaultof<string>, [| one |])))
    refusedNaming "path" [] (fun () -> SafeTensors.Write("", [| one |])) |> ignore
    Assert.Equal("file", nullArgumentOf (fun () -> SafeTensors.Write("x.safetensors", Unchecked.defaultof<SafeTensorsFile>)))
    Assert.Equal("entries", nullArgumentOf (fun () -> SafeTensors.Encode(Unchecked.defaultof<SafeTensorEntry[]>)))
    let entries text (es: SafeTensorEntry[]) = refusedAs<ArgumentException> "entries" text (fun () -> SafeTensors.Encode es) |> ignore
    entries "An entry is null." [| one; Unchecked.defaultof<SafeTensorEntry> |]
    entries "'__metadata__' is reserved and cannot name a tensor." [| SafeTensorEntry("__metadata__", [| 1 |], [| 0f |]) |]
    entries "Tensor name 'x' appears more than once." [| one; one |]
    // An entry whose Data was replaced after construction, as C#'s `entry with { Data = … }` can (an init setter
    // skips the constructor's check; F# reaches the setter by reflection).
    let swapped = SafeTensorEntry("w", [| 2; 1 |], [| 1f; 2f |])
    (nonNull (typeof<SafeTensorEntry>.GetProperty "Data")).SetValue(swapped, [| 1f; 2f; 3f |])
    entries "Tensor 'w': shape [2, 1] does not hold 3 elements." [| swapped |]
    // Lone surrogates built from chars: the compiler would not keep one in a string literal.
    let a_, _k, v_ = String [| 'a'; char 0xD800 |], String [| char 0xDC00; 'k' |], String [| 'v'; char 0xD800 |]
    entries $"A tensor name ('{a_}') holds an unpaired UTF-16 surrogate at index 1; it cannot be written as UTF-8." [| SafeTensorEntry(a_, [| 1 |], [| 0f |]) |]
    let metadata text (m: Collections.Generic.IReadOnlyDictionary<string, string>) =
        refusedAs<ArgumentException> "metadata" text (fun () -> SafeTensors.Encode([| one |], m)) |> ignore
    metadata "The metadata value for 'k' is null." (readOnlyDict [ "k", Unchecked.defaultof<string> ])
    metadata $"A metadata key ('{_k}') holds an unpaired UTF-16 surrogate at index 0" (readOnlyDict [ _k, "v" ])
    metadata $"The metadata value for 'k' ('{v_}') holds an unpaired UTF-16 surrogate at index 1" (readOnlyDict [ "k", v_ ])
    // A paired surrogate is fine: it is one code point in UTF-8.
    Assert.Equal("😀", SafeTensors.Read(SafeTensors.Encode([| one |], readOnlyDict [ "k", "😀" ])).Metadata["k"])
    // The length check behind "more than one array can hold", at its bound (a real file that size would need 2 GiB).
    Assert.Equal(Array.MaxLength, SafeTensors.FileLength(int64 Array.MaxLength - 18L, 10L))
    refusedAs<ArgumentException> "entries" $"The file would hold {int64 Array.MaxLength + 1L} bytes, more than one array can."
        (fun () -> SafeTensors.FileLength(int64 Array.MaxLength - 17L, 10L)) |> ignore

[<Fact>]
let ``the header's bytes: raw UTF-8 names, metadata sorted by key and only when present, padding under 8 bytes`` () =
    let header (bytes: byte[]) = Encoding.UTF8.GetString(bytes, 8, int (BitConverter.ToUInt64(bytes, 0)))
    let e = [| SafeTensorEntry("gewicht.é", [| 1 |], [| 1f |]) |]
    let plain = SafeTensors.Encode e
    Assert.Contains("\"gewicht.é\"", header plain)   // not escaped as \u00e9: readable, as the PyTorch writer leaves it
    Assert.Equal<byte[]>(plain, SafeTensors.Encode(e, readOnlyDict []))
    Assert.DoesNotContain("__metadata__", header plain)
    let ba = SafeTensors.Encode(e, readOnlyDict [ "b", "2"; "a", "1" ])
    Assert.Equal<byte[]>(ba, SafeTensors.Encode(e, readOnlyDict [ "a", "1"; "b", "2" ]))
    Assert.Contains("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"}", header ba)
    for bytes in [ plain; ba ] do
        let n = int (BitConverter.ToUInt64(bytes, 0))
        Assert.Equal(0, n % 8)
        let json = bytes[8 .. 8 + n - 1] |> Array.rev |> Array.skipWhile ((=) (byte ' ')) |> Array.length
        Assert.InRange(n - json, 0, 7)

/// A stream that can only be read forward, as a pipe or a network stream.
type private ForwardOnly(bytes: byte[]) =
    inherit Stream()
    let inner = new MemoryStream(bytes)
    override _.CanRead = true
    override _.CanSeek = false
    override _.CanWrite = false
    override _.Length = raise (NotSupportedException())
    override _.Position with get () = raise (NotSupportedException()) and set _ = raise (NotSupportedException())
    override _.Flush() = ()
    override _.Read(buffer, offset, count) = inner.Read(buffer, offset, count)
    override _.Seek(_, _) = raise (NotSupportedException())
    override _.SetLength _ = raise (NotSupportedException())
    override _.Write(_, _, _) = raise (NotSupportedException())

[<Fact>]
let ``the reader refuses a file or stream by its size before reading it, and names a bad argument`` () =
    let good = SafeTensors.Encode([| SafeTensorEntry("w", [| 2 |], [| 1f; 2f |]) |])
    let n = good.Length
    let dir = Scratch.dir "st"
    try
        let path = Path.Combine(dir, "w.safetensors")
        File.WriteAllBytes(path, good)
        Assert.Equal<float32[]>([| 1f; 2f |], (SafeTensors.Read(path, int64 n)).["w"].Data)
        expectFormatError $"the file holds {n} bytes; this reader reads files of at most {n - 1} bytes." (fun () -> SafeTensors.Read(path, int64 n - 1L)) |> ignore
        // A SafeTensorsFile is written whole: entries in order and metadata.
        SafeTensors.Write(path, SafeTensorsFile([| SafeTensorEntry("b", [| 1 |], [| 3f |]); SafeTensorEntry("a", [| 1 |], [| 4f |]) |], readOnlyDict [ "k", "v" ]))
        let back = SafeTensors.Read path
        Assert.Equal<string list>([ "b"; "a" ], List.ofSeq back.Names)
        Assert.Equal("v", back.Metadata["k"])
        expectFormatError "the folder does not exist." (fun () -> SafeTensors.Read(Path.Combine(dir, "no-folder", "w.safetensors"))) |> ignore
        File.WriteAllBytes(path, [| 1uy; 2uy; 3uy |])
        expectFormatError "truncated: 3 bytes, fewer than the 8-byte header length." (fun () -> SafeTensors.Read path) |> ignore
    finally
        Directory.Delete(dir, true)
    Assert.Equal("path", nullArgumentOf (fun () -> SafeTensors.Read(Unchecked.defaultof<string>)))
    refusedNaming "path" [] (fun () -> SafeTensors.Read "") |> ignore
    Assert.Equal("stream", nullArgumentOf (fun () -> SafeTensors.Read(Unchecked.defaultof<Stream>)))
    Assert.Equal("bytes", nullArgumentOf (fun () -> SafeTensors.Read(Unchecked.defaultof<byte[]>)))
    // A seekable stream is measured from its position: 5 bytes before the file do not count.
    let shifted () =
        let s = new MemoryStream(Array.append (Array.zeroCreate 5) good)
        s.Position <- 5L
        s
    Assert.Equal<float32[]>([| 1f; 2f |], (SafeTensors.Read(shifted (), "s", int64 n)).["w"].Data)
    expectFormatError $"'s': the stream holds {n} bytes; this reader reads at most {n - 1}." (fun () -> SafeTensors.Read(shifted (), "s", int64 n - 1L)) |> ignore
    // A forward-only stream is counted as it is read.
    Assert.Equal<float32[]>([| 1f; 2f |], (SafeTensors.Read(new ForwardOnly(good), "p", int64 n)).["w"].Data)
    expectFormatError $"'p': the stream holds more than {n - 1} bytes, the most this reader reads." (fun () -> SafeTensors.Read(new ForwardOnly(good), "p", int64 n - 1L)) |> ignore
    // Exactly 8 bytes is a complete (empty) header length; its empty header is not JSON.
    expectFormatError "the header is not valid JSON" (fun () -> SafeTensors.Read(Array.zeroCreate<byte> 8)) |> ignore
    // The header cap, at its bound.
    SafeTensors.CheckHeaderLength(100_000_000UL, 200_000_000L, "h")
    expectFormatError "'h': corrupt: the header length 100000001 exceeds the 100000000-byte limit." (fun () -> SafeTensors.CheckHeaderLength(100_000_001UL, 200_000_000L, "h")) |> ignore

[<Fact>]
let ``every malformed header is named in full: what, where and what was expected`` () =
    let bad (header: string) (dataBytes: int) (problem: string) =
        expectFormatError $"'h.st': {problem}" (fun () -> SafeTensors.Read(rawFile header (Array.zeroCreate dataBytes), "h.st")) |> ignore
    bad """{"__metadata__":[1]}""" 0 "'__metadata__' must be an object of strings, not Array."
    bad """{"x":5}""" 0 "tensor 'x': its description must be an object, not Number."
    bad """{"x":{"shape":[1],"data_offsets":[0,4]}}""" 4 "tensor 'x': \"dtype\" is missing or not a string."
    bad """{"x":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}""" 1 "tensor 'x': unknown dtype 'F8' (expected one of F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL)."
    bad """{"x":{"dtype":"F32","data_offsets":[0,4]}}""" 4 "tensor 'x': \"shape\" is missing or not an array."
    bad """{"x":{"dtype":"F32","shape":3,"data_offsets":[0,4]}}""" 4 "tensor 'x': \"shape\" is missing or not an array."
    bad """{"x":{"dtype":"U8","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}""" 8 "tensor 'x': shape [2147483647, 2147483647, 2147483647] has too many elements."
    bad """{"x":{"dtype":"U8","shape":[2147483592],"data_offsets":[0,8]}}""" 8 "tensor 'x': shape [2147483592] has 2147483592 elements, more than one array can hold."
    bad """{"x":{"dtype":"U8","shape":[46341,46341],"data_offsets":[0,8]}}""" 8 "tensor 'x': shape [46341, 46341] has 2147488281 elements, more than one array can hold."
    // One element fewer fits in an array, so the next check (its bytes) is what fails.
    bad """{"x":{"dtype":"U8","shape":[2147483591],"data_offsets":[0,8]}}""" 8 "tensor 'x': shape [2147483591] of U8 needs 2147483591 bytes but data_offsets [0, 8] span 8."
    bad """{"x":{"dtype":"F32","shape":[1]}}""" 4 "tensor 'x': \"data_offsets\" is missing or not a [begin, end] pair."
    bad """{"x":{"dtype":"F32","shape":[1],"data_offsets":5}}""" 4 "tensor 'x': \"data_offsets\" is missing or not a [begin, end] pair."
    bad """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[4,8]}}""" 8
        "tensor 'b': shape [1, 2] of F32 needs 8 bytes but data_offsets [4, 8] span 4."
    bad """{"__metadata__":{"k":"a","k":"b"}}""" 0 "'__metadata__' names 'k' twice."
    bad """{"x":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""" 4 "tensor 'x': its description names \"dtype\" twice."
    bad """{"x":{"dtype":5,"shape":[1],"data_offsets":[0,4]}}""" 4 "tensor 'x': \"dtype\" is missing or not a string."
    bad """{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""" 8 "unused bytes 0..4 between the start of the data and tensor 'x'."
    bad """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""" 12
        "unused bytes 4..8 between tensor 'a' and tensor 'b'."
    bad """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""" 8
        "tensor 'y' (bytes 4..8) overlaps tensor 'x' (ending at 8)."
    bad """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""" 8 "the tensors cover 4 data bytes but the file holds 8 after the header."

[<Fact>]
let ``the integer and boolean dtypes are read from their little-endian bytes`` () =
    let i16 = Array.concat [ BitConverter.GetBytes -2s; BitConverter.GetBytes 300s ]
    let data = Array.concat [ i16; [| 0xFBuy; 7uy |]; [| 200uy; 1uy |]; [| 0uy; 1uy; 2uy |] ]
    let header =
        """{"a":{"dtype":"I16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[2],"data_offsets":[4,6]},"""
        + """"c":{"dtype":"U8","shape":[2],"data_offsets":[6,8]},"d":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}}"""
    let f = SafeTensors.Read(rawFile header data)
    Assert.Equal<float32[]>([| -2f; 300f |], f["a"].Data)
    Assert.Equal<float32[]>([| -5f; 7f |], f["b"].Data)
    Assert.Equal<float32[]>([| 200f; 1f |], f["c"].Data)
    Assert.Equal<float32[]>([| 0f; 1f; 1f |], f["d"].Data)
    refusedAs<ArgumentException> "dtype" "Unknown dtype 'C64'." (fun () -> SafeTensorsDType.ToFloat32("C64", ReadOnlySpan(Array.zeroCreate<byte> 8))) |> ignore

[<Fact>]
let ``a format error keeps its source and its problem apart, and says both`` () =
    let inner = IOException "disk"
    let e = SafeTensorsFormatException("model.safetensors", "the header is truncated.", inner)
    Assert.Equal(("model.safetensors", "the header is truncated."), (e.Source, e.Problem))
    Assert.Equal("Safetensors 'model.safetensors': the header is truncated.", e.Message)
    Assert.Same(inner, e.InnerException)
