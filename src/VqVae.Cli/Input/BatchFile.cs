using System.Globalization;
using VqVae.Tensors;

namespace VqVae.Cli.Input;

/// <summary>Batch files (DESIGN §6): safetensors with key <c>x</c>, float32 [B,C,H,W].</summary>
internal static class BatchFile
{
    public const string Key = "x";

    public static Tensor Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"--batch: no such file: {path}");
        var file = SafeTensors.Read(path);
        if (!file.TryGet(Key, out var x))
            throw new UserError($"--batch: {path} has no tensor named '{Key}' (it has: {string.Join(", ", file.Names)})");
        if (x.Shape.Length != 4)
            throw new UserError($"--batch: '{Key}' in {path} must be [B,C,H,W], got [{string.Join(",", x.Shape)}]");
        if (x.Shape.Any(d => d == 0))
            throw new UserError($"--batch: '{Key}' in {path} has shape [{string.Join(",", x.Shape)}]; B, C, H and W must all be at least 1");
        int bad = Array.FindIndex(x.Data, v => !float.IsFinite(v));
        if (bad >= 0)
            throw new UserError(string.Create(CultureInfo.InvariantCulture,
                $"--batch: '{Key}' in {path} holds {x.Data.Count(v => !float.IsFinite(v))} non-finite value(s) (the first, {x.Data[bad]}, at index {bad}); images must be finite"));
        return Tensor.FromArray(x.Data, x.Shape);
    }

    public static void Write(string path, Tensor x) =>
        SafeTensors.Write(path, [new SafeTensorEntry(Key, x.Shape, x.ToArray())]);
}
