using System.Security.Cryptography;
using System.Text;
using VqVae.Data.Datasets;
using VqVae.Data.Images;
using VqVae.Functional.Checkpoints;
using VqVae.Functional.Model;
using VqVae.Functional.Prior;

namespace VqVae.Cli.Train;

/// <summary>What the prior verbs read and write around the library's prior pipeline.</summary>
internal static class PriorArtifacts
{
    /// <summary>
    /// Training and held-out images (pixels; the model applies its own input range): the data's own split, as
    /// <c>train</c> and <c>eval</c> read it (<see cref="DataSource.LoadSplit"/>), so the prior is fitted to the codes of
    /// the images the model was trained on and judged on images that neither the model nor the prior has seen.
    /// </summary>
    public static (Tensor Train, Tensor HeldOut) Load(string spec, int seed)
    {
        var (train, held) = DataSource.LoadSplit(spec, seed);
        if (train.Count < 1 || held.Count < 1)
            throw new UserError($"--data: a prior needs training and held-out images, got {train.Count} and {held.Count}");
        static Tensor Part(Dataset d) => Tensor.FromArray(d.Images, d.Count, d.Channels, d.Height, d.Width);
        return (Part(train), Part(held));
    }

    /// <summary>Decoded samples as a grid picture, 8 per row, each pixel drawn 2×2.</summary>
    public static Image SampleGrid(VqVaeModel model, VqVae.Functional.Quantization.CodeIndices codes)
    {
        var images = VqVaeModel.DecodeCodes(model, codes);
        var s = images.Shape;
        return Pictures.Atlas(images.ToArray(), s[0], s[1], s[2], s[3], Math.Min(8, s[0]), scale: 2);
    }

    /// <summary>"model.safetensors sha256:0123…": which VQ-VAE a prior models, stored in its checkpoint.</summary>
    public static string ModelIdentity(string modelPath)
    {
        using var f = File.OpenRead(modelPath);
        var hash = Convert.ToHexStringLower(SHA256.HashData(f))[..16];
        return $"{Path.GetFileName(modelPath)} sha256:{hash}";
    }

    /// <summary>step,nats_per_code,bits_per_code rows, written atomically.</summary>
    public static void WriteMetrics(string path, IReadOnlyList<(int Step, double Nats)> rows)
    {
        var sb = new StringBuilder("step,nats_per_code,bits_per_code\n");
        foreach (var (step, nats) in rows)
            sb.Append(CultureInfo.InvariantCulture, $"{step},{nats:G6},{nats / Math.Log(2):G6}\n");
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }

    /// <summary>Loads a prior checkpoint, with errors naming the option.</summary>
    public static LoadedPrior LoadPrior(string path, string option = "--prior")
    {
        if (!File.Exists(path)) throw new UserError($"{option}: no such file: {path}");
        try { return PriorCheckpoint.Load(path); }
        catch (CheckpointException e) { throw new UserError($"{option}: {e.Message}"); }
    }

    /// <summary>Throws a user error unless the prior models codes of this VQ-VAE's codebook size.</summary>
    public static void CheckMatches(PixelCnnPrior prior, VqVaeModel model)
    {
        if (prior.Config.CodebookSize != model.Config.CodebookSize)
            throw new UserError($"--prior: the prior models {prior.Config.CodebookSize} codes, the model (--model) has {model.Config.CodebookSize}");
        if (prior.Config.HasClassCondition || prior.Config.HasGridCondition)
            throw new UserError("--prior: this prior is conditional; 'vqvae sample' draws from unconditional priors");
    }
}
