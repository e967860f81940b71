using VqVae.Functional.Quantization;
using VqVae.Tensors;

namespace VqVae.Functional.Codebooks;

/// <summary>What each code draws, decoded: the tiles of a codebook atlas and the codes they show.</summary>
/// <param name="Codes">The code of each tile, most used first.</param>
/// <param name="Tiles">The decoded tiles [N,C,H,W], in pixels.</param>
public sealed record CodebookAtlas(int[] Codes, Tensor Tiles)
{
    /// <summary>
    /// One tile per used code (all codes when <paramref name="usage"/> counted none), most used first:
    /// a latent grid of <paramref name="latentHeight"/>×<paramref name="latentWidth"/> filled with the most used code
    /// (usually the background) with a 3×3 block of the tile's code in the centre, decoded. Decodes 64 tiles at a time.
    /// </summary>
    /// <example><code>
    /// var atlas = CodebookAtlas.Of(model, run.Window, 7, 7);
    /// ImageFile.WritePng("atlas.png", Pictures.Atlas(atlas.Tiles.ToArray(), atlas.Codes.Length, 1, 28, 28, columns: 16));
    /// </code></example>
    public static CodebookAtlas Of(VqVaeModel model, CodeUsage usage, int latentHeight, int latentWidth)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(usage);
        int k = model.Codebook.Size;
        if (usage.Codes != k) throw new ArgumentException($"codebookAtlas: usage counts {usage.Codes} codes, the model has {k}.", nameof(usage));
        if (latentHeight < 1 || latentWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(latentHeight), $"codebookAtlas: the latent grid must be at least 1×1, got {latentHeight}×{latentWidth}.");
        const int chunk = 64;
        int cells = latentHeight * latentWidth;
        var block = (from r in Enumerable.Range(latentHeight / 2 - 1, 3) from c in Enumerable.Range(latentWidth / 2 - 1, 3)
                     where r >= 0 && c >= 0 && r < latentHeight && c < latentWidth select r * latentWidth + c).ToArray();
        var order = Enumerable.Range(0, k).Where(i => usage.Counts[i] > 0).OrderByDescending(i => usage.Counts[i]).ThenBy(i => i).ToArray();
        if (order.Length == 0) order = Enumerable.Range(0, k).ToArray();
        int background = order[0];
        var parts = new List<Tensor>();
        for (int start = 0; start < order.Length; start += chunk)
        {
            int n = Math.Min(chunk, order.Length - start);
            var codes = new int[n * cells];
            Array.Fill(codes, background);
            for (int i = 0; i < n; i++) foreach (var cell in block) codes[i * cells + cell] = order[start + i];
            parts.Add(VqVaeModel.DecodeCodes(model, CodeIndices.Of(codes, n, latentHeight, latentWidth)));
        }
        return new(order, Tensor.Cat(parts));
    }
}
