using System.Globalization;
using VqVae.Functional.Model;

namespace VqVae.Functional.Resources;

/// <summary>
/// The memory a training run of a config will need, estimated before any work starts, so a
/// configuration that cannot fit is refused in one line instead of growing until the machine swaps
/// or the runtime throws <see cref="OutOfMemoryException"/> deep inside a kernel.
/// </summary>
/// <remarks>
/// The estimate counts the model's values (weights, gradients, Adam's two moments and the fresh
/// copies an immutable update makes), the activations a train step keeps for the backward pass (per
/// image, from the architecture's layer outputs), the largest im2col buffer, and a fixed runtime
/// base. Its factors were calibrated against the peak resident memory of real runs (README,
/// "Limits"); it is a planning figure, not a bound.
/// </remarks>
/// <example><code>
/// var plan = MemoryPlan.ForTraining(VqVaeConfig.Mnist, batch: 64, height: 28, width: 28);
/// if (plan.Bytes > MemoryPlan.AvailableBytes()) Console.Error.WriteLine(plan.Describe());
/// </code></example>
public sealed record MemoryPlan(long ModelValues, long ActivationValuesPerImage, int Batch, long Bytes)
{
    /// <summary>The runtime, the data set's arrays and the kernels' scratch: present in every run.</summary>
    public const long BaseBytes = 100L << 20;

    // Calibrated factors (see remarks): values alive per model value during a step, and per activation value.
    private const long PerModelValue = 10;
    private const long PerActivationValue = 5;

    /// <summary>The plan for train steps of <paramref name="batch"/> images of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static MemoryPlan ForTraining(VqVaeConfig config, int batch, int height, int width)
    {
        // Stryker disable once Statement : equivalent, ModelSize refuses a null config by the same name
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        long p = ModelSize.ValuesSaturated(config);
        long a = ActivationsPerImage(config, height, width);
        long bytes = Saturating(() => checked(BaseBytes + 4 * (PerModelValue * p + PerActivationValue * batch * a)));
        return new(p, a, batch, bytes);
    }

    /// <summary>The memory this process may plan to use: the smaller of the memory available now (Linux
    /// <c>MemAvailable</c>, plus what this process already holds) and the runtime's limit (container or machine).</summary>
    public static long AvailableBytes() => AvailableBytes("/proc/meminfo", Environment.WorkingSet);

    /// <summary><see cref="AvailableBytes()"/> from a given meminfo file and bytes this process holds: the runtime's
    /// limit when the file cannot be read or has no readable <c>MemAvailable</c> line.</summary>
    internal static long AvailableBytes(string meminfoPath, long ownBytes)
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (var line in File.ReadLines(meminfoPath))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line["MemAvailable:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
                    return Math.Min(limit, Saturating(() => checked(kb * 1024 + ownBytes)));
                }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException) { }
        return limit;
    }

    /// <summary>"about 1.2 GB (model 0.9 M values, 61 k activation values per image × 64)".</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"about {Gb(Bytes)} (model {ModelValues / 1e6:0.##} M values, {ActivationValuesPerImage / 1e3:0.#} k activation values per image × {Batch})");

    /// <summary>Bytes as GB with two decimals.</summary>
    public static string Gb(long bytes) => bytes == long.MaxValue ? "more than 9 EB" : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:0.00} GB");

    // Values a train step holds per image: the layers' outputs (the kernels' im2col buffers are per
    // image or per block, so they do not grow with the batch and sit in the base).
    private static long ActivationsPerImage(VqVaeConfig c, int height, int width)
    {
        return Saturating(Compute);
        long Compute()
        {
            // checked inside the body: a checked(...) around the call would not reach the local function's arithmetic
            checked
            {
                long C = c.Channels, h = c.Hidden, D = c.CodeDim, L = c.ResidualLayers, r = c.ResidualChannels;
                long img = (long)height * width, half = img / 4 + 1, quarter = img / 16 + 1;
                long first = c.Architecture == Architecture.Compact ? h / 2 : h;
                return 2 * first * half * 2          // encoder conv 1 and its ReLU, the decoder's mirror
                    + 2 * h * quarter * 2            // encoder conv 2 / decoder conv 1 and their ReLUs
                    + 9 * D * quarter                // z_e, z_q, the straight-through sum, the loss differences and their gradients
                    + 12 * C * img                   // input, output, activation, reconstruction difference, normalisation
                    + (c.Architecture == Architecture.Residual ? 2 * L * (2 * h + 2 * r) * quarter : 0);
            }
        }
    }

    private static long Saturating(Func<long> f)
    {
        try { return f(); }
        catch (OverflowException) { return long.MaxValue; }
    }
}
