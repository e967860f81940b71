using ScottPlot;
using SkiaSharp;

namespace VqVae.Data.Charts;

/// <summary>
/// The one font every chart draws with: DejaVu Sans, embedded in this assembly (Fonts/DejaVuSans.LICENSE).
/// Charts must not depend on the machine's fonts: the Linux Skia we ship (NoDependencies) does not
/// use fontconfig, and a machine with only the .NET SDK may have no font at all, in which case
/// ScottPlot's own lookup would draw every label as nothing.
/// </summary>
internal static class ChartFont
{
    /// <summary>The family name charts ask for.</summary>
    public const string Family = "DejaVu Sans";

    private static readonly Lazy<SKTypeface> Typeface = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<bool> Registered = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Registers the embedded font with ScottPlot (once per process) and makes it the default.</summary>
    public static void Ensure() => _ = Registered.Value;

    private static bool Register()
    {
        // Ahead of ScottPlot's resolvers, and for every family name: a label never falls through to a missing system font.
        Fonts.FontResolvers.Insert(0, new EmbeddedResolver());
        Fonts.Default = Family;
        return true;
    }

    private static SKTypeface Load()
    {
        using var stream = typeof(ChartFont).Assembly.GetManifestResourceStream("VqVae.Data.Charts.DejaVuSans.ttf")
            ?? throw new InvalidOperationException("the chart font (resource VqVae.Data.Charts.DejaVuSans.ttf) is missing from VqVae.Data.");
        using var data = SKData.Create(stream);
        return SKTypeface.FromData(data)
            ?? throw new InvalidOperationException("the chart font (resource VqVae.Data.Charts.DejaVuSans.ttf) could not be decoded by Skia.");
    }

    private sealed class EmbeddedResolver : IFontResolver
    {
        public SKTypeface CreateTypeface(string fontName, bool bold, bool italic) => Typeface.Value;

        public SKTypeface CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) => Typeface.Value;
    }
}
