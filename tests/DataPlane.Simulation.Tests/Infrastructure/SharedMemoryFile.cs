namespace DataPlane.Simulation.Tests.Infrastructure;

/// <summary>A POSIX shared-memory object for a test: a file of <c>/dev/shm</c> with a unique name (the key a client
/// registers), read and written as a client would through its own mapping. Deleted on dispose.</summary>
public sealed class SharedMemoryFile : IDisposable
{
    public SharedMemoryFile(int byteSize, string directory = "/dev/shm")
    {
        Name = "dataplane-sim-test-" + Guid.NewGuid().ToString("N");
        Path = System.IO.Path.Combine(directory, Name);
        using var stream = new FileStream(Path, FileMode.CreateNew, FileAccess.ReadWrite);
        stream.SetLength(byteSize);
    }

    /// <summary>The object's name, as shm_open takes it; a client registers it as the key "/" + name.</summary>
    public string Name { get; }

    public string Key => "/" + Name;

    public string Path { get; }

    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Position = offset;
        stream.Write(bytes);
    }

    public byte[] Read(long offset, int count)
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Position = offset;
        var bytes = new byte[count];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public void Dispose() => File.Delete(Path);
}
