using System.Text.Json;
using System.Text.Json.Serialization;
using VqVae.Functional;
using VqVae.Tensors;

namespace VqVae.Cli.Adapters;

/// <summary>
/// Checkpoint files as DESIGN §6 describes them (safetensors, PyTorch names, config JSON in the
/// metadata under "config"). A stand-in until the training branch's Checkpoint lands; every verb
/// goes through here so the switch is one place.
/// </summary>
internal static class ModelFile
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    public static void Save(string path, VqVaeModel model)
    {
        var entries = model.ToStateDict().Select(kv => new SafeTensorEntry(kv.Key, kv.Value.Shape, kv.Value.ToArray())).ToArray();
        SafeTensors.Write(path, entries, new Dictionary<string, string> { ["config"] = JsonSerializer.Serialize(model.Config, Json), ["format"] = "pt" });
    }

    /// <summary>Loads a checkpoint; a missing or unreadable file is a <see cref="UserError"/> naming it.</summary>
    public static VqVaeModel Load(string path, string option = "--model")
    {
        if (!File.Exists(path)) throw new UserError($"{option}: no such file: {path}");
        var file = SafeTensors.Read(path);
        if (!file.Metadata.TryGetValue("config", out var json))
            throw new UserError($"{option}: {path} has no config in its metadata, so its architecture is unknown");
        VqVaeConfig config;
        try { config = JsonSerializer.Deserialize<VqVaeConfig>(json, Json) ?? throw new JsonException("empty config"); }
        catch (JsonException e) { throw new UserError($"{option}: the config in {path} is not valid: {e.Message}"); }
        var dict = file.Entries.ToDictionary(e => e.Name, e => Tensor.FromArray(e.Data, e.Shape));
        try { return VqVaeModel.FromStateDict(config.Validate(), dict); }
        catch (ArgumentException e) { throw new UserError($"{option}: {path} does not fit its config: {Errors.Message(e)}"); }
    }
}
