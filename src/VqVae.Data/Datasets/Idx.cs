using System.Buffers.Binary;
using System.IO.Compression;

namespace VqVae.Data.Datasets;

/// <summary>An unsigned-byte IDX array: its dimensions (outermost first) and row-major values.</summary>
public sealed record IdxArray(int[] Shape, byte[] Data);

/// <summary>
/// Reads IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/): a big-endian magic
/// <c>00 00 08 n</c> (unsigned bytes, n dimensions), n big-endian 32-bit sizes, then the bytes.
/// MNIST images are <c>0x00000803</c> [N, 28, 28], labels <c>0x00000801</c> [N].
/// Gzipped files (as downloaded; one gzip member) are recognised by their magic and inflated as a
/// stream: the header first, then exactly the declared bytes (at most <see cref="DefaultMaxBytes"/>
/// unless raised), then the trailer's CRC and length are checked.
/// </summary>
/// <example><code>IdxArray labels = Idx.Read("mnist/train-labels-idx1-ubyte.gz");</code></example>
public static class Idx
{
    /// <summary>
    /// The most data bytes <see cref="Read(string, long)"/> accepts by default (1 GiB; MNIST's training
    /// images are 47 MB). Pass a larger <c>maxBytes</c> to read larger files.
    /// </summary>
    public const long DefaultMaxBytes = 1L << 30;

    /// <summary>Reads the IDX file at <paramref name="path"/>, raw or gzipped.</summary>
    /// <remarks>
    /// The header is read and checked first (from the inflated stream for a .gz file), then exactly the
    /// bytes it declares are allocated and read: a declared size above <paramref name="maxBytes"/>, or
    /// larger than a raw file, is refused before anything is allocated or inflated.
    /// </remarks>
    /// <exception cref="DatasetFormatException">Missing, truncated, too large, or not an unsigned-byte IDX file; the message names the file.</exception>
    public static IdxArray Read(string path, long maxBytes = DefaultMaxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return Read(file, path, maxBytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DatasetFormatException(path, "the file does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetFormatException(path, $"cannot be read ({e.Message}).", e);
        }
    }

    /// <summary>Parses IDX bytes (raw or gzipped); <paramref name="source"/> names them in errors.</summary>
    public static IdxArray Read(byte[] bytes, string source = "<bytes>", long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var ms = new MemoryStream(bytes, writable: false);
        return Read(ms, source, maxBytes);
    }

    /// <summary>Parses an IDX stream (raw or gzipped, seekable); <paramref name="source"/> names it in errors.</summary>
    public static IdxArray Read(Stream stream, string source, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        bool gzip = false;
        DatasetFormatException Bad(string problem, Exception? inner = null) => new(source, gzip ? $"gzip data: {problem}" : problem, inner);
        if (!stream.CanSeek) throw new ArgumentException("the stream must be seekable (the gzip trailer is read from its end).", nameof(stream));

        long length = stream.Length;
        Span<byte> magic = stackalloc byte[2];
        int got = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        stream.Position = 0;
        gzip = got == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
        uint trailerCrc = 0, trailerLength = 0;
        if (gzip)
        {
            if (length < 18) throw Bad($"truncated gzip data: {length} bytes, fewer than a gzip header and trailer.");
            Span<byte> trailer = stackalloc byte[8];
            stream.Position = length - 8;
            stream.ReadExactly(trailer);
            stream.Position = 0;
            trailerCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
            trailerLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        }
        using var body = gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : null;
        Stream input = body ?? stream;
        try
        {
            var head = new byte[4];
            int n = input.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            if (n < 4) throw Bad($"truncated: {n} bytes, fewer than the 4-byte magic number.");
            if (head[0] != 0 || head[1] != 0)
                throw Bad($"bad magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(head):X8}; an IDX file starts with two zero bytes.");
            if (head[2] != 0x08)
                throw Bad($"element type 0x{head[2]:X2} is not supported; expected 0x08 (unsigned byte).");
            int rank = head[3];
            if (rank == 0) throw Bad("the magic number declares zero dimensions.");
            var sizes = new byte[4 * rank];
            n = input.ReadAtLeast(sizes, sizes.Length, throwOnEndOfStream: false);
            if (n < sizes.Length) throw Bad($"truncated: the {rank} dimension sizes need {4 + sizes.Length} header bytes, the file has {4 + n}.");

            var shape = new int[rank];
            long count = 1;
            for (int d = 0; d < rank; d++)
            {
                uint size = BinaryPrimitives.ReadUInt32BigEndian(sizes.AsSpan(4 * d));
                if (size > int.MaxValue) throw Bad($"dimension {d} has an impossible size {size}.");
                shape[d] = (int)size;
                count = count == 0 ? 0 : (long)Math.Min((ulong)count * size, ulong.MaxValue / 2);
            }
            string Shape() => $"[{string.Join(", ", shape)}]";
            if (count > Math.Min(maxBytes, Array.MaxLength))
                throw Bad($"shape {Shape()} declares {count} data bytes, more than the {Math.Min(maxBytes, Array.MaxLength)} this reader accepts (raise maxBytes to read it).");
            int headerLen = 4 + sizes.Length;
            if (!gzip && length - headerLen < count)
                throw Bad($"truncated: shape {Shape()} needs {count} data bytes, the file has {length - headerLen}.");
            // Before inflating the data: the trailer states the inflated length, and deflate cannot
            // inflate more than 1032 bytes per compressed byte, so a small file declaring a large
            // shape is refused here, not after allocating or inflating it.
            if (gzip && trailerLength != (uint)(headerLen + count))
                throw Bad($"shape {Shape()} declares {headerLen + count} inflated bytes but the gzip trailer says {trailerLength}; truncated or corrupt.");
            if (gzip && count > MaxDeflateRatio * length)
                throw Bad($"shape {Shape()} declares {count} data bytes, more than a {length}-byte gzip file can hold.");

            var data = new byte[count];
            n = input.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (n < count) throw Bad($"truncated: shape {Shape()} needs {count} data bytes, the file has {n}.");
            // Anything after the data is an error; read a bounded amount to say how much.
            var extra = new byte[4096];
            long more = 0;
            int k;
            while ((k = input.Read(extra, 0, extra.Length)) > 0 && more < (1 << 20)) more += k;
            if (more > 0) throw Bad($"{(more >= 1 << 20 ? "at least " : "")}{more} unexpected bytes after the {count} data bytes of shape {Shape()}.");
            // GZipStream stops quietly at a cut-off end, so check the trailer ourselves:
            // the CRC-32 and the length (mod 2³²) of the inflated data.
            if (gzip && (trailerLength != (uint)(headerLen + count) || trailerCrc != Crc32.Compute(Concat(head, sizes), data)))
                throw Bad("truncated or corrupt gzip data (the trailer's length or CRC does not match the inflated data).");
            return new IdxArray(shape, data);
        }
        catch (InvalidDataException e) { throw Bad($"truncated or corrupt gzip data: {e.Message}", e); }
    }

    // Deflate's largest expansion: a 258-byte match costs at least 2 bits (about 1032:1).
    private const long MaxDeflateRatio = 1032;

    private static byte[] Concat(byte[] a, byte[] b)
    {
        var r = new byte[a.Length + b.Length];
        a.CopyTo(r, 0); b.CopyTo(r, a.Length);
        return r;
    }
}
