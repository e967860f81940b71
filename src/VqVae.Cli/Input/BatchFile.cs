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
        return Tensor.FromArray(x.Data, x.Shape);
    }

    public static void Write(string path, Tensor x) =>
        SafeTensors.Write(path, [new SafeTensorEntry(Key, x.Shape, x.ToArray())]);
}
