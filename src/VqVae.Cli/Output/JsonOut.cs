using System.Text;
using System.Text.Json;

namespace VqVae.Cli.Output;

/// <summary>Small JSON documents for stdout (bench results, loss terms), indented, invariant numbers.</summary>
internal static class JsonOut
{
    public static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes a finite double, or null for NaN/∞ (JSON has no such numbers).</summary>
    public static void Number(this Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, Math.Round(v, 6)); else w.WriteNull(name);
    }
}
