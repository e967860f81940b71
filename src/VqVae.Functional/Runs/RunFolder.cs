using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace VqVae.Functional.Runs;

/// <summary>
/// An output folder that one run owns while it writes: a lock so two runs cannot interleave their
/// files, stale temporary files of killed runs removed at the start, and a manifest
/// (<see cref="ManifestName"/>) that says "writing" from the start and lists every file with its
/// SHA-256 once the set is complete, so a half-written set is recognisable. Readers check a file
/// against its folder's manifest with <see cref="Verify"/>.
/// </summary>
/// <example><code>
/// using var folder = RunFolder.Open("runs/latest");
/// Checkpoint.Save(folder.PathOf("model.safetensors"), model);
/// folder.Complete(["model.safetensors"]);   // the manifest, written last
/// </code></example>
public sealed class RunFolder : IDisposable
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "manifest.json";
    /// <summary>The lock file's name (present only while a run holds the folder).</summary>
    public const string LockName = ".vqvae.lock";

    private readonly FileStream _lock;

    private RunFolder(string path, string runId, FileStream lockStream)
    {
        Path = path; RunId = runId; _lock = lockStream;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>This run's id (recorded in the manifest).</summary>
    public string RunId { get; }

    /// <summary>
    /// Creates <paramref name="path"/> if needed and takes it for this run: the lock, stale temporary
    /// files removed, the manifest marked "writing".
    /// </summary>
    /// <exception cref="RunFolderException">The folder cannot be created or written, or another run holds it.</exception>
    public static RunFolder Open(string path)
    {
        // Stryker disable once Statement : equivalent, GetFullPath refuses a null or empty path by the same name
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        FileStream lockStream;
        try
        {
            Directory.CreateDirectory(full);
            // FileShare.None is an exclusive lock on the open file (flock on Unix); the kernel drops it
            // when the process dies, so a killed run never leaves the folder locked.
            lockStream = new FileStream(System.IO.Path.Combine(full, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None,
                bufferSize: 1, FileOptions.DeleteOnClose);
        }
        // Stryker disable once Logical : equivalent, a folder that exists has neither a missing part nor a path too long, so the first two tests agree
        catch (IOException e) when (e is not (DirectoryNotFoundException or PathTooLongException) && Directory.Exists(full) && IsLocked(full))
        {
            throw new RunFolderException(path, $"another run is writing to it (the lock {LockName} is held); use another folder or wait for that run.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new RunFolderException(path, $"cannot be created or written ({e.Message}).", e);
        }
        var folder = new RunFolder(full, $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Guid.NewGuid():N}"[..30], lockStream);
        try
        {
            RemoveStaleTemporaries(full);
            folder.WriteManifest("writing", []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            folder.Dispose();
            throw new RunFolderException(path, $"cannot be written ({e.Message}).", e);
        }
        return folder;
    }

    /// <summary>The path of <paramref name="name"/> in the folder.</summary>
    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes the manifest last: status "complete" and every named file with its size and SHA-256.</summary>
    public void Complete(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        WriteManifest("complete", names.ToArray());
    }

    /// <summary>
    /// Records a checkpoint of a run still going: status "checkpoint", the optimizer <paramref name="step"/>, and
    /// the named files (the checkpoint's) with their size and SHA-256, which <see cref="Verify"/> then accepts.
    /// </summary>
    public void Checkpoint(IEnumerable<string> names, int step)
    {
        ArgumentNullException.ThrowIfNull(names);
        WriteManifest("checkpoint", names.ToArray(), step);
    }

    /// <summary>Releases the folder (the lock file disappears).</summary>
    public void Dispose() => _lock.Dispose();

    /// <summary>
    /// Checks <paramref name="file"/> against the manifest of its folder, if it has one: refuses a file
    /// of a set that is being written or was left half-written, and a file whose bytes differ from the
    /// manifest's hash. A folder without a manifest (a file from elsewhere) passes.
    /// </summary>
    /// <exception cref="RunFolderException">The set is incomplete, or the file does not match the manifest.</exception>
    public static void Verify(string file)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        string full = System.IO.Path.GetFullPath(file);
        string dir = System.IO.Path.GetDirectoryName(full)!;
        string manifest = System.IO.Path.Combine(dir, ManifestName);
        if (!File.Exists(manifest)) return;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(manifest)); }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        { throw new RunFolderException(dir, $"its {ManifestName} cannot be read ({e.Message}).", e); }
        using (doc)
        {
            var root = doc.RootElement;
            string status = Get(root, "status") ?? "?", run = Get(root, "run") ?? "?";
            // "checkpoint": a run still going (or killed) vouches for the files of its last checkpoint.
            if (status is not ("complete" or "checkpoint"))
                throw new RunFolderException(dir, $"run {run} is writing it or stopped half-way ({ManifestName} says \"{status}\"); its files may come from different runs. Use a folder whose run completed.");
            if (!root.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Object) return;
            string name = System.IO.Path.GetFileName(full);
            if (!files.TryGetProperty(name, out var entry)) return; // not part of the run's set (e.g. a file copied in later)
            string? expected = Get(entry, "sha256");
            string actual = Sha256(full);
            if (expected != actual)
                throw new RunFolderException(dir, $"{name} does not match {ManifestName} of run {run} (SHA-256 {actual[..12]}…, expected {expected?[..Math.Min(12, expected.Length)]}…); the file changed after the run wrote it.");
        }
    }

    private static string? Get(JsonElement e, string key) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool IsLocked(string dir)
    {
        try
        {
            using var probe = new FileStream(System.IO.Path.Combine(dir, LockName), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (FileNotFoundException) { return false; }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return false; }
    }

    // AtomicFile's temporaries are ".NAME.GUID.tmp"; with the lock held, any present belong to a run that died.
    private static void RemoveStaleTemporaries(string dir)
    {
        foreach (var f in Directory.EnumerateFiles(dir, ".*.tmp"))
            try { File.Delete(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private void WriteManifest(string status, string[] names, int? step = null)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "vqvae-run");
            w.WriteString("run", RunId);
            w.WriteString("status", status);
            if (step is { } s) w.WriteNumber("step", s);
            w.WriteString("written_utc", DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture));
            w.WriteStartObject("files");
            foreach (var n in names)
            {
                string p = PathOf(n);
                w.WriteStartObject(n);
                w.WriteNumber("bytes", new FileInfo(p).Length);
                w.WriteString("sha256", Sha256(p));
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        VqVae.Tensors.IO.AtomicFile.WriteAllBytes(PathOf(ManifestName), ms.ToArray());
    }

    private static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }
}
