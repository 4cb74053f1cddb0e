using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Tuning.Plans;

/// <summary>The rollback snapshot: the original value of every setting apply changed, written before each change
/// reaches the host. <see cref="Complete"/> stays false until an apply finishes; a snapshot found incomplete means
/// the apply was interrupted (crash, kill, power) and is rolled back at the next start.</summary>
public sealed record Snapshot(
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("started")] DateTimeOffset Started,
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("entries")] IReadOnlyList<SnapshotEntry> Entries);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Snapshot))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;

/// <summary>Reads and durably writes the snapshot file (write to a temporary file, fsync, rename over the old one),
/// so a crash leaves either the previous snapshot or the new one, never half of one.</summary>
public sealed class SnapshotStore
{
    /// <summary>Where the daemon keeps it by default: tmpfs, so a reboot (which resets every runtime setting) drops it too.</summary>
    public const string DefaultDirectory = "/run/dataplane";

    /// <summary>The snapshot file's name inside the run directory.</summary>
    public const string FileName = "tuning-snapshot.json";

    public SnapshotStore(string directory)
    {
        Directory = directory;
        Path = System.IO.Path.Combine(directory, FileName);
    }

    /// <summary>The run directory.</summary>
    public string Directory { get; }

    /// <summary>The snapshot file.</summary>
    public string Path { get; }

    /// <summary>The saved snapshot, or null when there is none. A file that cannot be parsed is an error: silently
    /// ignoring it would lose the originals.</summary>
    public Snapshot? Load()
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(Path), SnapshotJsonContext.Default.Snapshot)
                ?? throw new TuningException($"{Path} is empty");
        }
        catch (JsonException e)
        {
            throw new TuningException($"{Path} is not a readable tuning snapshot ({e.Message}); move it aside after restoring the settings it lists by hand", e);
        }
    }

    /// <summary>Writes the snapshot durably.</summary>
    public void Save(Snapshot snapshot)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string temp = Path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, snapshot, SnapshotJsonContext.Default.Snapshot);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
    }

    /// <summary>Removes the snapshot after a complete rollback.</summary>
    public void Delete() => File.Delete(Path);
}
