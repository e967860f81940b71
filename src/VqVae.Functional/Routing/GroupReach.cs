namespace VqVae.Functional.Routing;

/// <summary>Which parameter groups a scalar function of the model reaches (has a gradient path to).</summary>
/// <param name="Encoder">Some encoder leaf gets a gradient.</param>
/// <param name="Codebook">The codebook gets a gradient.</param>
/// <param name="Decoder">Some decoder leaf gets a gradient.</param>
public sealed record GroupReach(bool Encoder, bool Codebook, bool Decoder)
{
    /// <inheritdoc/>
    public override string ToString() => $"{{ Encoder = {Encoder}; Codebook = {Codebook}; Decoder = {Decoder} }}";
}

/// <summary>One row of the routing matrix: a loss term and the gradient norm it sends to each group (null: not reached).</summary>
/// <param name="Term">recon, codebook, commitment or total.</param>
/// <param name="Encoder">‖d term / d encoder‖ over all encoder leaves, or null.</param>
/// <param name="Codebook">‖d term / d codebook‖, or null.</param>
/// <param name="Decoder">‖d term / d decoder‖, or null.</param>
public sealed record RoutingRow(string Term, double? Encoder, double? Codebook, double? Decoder)
{
    /// <summary>The reach pattern of this row.</summary>
    public GroupReach Reach => new(Encoder is not null, Codebook is not null, Decoder is not null);
}

/// <summary>Loss terms × parameter groups (DESIGN §7 <c>vqvae routes</c>), rows in the order recon, codebook, commitment, total.</summary>
/// <param name="Rows">One row per term.</param>
public sealed record RoutingMatrix(IReadOnlyList<RoutingRow> Rows)
{
    /// <summary>The row of a term.</summary>
    public RoutingRow this[string term] => Rows.FirstOrDefault(r => r.Term == term)
        ?? throw new ArgumentException($"routing: no row '{term}'; rows are {string.Join(", ", Rows.Select(r => r.Term))}.", nameof(term));

    /// <summary>A plain-text table, "—" where a term does not reach a group.</summary>
    public override string ToString()
    {
        static string Cell(double? v) => v is { } d ? d.ToString("0.000e+00", System.Globalization.CultureInfo.InvariantCulture) : "—";
        var lines = new List<string> { $"{"term",-11} {"encoder",11} {"codebook",11} {"decoder",11}" };
        lines.AddRange(Rows.Select(r => $"{r.Term,-11} {Cell(r.Encoder),11} {Cell(r.Codebook),11} {Cell(r.Decoder),11}"));
        return string.Join(Environment.NewLine, lines);
    }
}
