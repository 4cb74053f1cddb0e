using System.Collections.Concurrent;
using System.IO.MemoryMappedFiles;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Protocol.SharedMemory;

/// <summary>System shared-memory regions registered by clients (Triton's <c>system_shared_memory</c> extension):
/// a name for a window <c>[offset, offset + byte_size)</c> of the POSIX shared-memory object <c>key</c>
/// (<c>shm_open(key)</c>, i.e. <c>/dev/shm/key</c> on Linux), mapped once at registration. Inputs are read out of
/// a region and outputs written into one, with Triton's checks, codes and texts. A region unregistered while
/// requests use it stays mapped until the last of them is done. Thread-safe.</summary>
public sealed class SharedMemoryRegions : IDisposable
{
    /// <summary>Keys with this prefix belong to Triton's Python backend and are refused.</summary>
    public const string ReservedKeyPrefix = "triton_python_backend_shm_region_";

    private readonly ConcurrentDictionary<string, Region> _regions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly string _directory;

    /// <param name="directory">Where shm_open names live; /dev/shm on Linux (tests may point elsewhere).</param>
    public SharedMemoryRegions(string directory = "/dev/shm") => _directory = directory;

    /// <summary>Regions currently registered.</summary>
    public int Count => _regions.Count;

    /// <summary>Maps <c>[offset, offset + byteSize)</c> of shared-memory object <paramref name="key"/> as region
    /// <paramref name="name"/>. Throws Triton's errors: ALREADY_EXISTS for a registered name, INVALID_ARGUMENT for a
    /// bad key or a window outside the object, INTERNAL when the object cannot be opened.</summary>
    public void Register(string name, string key, ulong offset, ulong byteSize)
    {
        string file = key.TrimStart('/');
        if (file.Length == 0)
        {
            throw Error(StatusCode.InvalidArgument, $"cannot register shared memory region '{TritonErrors.Echo(name)}' - invalid shm key '{TritonErrors.Echo(key)}'");
        }

        if (file.StartsWith(ReservedKeyPrefix, StringComparison.Ordinal))
        {
            throw Error(StatusCode.InvalidArgument,
                $"cannot register shared memory region '{TritonErrors.Echo(name)}' with key '{TritonErrors.Echo(key)}' as the key contains the reserved prefix '{ReservedKeyPrefix}'");
        }

        lock (_gate)
        {
            if (_regions.ContainsKey(name))
            {
                throw Error(StatusCode.AlreadyExists, $"shared memory region '{TritonErrors.Echo(name)}' already in manager");
            }

            // shm_open takes one path component: a name with another slash, "." or ".." is EINVAL there, and must
            // never reach outside the shared-memory directory here.
            if (file.Contains('/', StringComparison.Ordinal) || file is "." or ".." || file.Contains('\0', StringComparison.Ordinal))
            {
                throw Error(StatusCode.Internal, $"Unable to open shared memory region: '{TritonErrors.Echo(key)}'");
            }

            FileStream stream;
            try
            {
                stream = new FileStream(Path.Combine(_directory, file), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Error(StatusCode.Internal, $"Unable to open shared memory region: '{TritonErrors.Echo(key)}'");
            }

            try
            {
                if (byteSize == 0 || offset > (ulong)stream.Length || byteSize > (ulong)stream.Length - offset)
                {
                    throw Error(StatusCode.InvalidArgument, $"failed to register shared memory region '{TritonErrors.Echo(name)}': invalid args");
                }

                var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
                var view = map.CreateViewAccessor((long)offset, (long)byteSize, MemoryMappedFileAccess.ReadWrite);
                _regions[name] = new Region(name, key, offset, byteSize, map, view);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }
    }

    /// <summary>Unregisters <paramref name="name"/>, or every region when it is empty. An unknown name is a silent
    /// success, as in Triton.</summary>
    public void Unregister(string name)
    {
        lock (_gate)
        {
            if (name.Length == 0)
            {
                foreach (var key in _regions.Keys)
                {
                    if (_regions.TryRemove(key, out var r))
                    {
                        r.Release();
                    }
                }
            }
            else if (_regions.TryRemove(name, out var region))
            {
                region.Release();
            }
        }
    }

    /// <summary>Status of <paramref name="name"/> or of every region (empty name). Unknown: NOT_FOUND.</summary>
    public SystemSharedMemoryStatusResponse Status(string name)
    {
        var response = new SystemSharedMemoryStatusResponse();
        if (name.Length == 0)
        {
            foreach (var r in _regions.Values)
            {
                response.Regions[r.Name] = r.ToStatus();
            }
        }
        else if (_regions.TryGetValue(name, out var region))
        {
            response.Regions[name] = region.ToStatus();
        }
        else
        {
            throw Error(StatusCode.NotFound, $"Unable to find system shared memory region: '{TritonErrors.Echo(name)}'");
        }

        return response;
    }

    /// <summary>Copies the bytes at <paramref name="location"/> out of its region, checking the window as Triton does.
    /// <paramref name="maxBytes"/> bounds the copy (the tensor byte limit).</summary>
    public RequestError? TryRead(SharedMemoryLocation location, long maxBytes, out byte[] bytes)
    {
        bytes = [];
        var error = TryAcquire(location, out var region);
        if (error != null)
        {
            return error;
        }

        try
        {
            if (location.ByteSize > maxBytes)
            {
                return RequestError.Invalid(
                    $"shared memory input of {location.ByteSize} bytes in region '{TritonErrors.Echo(location.Region)}' is more than the limit of {maxBytes} bytes per tensor");
            }

            bytes = new byte[location.ByteSize];
            region!.Read(location.Offset, bytes);
            return null;
        }
        finally
        {
            region!.Release();
        }
    }

    /// <summary>Takes a reference on the region of an output location after checking the window; the returned lease
    /// must be disposed once the output is written (or the request fails).</summary>
    public RequestError? TryLease(SharedMemoryLocation location, out Lease? lease)
    {
        lease = null;
        var error = TryAcquire(location, out var region);
        if (error == null)
        {
            lease = new Lease(region!, location);
        }

        return error;
    }

    private RequestError? TryAcquire(SharedMemoryLocation location, out Region? region)
    {
        if (!_regions.TryGetValue(location.Region, out region) || !region.TryAddRef())
        {
            region = null;
            return new RequestError(StatusCode.NotFound, $"Unable to find shared memory region: '{TritonErrors.Echo(location.Region)}'");
        }

        string r = TritonErrors.Echo(location.Region);
        ulong size = region.ByteSize;
        RequestError? error = null;
        if ((ulong)location.Offset >= size)
        {
            error = RequestError.Invalid($"Invalid offset for shared memory region: '{r}'");
        }
        else if ((ulong)location.ByteSize > ulong.MaxValue - (ulong)location.Offset)
        {
            error = RequestError.Invalid(
                $"Integer overflow detected: byte_size ({location.ByteSize}) + offset ({location.Offset}) exceeds maximum value ({ulong.MaxValue}) for region '{r}'");
        }
        else if ((ulong)location.Offset + (ulong)location.ByteSize > size)
        {
            error = RequestError.Invalid($"Invalid offset + byte size for shared memory region: '{r}'");
        }

        if (error != null)
        {
            region.Release();
            region = null;
        }

        return error;
    }

    public void Dispose() => Unregister("");

    private static RpcException Error(StatusCode code, string message) => new(new Status(code, message));

    /// <summary>A reference on an output's region: write the output's bytes, then dispose.</summary>
    public sealed class Lease : IDisposable
    {
        private Region? _region;

        internal Lease(Region region, SharedMemoryLocation location)
        {
            _region = region;
            Location = location;
        }

        public SharedMemoryLocation Location { get; }

        /// <summary>Writes <paramref name="bytes"/> at the location; INTERNAL in Triton's words when they do not fit.</summary>
        public RequestError? TryWrite(string output, ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > Location.ByteSize)
            {
                return new RequestError(StatusCode.Internal,
                    $"shared memory size specified with the request for output '{output}' ({Location.ByteSize} bytes) should be at least {bytes.Length} bytes to hold the results");
            }

            var region = _region ?? throw new ObjectDisposedException(nameof(Lease));
            region.Write(Location.Offset, bytes);
            return null;
        }

        public void Dispose() => Interlocked.Exchange(ref _region, null)?.Release();
    }

    /// <summary>One mapping; counted references keep it mapped while requests use it after an unregister.</summary>
    internal sealed class Region(string name, string key, ulong offset, ulong byteSize, MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        private int _references = 1;

        public string Name { get; } = name;

        public ulong ByteSize { get; } = byteSize;

        public MemoryMappedViewAccessor View { get; } = view;

        public SystemSharedMemoryStatusResponse.Types.RegionStatus ToStatus() =>
            new() { Name = Name, Key = key, Offset = offset, ByteSize = ByteSize };

        public bool TryAddRef()
        {
            int current;
            do
            {
                current = Volatile.Read(ref _references);
                if (current == 0)
                {
                    return false;
                }
            }
            while (Interlocked.CompareExchange(ref _references, current + 1, current) != current);
            return true;
        }

        public void Write(long position, ReadOnlySpan<byte> bytes) =>
            View.SafeMemoryMappedViewHandle.WriteSpan((ulong)(View.PointerOffset + position), bytes);

        public void Read(long position, Span<byte> bytes) =>
            View.SafeMemoryMappedViewHandle.ReadSpan((ulong)(View.PointerOffset + position), bytes);

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                View.Dispose();
                map.Dispose();
            }
        }
    }
}
