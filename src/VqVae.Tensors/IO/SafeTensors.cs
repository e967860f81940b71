using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VqVae.Tensors.IO;

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON header, then the raw tensor bytes.
/// The header maps each name to <c>{"dtype", "shape", "data_offsets": [begin, end]}</c>
/// (offsets relative to the byte buffer after the header) plus an optional
/// <c>"__metadata__"</c> map of strings.
/// </summary>
/// <remarks>
/// We write float32 only, tensors in the given order, the header padded with spaces so the data
/// starts at a multiple of 8. We read F32 and convert F64, F16, BF16, I64, I32, I16, I8, U8 and
/// BOOL to float32 (PyTorch may save any of them). Every malformed input raises
/// <see cref="SafeTensorsFormatException"/>.
/// </remarks>
public static class SafeTensors
{
    /// <summary>The name reserved for the metadata map.</summary>
    public const string MetadataKey = "__metadata__";

    // Same cap as the reference implementation: a larger header is surely corrupt.
    private const long MaxHeaderBytes = 100_000_000;

    /// <summary>Writes <paramref name="entries"/> (in this order) and <paramref name="metadata"/> to
    /// <paramref name="path"/> atomically (temporary file in the same folder, then a rename).</summary>
    /// <example><code>SafeTensors.Write("batch.safetensors", [new SafeTensorEntry("x", [64, 1, 28, 28], x)]);</code></example>
    public static void Write(string path, IReadOnlyList<SafeTensorEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        // Stryker disable once Statement : AtomicFile.Write refuses a null or empty path the same way, by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Encode(entries, metadata);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>Writes a <see cref="SafeTensorsFile"/> atomically.</summary>
    public static void Write(string path, SafeTensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        Write(path, file.Entries, file.Metadata);
    }

    /// <summary>The bytes of a safetensors file holding <paramref name="entries"/> and <paramref name="metadata"/>.</summary>
    public static byte[] Encode(IReadOnlyList<SafeTensorEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long dataBytes = 0;
        foreach (var e in entries)
        {
            if (e is null) throw new ArgumentException("An entry is null.", nameof(entries));
            if (e.Name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor.", nameof(entries));
            CheckWellFormed(e.Name, "A tensor name", nameof(entries));
            if (!seen.Add(e.Name)) throw new ArgumentException($"Tensor name '{e.Name}' appears more than once.", nameof(entries));
            if (SafeTensorEntry.ElementCount(e.Shape) != e.Data.Length)
                throw new ArgumentException($"Tensor '{e.Name}': shape [{string.Join(", ", e.Shape)}] does not hold {e.Data.Length} elements.", nameof(entries));
            dataBytes += 4L * e.Data.Length;
        }
        if (metadata is not null)
            foreach (var (k, v) in metadata)
            {
                CheckWellFormed(k, "A metadata key", nameof(metadata));
                CheckWellFormed(v, $"The metadata value for '{k}'", nameof(metadata));
            }

        byte[] header = BuildHeader(entries, metadata);
        var bytes = new byte[FileLength(header.Length, dataBytes)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        int at = 8 + header.Length;
        foreach (var e in entries)
        {
            var dst = bytes.AsSpan(at, 4 * e.Data.Length);
            MemoryMarshal.AsBytes(e.Data.AsSpan()).CopyTo(dst); // bit patterns, NaN payloads included
            var words = MemoryMarshal.Cast<byte, int>(dst);
            // Stryker disable once Statement : runs on big-endian hardware only (the file is little-endian)
            if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(words, words);
            at += dst.Length;
        }
        return bytes;
    }

    /// <summary>The length of a file with this header and data, refused when one array cannot hold it.</summary>
    internal static int FileLength(long headerBytes, long dataBytes)
    {
        long total = 8 + headerBytes + dataBytes;
        if (total > Array.MaxLength) throw new ArgumentException($"The file would hold {total} bytes, more than one array can.", "entries");
        return (int)total;
    }

    private static byte[] BuildHeader(IReadOnlyList<SafeTensorEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        // Relaxed escaping keeps non-ASCII names readable; the header is never embedded in HTML.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) // deterministic bytes
                    w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += 4L * e.Data.Length;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned.
        int len = (int)ms.Length, padded = (len + 7) / 8 * 8;
        for (int i = len; i < padded; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    // A string the header can hold: not null, and UTF-16 that converts to UTF-8 (no unpaired surrogate).
    private static void CheckWellFormed(string? s, string what, string param)
    {
        if (s is null) throw new ArgumentException($"{what} is null.", param);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i]))
                throw new ArgumentException($"{what} ('{s}') holds an unpaired UTF-16 surrogate at index {i}; it cannot be written as UTF-8.", param);
        }
    }

    /// <summary>Reads the safetensors file at <paramref name="path"/>.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is missing, truncated or corrupt.</exception>
    public static SafeTensorsFile Read(string path) => Read(path, MaxFileBytes);

    // The size limit as a parameter, so that tests can reach the refusals without gigabyte files.
    internal static SafeTensorsFile Read(string path, long maxBytes)
    {
        // Stryker disable once Statement : FileStream refuses a null or empty path the same way, by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            // The length is checked before anything is allocated: a file this reader cannot hold is
            // refused by its size, and the header length is compared with the file before reading.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            long length = stream.Length;
            if (length > maxBytes)
                throw new SafeTensorsFormatException(path, $"the file holds {length} bytes; this reader reads files of at most {maxBytes} bytes.");
            // An early refusal only: Read(bytes) below makes the same check, with the same message, after reading.
            // Stryker disable once Equality,Block : at exactly 8 bytes, or without the block, Read(bytes) refuses with the same message
            if (length >= 8)
            {
                Span<byte> prefix = stackalloc byte[8];
                // Stryker disable once Statement : the early check then passes and Read(bytes) refuses with the same message
                stream.ReadExactly(prefix);
                ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
                // Stryker disable once Statement : Read(bytes) makes this check with the same message
                CheckHeaderLength(headerLen, length, path);
                stream.Position = 0;
            }
            bytes = new byte[length];
            stream.ReadExactly(bytes);
        }
        catch (FileNotFoundException e) { throw new SafeTensorsFormatException(path, "the file does not exist.", e); }
        catch (DirectoryNotFoundException e) { throw new SafeTensorsFormatException(path, "the folder does not exist.", e); }
        // Stryker disable once String : a test would need a file that shrinks between measuring and reading it
        catch (EndOfStreamException e) { throw new SafeTensorsFormatException(path, "the file became shorter while it was read.", e); }
        return Read(bytes, path);
    }

    /// <summary>
    /// The largest file <see cref="Read(string)"/> reads: one .NET array (about 2 GiB). Tensors are
    /// float32 arrays, so larger checkpoints need a sharded format this reader does not implement.
    /// </summary>
    public static long MaxFileBytes => Array.MaxLength;

    internal static void CheckHeaderLength(ulong headerLen, long fileLength, string source)
    {
        if (headerLen > (ulong)Math.Max(0, fileLength - 8))
            throw new SafeTensorsFormatException(source, $"truncated or corrupt: the header length {headerLen} goes beyond the end of the file ({fileLength} bytes).");
        if (headerLen > MaxHeaderBytes)
            throw new SafeTensorsFormatException(source, $"corrupt: the header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit.");
    }

    /// <summary>Reads a safetensors file from <paramref name="stream"/> (to its end).
    /// <paramref name="source"/> names it in error messages.</summary>
    public static SafeTensorsFile Read(Stream stream, string source = "<stream>") => Read(stream, source, MaxFileBytes);

    internal static SafeTensorsFile Read(Stream stream, string source, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek && stream.Length - stream.Position > maxBytes)
            throw new SafeTensorsFormatException(source, $"the stream holds {stream.Length - stream.Position} bytes; this reader reads at most {maxBytes}.");
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (ms.Length + n > maxBytes)
                throw new SafeTensorsFormatException(source, $"the stream holds more than {maxBytes} bytes, the most this reader reads.");
            ms.Write(buffer, 0, n);
        }
        return Read(ms.ToArray(), source);
    }

    /// <summary>Reads safetensors bytes. <paramref name="source"/> names them in error messages.</summary>
    public static SafeTensorsFile Read(byte[] bytes, string source = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        SafeTensorsFormatException Bad(string problem, Exception? inner = null) => new(source, problem, inner);

        if (bytes.Length < 8)
            throw Bad($"truncated: {bytes.Length} bytes, fewer than the 8-byte header length.");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        CheckHeaderLength(headerLen, bytes.Length, source);
        int dataStart = 8 + (int)headerLen;
        long dataLen = bytes.Length - dataStart;

        // JsonDocument decodes strings lazily, so bad UTF-8 would surface later as an InvalidOperationException.
        if (!System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(8, (int)headerLen)))
            throw Bad("the header is not valid UTF-8.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen)); }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw Bad($"the header is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Bad($"the header must be a JSON object, not {doc.RootElement.ValueKind}.");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var specs = new List<(string Name, string DType, int[] Shape, long Begin, long End)>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(prop.Name)) throw Bad($"the header names '{prop.Name}' twice.");
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw Bad($"'{MetadataKey}' must be an object of strings, not {prop.Value.ValueKind}.");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Bad($"metadata value '{m.Name}' must be a string, not {m.Value.ValueKind}.");
                        // JSON allows repeated keys and would keep the last; two values for one key are ambiguous.
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                            throw Bad($"'{MetadataKey}' names '{m.Name}' twice.");
                    }
                    continue;
                }
                specs.Add(ParseSpec(prop, dataLen, Bad));
            }

            // The data buffer must be covered exactly: no overlaps, no holes, nothing past the end.
            var ordered = specs.OrderBy(s => s.Begin).ThenBy(s => s.End).ToList();
            long expect = 0;
            string prev = "the start of the data";
            foreach (var s in ordered)
            {
                if (s.Begin < expect) throw Bad($"tensor '{s.Name}' (bytes {s.Begin}..{s.End}) overlaps {prev} (ending at {expect}).");
                if (s.Begin > expect) throw Bad($"unused bytes {expect}..{s.Begin} between {prev} and tensor '{s.Name}'.");
                expect = s.End;
                prev = $"tensor '{s.Name}'";
            }
            if (expect != dataLen)
                throw Bad($"the tensors cover {expect} data bytes but the file holds {dataLen} after the header.");

            var entries = new SafeTensorEntry[ordered.Count];
            for (int i = 0; i < ordered.Count; i++)
            {
                var s = ordered[i];
                var raw = bytes.AsSpan(dataStart + (int)s.Begin, (int)(s.End - s.Begin));
                entries[i] = new SafeTensorEntry(s.Name, s.Shape, SafeTensorsDType.ToFloat32(s.DType, raw));
            }
            return new SafeTensorsFile(entries, metadata);
        }
    }

    private static (string, string, int[], long, long) ParseSpec(
        JsonProperty prop, long dataLen, Func<string, Exception?, SafeTensorsFormatException> bad)
    {
        string name = prop.Name;
        SafeTensorsFormatException Bad(string problem) => bad($"tensor '{name}': {problem}", null);
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad($"its description must be an object, not {v.ValueKind}.");
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in v.EnumerateObject())
            if (!fields.Add(f.Name)) throw Bad($"its description names \"{f.Name}\" twice.");

        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw Bad("\"dtype\" is missing or not a string.");
        string dtype = dt.GetString()!;
        int size = SafeTensorsDType.SizeOf(dtype);
        if (size == 0) throw Bad($"unknown dtype '{dtype}' (expected one of {string.Join(", ", SafeTensorsDType.Known)}).");

        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw Bad("\"shape\" is missing or not an array.");
        var shape = new int[sh.GetArrayLength()];
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw Bad($"shape dimension {k} ({d.GetRawText()}) is not a non-negative 32-bit integer.");
            shape[k++] = dim;
        }
        long count;
        try { count = SafeTensorEntry.ElementCount(shape); }
        catch (OverflowException) { throw Bad($"shape [{string.Join(", ", shape)}] has too many elements."); }
        if (count > Array.MaxLength) throw Bad($"shape [{string.Join(", ", shape)}] has {count} elements, more than one array can hold.");

        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad("\"data_offsets\" is missing or not a [begin, end] pair.");
        if (off[0].ValueKind != JsonValueKind.Number || off[1].ValueKind != JsonValueKind.Number
            || !off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Bad($"data_offsets {off.GetRawText()} are not 0 ≤ begin ≤ end.");
        if (end > dataLen)
            throw Bad($"data_offsets [{begin}, {end}] go beyond the {dataLen} data bytes of the file (truncated?).");
        if (end - begin != count * size)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} needs {count * size} bytes but data_offsets [{begin}, {end}] span {end - begin}.");
        return (name, dtype, shape, begin, end);
    }
}
