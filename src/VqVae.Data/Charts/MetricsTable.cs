using System.Collections.Immutable;
using System.Globalization;

namespace VqVae.Data.Charts;

/// <summary>
/// A metrics.csv read back: the header's column names and one column of numbers per name (one
/// value per step). Any CSV of numbers with a header line reads; charts ask for the columns they
/// draw by name, so older or newer runs with other columns still chart what they have.
/// </summary>
/// <example><code>var curves = TrainingCurves.Draw(MetricsTable.Read("runs/latest/metrics.csv"));</code></example>
public sealed record MetricsTable
{
    private readonly ImmutableDictionary<string, double[]> columns;

    private MetricsTable(ImmutableArray<string> names, ImmutableDictionary<string, double[]> columns, int rows)
    {
        Names = names;
        this.columns = columns;
        Rows = rows;
    }

    /// <summary>The column names, in file order.</summary>
    public ImmutableArray<string> Names { get; }

    /// <summary>The number of data rows.</summary>
    public int Rows { get; }

    /// <summary>Whether a column of that name exists.</summary>
    public bool Has(string name) => columns.ContainsKey(name);

    /// <summary>The values of column <paramref name="name"/> (a copy), one per row.</summary>
    public double[] Column(string name) =>
        columns.TryGetValue(name, out var c)
            ? (double[])c.Clone()
            : throw new ArgumentException($"metrics have no column '{name}'; they have {string.Join(", ", Names)}.", nameof(name));

    /// <summary>Reads a metrics CSV file.</summary>
    public static MetricsTable Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses CSV text: a header line of names, then rows of invariant-culture numbers.</summary>
    /// <exception cref="FormatException">A row with the wrong number of fields or a field that is not a number, naming the line.</exception>
    public static MetricsTable Parse(string text, string source = "<metrics>")
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
        if (lines.Length == 0) throw new FormatException($"{source}: empty; expected a header line such as 'step,recon,…'.");
        var names = lines[0].Split(',').Select(n => n.Trim()).ToImmutableArray();
        var values = names.Select(_ => new double[lines.Length - 1]).ToArray();
        for (int r = 1; r < lines.Length; r++)
        {
            var fields = lines[r].Split(',');
            if (fields.Length != names.Length)
                throw new FormatException($"{source}: line {r + 1} has {fields.Length} fields; the header has {names.Length}.");
            for (int c = 0; c < fields.Length; c++)
                if (!double.TryParse(fields[c], NumberStyles.Float, CultureInfo.InvariantCulture, out values[c][r - 1]))
                    throw new FormatException($"{source}: line {r + 1}, column '{names[c]}': '{fields[c]}' is not a number.");
        }
        var dict = ImmutableDictionary.CreateBuilder<string, double[]>();
        for (int c = 0; c < names.Length; c++) dict[names[c]] = values[c];
        return new MetricsTable(names, dict.ToImmutable(), lines.Length - 1);
    }
}
