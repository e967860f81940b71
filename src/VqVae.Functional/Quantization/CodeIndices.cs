using System.Collections.Immutable;
using System.Globalization;

namespace VqVae.Functional.Quantization;

/// <summary>Code indices of a batch of latents, shape [B,H,W], row-major (immutable).</summary>
/// <example><code>var codes = VqVaeModel.EncodeToCodes(model, x); int k = codes[0, 3, 4];</code></example>
public sealed record CodeIndices
{
    /// <summary>Indices for a [batch, height, width] grid, row-major.</summary>
    public CodeIndices(ImmutableArray<int> values, int batch, int height, int width)
    {
        if (batch < 1 || height < 1 || width < 1)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"codeIndices: batch, height and width must be ≥ 1, got [{batch}, {height}, {width}]."), nameof(batch));
        if (values.IsDefault || values.Length != batch * height * width)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"codeIndices: expected {batch * height * width} values for shape [{batch}, {height}, {width}], got {(values.IsDefault ? 0 : values.Length)}."), nameof(values));
        foreach (var v in values)
            if (v < 0) throw new ArgumentOutOfRangeException(nameof(values), v, $"codeIndices: indices must be ≥ 0, got {v}.");
        (Values, Batch, Height, Width) = (values, batch, height, width);
    }

    /// <summary>A copy of <paramref name="values"/> as a [batch, height, width] grid.</summary>
    public static CodeIndices Of(int[] values, int batch, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new([.. values], batch, height, width);
    }

    /// <summary>The indices, row-major over [B,H,W].</summary>
    public ImmutableArray<int> Values { get; }
    /// <summary>B.</summary>
    public int Batch { get; }
    /// <summary>H.</summary>
    public int Height { get; }
    /// <summary>W.</summary>
    public int Width { get; }
    /// <summary>[B,H,W].</summary>
    public int[] Shape => [Batch, Height, Width];
    /// <summary>B·H·W.</summary>
    public int Count => Values.Length;

    /// <summary>The index at (b, h, w).</summary>
    public int this[int b, int h, int w]
    {
        get
        {
            if ((uint)b >= (uint)Batch || (uint)h >= (uint)Height || (uint)w >= (uint)Width)
                throw new ArgumentOutOfRangeException(nameof(b), $"codeIndices: ({b}, {h}, {w}) is outside [{Batch}, {Height}, {Width}].");
            return Values[(b * Height + h) * Width + w];
        }
    }

    /// <summary>A copy of the values.</summary>
    public int[] ToArray() => [.. Values];

    /// <summary>How many positions use each of the <paramref name="codebookSize"/> codes (<see cref="Codebooks.CodeUsage.Count(ReadOnlySpan{int}, int)"/>, the one count).</summary>
    public int[] Counts(int codebookSize)
    {
        if (codebookSize < 1) throw new ArgumentOutOfRangeException(nameof(codebookSize), codebookSize, "counts: codebookSize must be ≥ 1.");
        // A batch holds at most int.MaxValue positions, so each count fits an int.
        return Array.ConvertAll(Codebooks.CodeUsage.Count(Values.AsSpan(), codebookSize), c => (int)c);
    }

    /// <inheritdoc/>
    public bool Equals(CodeIndices? other) => // the batch follows from the height, the width and the number of values
        other is not null && Height == other.Height && Width == other.Width && Values.AsSpan().SequenceEqual(other.Values.AsSpan());

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        // Stryker disable once Statement : equivalent for the contract, leaving out the shape only lets grids of other shapes collide; equal grids still hash alike
        h.Add(HashCode.Combine(Batch, Height, Width));
        foreach (var v in Values) h.Add(v);
        return h.ToHashCode();
    }
}
