using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Functional.Model;

/// <summary>Reading a model's leaves out of a state dict by name (VqVaeModel and VqVae2Model alike).</summary>
internal static class StateDicts
{
    /// <summary>
    /// The tensor of <paramref name="stateDict"/> for each of <paramref name="leaves"/>, detached and checked against the
    /// leaf's shape (an <see cref="ArgumentException"/> on <c>stateDict</c> names the first that differs), null where
    /// the name is absent; and the absent names in leaf order.
    /// </summary>
    public static (Tensor?[] Values, List<string> Missing) Take(IReadOnlyList<TreeLeaf> leaves, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var values = new Tensor?[leaves.Count];
        var missing = new List<string>();
        for (int i = 0; i < leaves.Count; i++)
        {
            var (name, t) = (leaves[i].Name, leaves[i].Value);
            if (!stateDict.TryGetValue(name, out var v) || v is null) { missing.Add(name); continue; }
            if (!v.Shape.AsSpan().SequenceEqual(t.Shape))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"state dict: '{name}' must have shape [{string.Join(",", t.Shape)}] for this config, got [{string.Join(",", v.Shape)}]."), nameof(stateDict));
            values[i] = v.NoDiff();
        }
        return (values, missing);
    }
}
