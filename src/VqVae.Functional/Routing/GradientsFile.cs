using VqVae.Tensors;
using VqVae.Tensors.IO;

namespace VqVae.Functional.Routing;

/// <summary>
/// Gradients files (DESIGN §6, contract): safetensors with a key <c>&lt;term&gt;/&lt;parameter&gt;</c> for
/// each loss term (recon, codebook, commitment, total) and each parameter its gradient reaches.
/// A key is absent exactly where the term does not reach the parameter.
/// </summary>
/// <example><code>
/// var terms = GradientsFile.Write("g.safetensors", model, x);   // the loss terms of the batch
/// </code></example>
public static class GradientsFile
{
    /// <summary>Each term's gradients at (model, x), one backward pass per term, as file entries; and the loss terms.</summary>
    public static (IReadOnlyList<SafeTensorEntry> Entries, LossTerms Terms) Compute(VqVaeModel model, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(model);
        // Stryker disable once Statement : the loss terms refuse a null batch the same way, by the same name (x)
        ArgumentNullException.ThrowIfNull(x);
        var entries = new List<SafeTensorEntry>();
        LossTerms? terms = null;
        foreach (var term in LossTerms.Names)
        {
            var (_, t, grads) = Grad.ValueAndGradWithAux(p => { var lt = VqVaeModel.LossTerms(p, x); return (lt.Term(term), lt); }, model);
            // Stryker disable once Assignment : every pass computes the same terms; the first is kept
            terms ??= t;
            foreach (var leaf in grads)
                if (leaf.Gradient is { } g) entries.Add(new SafeTensorEntry($"{term}/{leaf.Name}", g.Shape, g.ToArray()));
        }
        return (entries, terms!);
    }

    /// <summary>Writes the gradients of every term at (model, x) to <paramref name="path"/> atomically; returns the loss terms.</summary>
    public static LossTerms Write(string path, VqVaeModel model, Tensor x)
    {
        // Stryker disable once Statement : SafeTensors.Write refuses a null or empty path the same way (after the gradients are computed)
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (entries, terms) = Compute(model, x);
        SafeTensors.Write(path, entries);
        return terms;
    }
}
