using System.Buffers.Binary;
using System.IO.Compression;

namespace VqVae.Data.Datasets;

/// <summary>An unsigned-byte IDX array: its dimensions (outermost first) and row-major values.</summary>
public sealed record IdxArray(int[] Shape, byte[] Data);

/// <summary>
/// Reads IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/): a big-endian magic
/// <c>00 00 08 n</c> (unsigned bytes, n dimensions), n big-endian 32-bit sizes, then the bytes.
/// MNIST images are <c>0x00000803</c> [N, 28, 28], labels <c>0x00000801</c> [N].
/// Gzipped files (as downloaded; one gzip member) are recognised by their magic, inflated and checked.
/// </summary>
/// <example><code>IdxArray labels = Idx.Read("mnist/train-labels-idx1-ubyte.gz");</code></example>
public static class Idx
{
    /// <summary>Reads the IDX file at <paramref name="path"/>, raw or gzipped.</summary>
    /// <exception cref="DatasetFormatException">Missing, truncated, or not an unsigned-byte IDX file.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DatasetFormatException(path, "the file does not exist.", e);
        }
        return Read(bytes, path);
    }

    /// <summary>Parses IDX bytes (raw or gzipped); <paramref name="source"/> names them in errors.</summary>
    public static IdxArray Read(byte[] bytes, string source = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        DatasetFormatException Bad(string problem, Exception? inner = null) => new(source, problem, inner);

        if (bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var raw = new MemoryStream();
                gz.CopyTo(raw);
                byte[] inflated = raw.ToArray();
                // GZipStream stops quietly at a cut-off end, so check the trailer ourselves:
                // the last 8 bytes are the CRC-32 and the length (mod 2³²) of the inflated data.
                if (bytes.Length < 18
                    || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)) != (uint)inflated.Length
                    || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 8)) != Crc32.Compute(inflated))
                    throw Bad("truncated or corrupt gzip data (the trailer's length or CRC does not match the inflated data).");
                bytes = inflated;
            }
            catch (InvalidDataException e) { throw Bad($"truncated or corrupt gzip data: {e.Message}", e); }
        }

        if (bytes.Length < 4) throw Bad($"truncated: {bytes.Length} bytes, fewer than the 4-byte magic number.");
        if (bytes[0] != 0 || bytes[1] != 0)
            throw Bad($"bad magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(bytes):X8}; an IDX file starts with two zero bytes.");
        if (bytes[2] != 0x08)
            throw Bad($"element type 0x{bytes[2]:X2} is not supported; expected 0x08 (unsigned byte).");
        int rank = bytes[3];
        if (rank == 0) throw Bad("the magic number declares zero dimensions.");
        int headerLen = 4 + 4 * rank;
        if (bytes.Length < headerLen) throw Bad($"truncated: the {rank} dimension sizes need {headerLen} header bytes, the file has {bytes.Length}.");

        var shape = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (size > int.MaxValue) throw Bad($"dimension {d} has an impossible size {size}.");
            shape[d] = (int)size;
            count *= size;
            if (count > Array.MaxLength) throw Bad($"shape [{string.Join(", ", shape.Take(d + 1))}] is too large.");
        }
        long actual = bytes.Length - headerLen;
        if (actual < count)
            throw Bad($"truncated: shape [{string.Join(", ", shape)}] needs {count} data bytes, the file has {actual}.");
        if (actual > count)
            throw Bad($"{actual - count} unexpected bytes after the {count} data bytes of shape [{string.Join(", ", shape)}].");
        return new IdxArray(shape, bytes.AsSpan(headerLen).ToArray());
    }
}
