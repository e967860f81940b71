using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VqVae.Tensors.Backends.Cpu;

/// <summary>
/// Instruction-set levels of the CPU backend, lowest to highest. Every CPU kernel (GEMM micro-kernel,
/// conv lowering and scatter rows, nearest-code search, fused elementwise) has a path per level.
/// </summary>
public enum IsaLevel
{
    /// <summary>Plain scalar loops (any CPU).</summary>
    Scalar = 0,
    /// <summary>.NET's cross-platform 128-bit vectors (SSE on x64, NEON on ARM64).</summary>
    Vector128 = 1,
    /// <summary>AVX2 + FMA3 (256-bit).</summary>
    Avx2 = 2,
    /// <summary>AVX-512F (512-bit), with AVX2 + FMA3.</summary>
    Avx512 = 3,
}

/// <summary>
/// The one ISA setting of the CPU backend: which <see cref="IsaLevel"/> every kernel runs. By default the
/// environment variable <c>VQVAE_ISA</c> (<c>avx512</c>, <c>avx2</c>, <c>vector128</c> or <c>scalar</c>), else
/// the best level this CPU supports; <see cref="Level"/> overrides both. Every level gives the same bits
/// (the same IEEE operations in the same order; only the vector width differs), so the setting decides speed only.
/// </summary>
/// <example><code>
/// CpuIsa.Level = IsaLevel.Vector128;   // force the portable path (throws if the CPU lacks it)
/// Console.WriteLine(CpuIsa.Name(CpuIsa.Level));   // "vector128"
/// </code></example>
public static class CpuIsa
{
    /// <summary>The environment variable read for the default level.</summary>
    public const string EnvironmentVariable = "VQVAE_ISA";

    /// <summary>Every level, highest first.</summary>
    public static IReadOnlyList<IsaLevel> All { get; } = [IsaLevel.Avx512, IsaLevel.Avx2, IsaLevel.Vector128, IsaLevel.Scalar];

    /// <summary>The highest level this CPU supports.</summary>
    public static IsaLevel Best { get; } = All.First(Supports);

    // null until set or first read from the environment; a bad environment value is not cached (it throws on every read).
    private static IsaLevel? level;

    /// <summary>
    /// The level the kernels run (see the class remarks for the default). Setting a level this CPU lacks throws
    /// <see cref="ArgumentException"/>; reading it throws the same when <c>VQVAE_ISA</c> names an unknown or
    /// unsupported level and nothing was set.
    /// </summary>
    public static IsaLevel Level
    {
        get => level ?? (IsaLevel)(level = FromEnvironment());
        set => level = Require(value, "value", null);
    }

    /// <summary>Whether this CPU can run <paramref name="isa"/>.</summary>
    public static bool Supports(IsaLevel isa) => isa switch
    {
        IsaLevel.Scalar => true,
        IsaLevel.Vector128 => Vector128.IsHardwareAccelerated,
        IsaLevel.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        IsaLevel.Avx512 => Avx512F.IsSupported && Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    /// <summary>The level's name as <c>VQVAE_ISA</c> and <c>vqvae bench --json</c> spell it.</summary>
    public static string Name(IsaLevel isa) => isa switch
    {
        IsaLevel.Avx512 => "avx512",
        IsaLevel.Avx2 => "avx2",
        IsaLevel.Vector128 => "vector128",
        IsaLevel.Scalar => "scalar",
        _ => throw new ArgumentOutOfRangeException(nameof(isa), isa, "Not an ISA level."),
    };

    /// <summary>
    /// The level named by <c>VQVAE_ISA</c>, or <see cref="Best"/> when it is unset or empty.
    /// Throws <see cref="ArgumentException"/> (one line, naming the variable) for an unknown or unsupported level.
    /// </summary>
    public static IsaLevel FromEnvironment() => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>
    /// The level a <c>VQVAE_ISA</c> value names (case-insensitive; null or blank: <see cref="Best"/>).
    /// Throws <see cref="ArgumentException"/> (one line, ParamName <c>VQVAE_ISA</c>) for an unknown level or one this CPU lacks.
    /// </summary>
    public static IsaLevel Parse(string? text)
    {
        text = text?.Trim();
        if (string.IsNullOrEmpty(text)) return Best;
        var parsed = All.Where(l => string.Equals(Name(l), text, StringComparison.OrdinalIgnoreCase)).ToArray();
        if (parsed.Length == 0)
            throw new ArgumentException(
                $"{EnvironmentVariable}={text} is not an ISA level: expected one of {string.Join(", ", All.Select(Name))} (or unset for the best this CPU supports).",
                EnvironmentVariable);
        return Require(parsed[0], EnvironmentVariable, $"{EnvironmentVariable}={text}");
    }

    private static IsaLevel Require(IsaLevel isa, string paramName, string? setting)
    {
        if (!Enum.IsDefined(isa))
            throw new ArgumentOutOfRangeException(paramName, isa, "Not an ISA level.");
        var what = setting ?? $"ISA level {Name(isa)}";
        if (!Supports(isa))
            throw new ArgumentException(
                $"{what}: this CPU does not support {Name(isa)}; it supports {string.Join(", ", All.Where(Supports).Select(Name))}.",
                paramName);
        return isa;
    }
}
