using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;

namespace DataPlane.Interop.Nvml;

/// <summary>An open, initialised NVML: the safe wrapper over <c>libnvidia-ml.so.1</c>.
/// <para>The library is loaded at run time (<see cref="TryOpen"/>), never bound at start-up, so a host without the
/// NVIDIA driver runs everything else. Entry points are probed newest version first (<c>_v3</c>, <c>_v2</c>,
/// unversioned). Init uses <c>nvmlInitWithFlags(NVML_INIT_FLAG_NO_GPUS)</c> so that a driver without GPUs is not an
/// error, falling back to <c>nvmlInit_v2</c>; <see cref="Dispose"/> calls <c>nvmlShutdown</c> (NVML counts inits, so
/// several instances may be open at once).</para>
/// <para>Thread-safe: NVML itself is, and every call holds a reference on the session so that a concurrent
/// <see cref="Dispose"/> shuts NVML down only after calls in progress return; calls after it throw
/// <see cref="ObjectDisposedException"/>.</para>
/// <para>Errors: unexpected codes throw <see cref="NvmlException"/> naming the function and code. "Not supported"
/// (also a driver without the entry point) is a value: null results, or an <see cref="NvmlReturn"/> for per-link calls,
/// which also report <see cref="NvmlReturn.InvalidArgument"/> for a link index past the device's links.</para></summary>
public sealed unsafe class NvmlLibrary : IDisposable
{
    /// <summary>The soname loaded when no path is given.</summary>
    public const string DefaultLibraryName = Interop.Nvml.LibraryName;

    /// <summary>CPUs an affinity mask can describe (64 words of 64 bits).</summary>
    private const int MaxCpus = 4096;

    /// <summary>NUMA nodes a memory affinity mask can describe.</summary>
    private const int MaxNumaNodes = 1024;

    private readonly Session _session;
    private readonly Interop.Nvml.Exports _x;

    private NvmlLibrary(string libraryPath, Session session, Interop.Nvml.Exports exports)
    {
        LibraryPath = libraryPath;
        _session = session;
        _x = exports;
    }

    /// <summary>What was loaded: the path given to <see cref="TryOpen"/>, or <see cref="DefaultLibraryName"/>.</summary>
    public string LibraryPath { get; }

    /// <summary>Loads NVML and initialises it. Never throws for a missing library or driver.</summary>
    /// <param name="path">A file path or soname; null or empty for <see cref="DefaultLibraryName"/>.</param>
    /// <param name="library">The open library, or null.</param>
    /// <param name="problem">Why it could not be opened, naming the library and the NVML code; empty on success.</param>
    public static bool TryOpen(string? path, [NotNullWhen(true)] out NvmlLibrary? library, out string problem)
    {
        library = null;
        string name = string.IsNullOrEmpty(path) ? DefaultLibraryName : path;
        if (!NativeLibrary.TryLoad(name, out nint handle))
        {
            problem = $"NVML library '{name}' could not be loaded (no NVIDIA driver installed, or not on the loader path)";
            return false;
        }

        var exports = Interop.Nvml.Exports.Resolve(handle, out string? missing);
        if (exports is null)
        {
            NativeLibrary.Free(handle);
            problem = $"NVML library '{name}' has no {missing}; it is not a usable NVML";
            return false;
        }

        int rc = exports.InitWithFlags != null ? exports.InitWithFlags(Interop.Nvml.NVML_INIT_FLAG_NO_GPUS) : exports.Init();
        if (rc != 0)
        {
            string? text = ErrorText(exports, rc);
            NativeLibrary.Free(handle);
            problem = $"NVML library '{name}': {new NvmlException(exports.InitName, (NvmlReturn)rc, text).Message}";
            return false;
        }

        library = new NvmlLibrary(name, new Session(handle, exports), exports);
        problem = string.Empty;
        return true;
    }

    /// <summary>Shuts NVML down (once calls in progress have returned) and unloads the library.</summary>
    public void Dispose() => _session.Dispose();

    /// <summary>NVML's text for a code (nvmlErrorString).</summary>
    public string ErrorString(NvmlReturn code)
    {
        using var lease = Enter();
        return ErrorText(_x, (int)code) ?? NvmlReturns.Name(code);
    }

    /// <summary>The driver version, e.g. "550.54.15" (nvmlSystemGetDriverVersion).</summary>
    public string GetDriverVersion()
    {
        using var lease = Enter();
        Require(_x.SystemGetDriverVersion, "nvmlSystemGetDriverVersion");
        byte* buffer = stackalloc byte[Interop.Nvml.NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
        Check(_x.SystemGetDriverVersion(buffer, Interop.Nvml.NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE), "nvmlSystemGetDriverVersion");
        return Utf8(buffer, Interop.Nvml.NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE);
    }

    /// <summary>NVML's own version, e.g. "12.550.54.15" (nvmlSystemGetNVMLVersion).</summary>
    public string GetNvmlVersion()
    {
        using var lease = Enter();
        Require(_x.SystemGetNvmlVersion, "nvmlSystemGetNVMLVersion");
        byte* buffer = stackalloc byte[Interop.Nvml.NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE];
        Check(_x.SystemGetNvmlVersion(buffer, Interop.Nvml.NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE), "nvmlSystemGetNVMLVersion");
        return Utf8(buffer, Interop.Nvml.NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE);
    }

    /// <summary>How many GPUs NVML sees (nvmlDeviceGetCount_v2); 0 on a driver without GPUs.</summary>
    public int GetDeviceCount()
    {
        using var lease = Enter();
        uint count;
        Check(_x.DeviceGetCount(&count), "nvmlDeviceGetCount_v2");
        return (int)count;
    }

    /// <summary>The GPU at an NVML index (nvmlDeviceGetHandleByIndex_v2).</summary>
    public NvmlDevice GetDevice(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        using var lease = Enter();
        nint handle;
        Check(_x.DeviceGetHandleByIndex((uint)index, &handle), "nvmlDeviceGetHandleByIndex_v2");
        return new NvmlDevice(handle, index);
    }

    /// <summary>Product name, e.g. "NVIDIA H100 80GB HBM3" (nvmlDeviceGetName).</summary>
    public string GetName(NvmlDevice device)
    {
        using var lease = Enter();
        Require(_x.DeviceGetName, "nvmlDeviceGetName");
        byte* buffer = stackalloc byte[Interop.Nvml.NVML_DEVICE_NAME_V2_BUFFER_SIZE];
        Check(_x.DeviceGetName(device.Handle, buffer, Interop.Nvml.NVML_DEVICE_NAME_V2_BUFFER_SIZE), "nvmlDeviceGetName");
        return Utf8(buffer, Interop.Nvml.NVML_DEVICE_NAME_V2_BUFFER_SIZE);
    }

    /// <summary>"GPU-…" (nvmlDeviceGetUUID).</summary>
    public string GetUuid(NvmlDevice device)
    {
        using var lease = Enter();
        Require(_x.DeviceGetUuid, "nvmlDeviceGetUUID");
        byte* buffer = stackalloc byte[Interop.Nvml.NVML_DEVICE_UUID_V2_BUFFER_SIZE];
        Check(_x.DeviceGetUuid(device.Handle, buffer, Interop.Nvml.NVML_DEVICE_UUID_V2_BUFFER_SIZE), "nvmlDeviceGetUUID");
        return Utf8(buffer, Interop.Nvml.NVML_DEVICE_UUID_V2_BUFFER_SIZE);
    }

    /// <summary>The device's NVML index (nvmlDeviceGetIndex).</summary>
    public int GetIndex(NvmlDevice device)
    {
        using var lease = Enter();
        Require(_x.DeviceGetIndex, "nvmlDeviceGetIndex");
        uint index;
        Check(_x.DeviceGetIndex(device.Handle, &index), "nvmlDeviceGetIndex");
        return (int)index;
    }

    /// <summary>The device's PCI attachment (nvmlDeviceGetPciInfo_v3, or an older version).</summary>
    public NvmlPciInfo GetPciInfo(NvmlDevice device)
    {
        using var lease = Enter();
        Require(_x.DeviceGetPciInfo, "nvmlDeviceGetPciInfo_v3");
        Interop.Nvml.PciInfo pci;
        Check(_x.DeviceGetPciInfo(device.Handle, &pci), "nvmlDeviceGetPciInfo_v3");
        return Decode(pci);
    }

    /// <summary>CPUs near the GPU, ascending (nvmlDeviceGetCpuAffinityWithinScope; nvmlDeviceGetCpuAffinity for the
    /// node scope on drivers without it). Null when not supported.</summary>
    public IReadOnlyList<int>? GetCpuAffinity(NvmlDevice device, NvmlAffinityScope scope = NvmlAffinityScope.Node)
    {
        using var lease = Enter();
        uint size = (uint)(MaxCpus / (nuint.Size * 8));
        nuint* mask = stackalloc nuint[MaxCpus / 32]; // enough words for 32-bit unsigned long too
        int rc;
        if (_x.DeviceGetCpuAffinityWithinScope != null)
        {
            rc = _x.DeviceGetCpuAffinityWithinScope(device.Handle, size, mask, (uint)scope);
        }
        else if (_x.DeviceGetCpuAffinity != null && scope == NvmlAffinityScope.Node)
        {
            rc = _x.DeviceGetCpuAffinity(device.Handle, size, mask);
        }
        else
        {
            return null;
        }

        return Optional(rc, "nvmlDeviceGetCpuAffinityWithinScope") ? Bits(mask, size) : null;
    }

    /// <summary>NUMA nodes near the GPU's memory, ascending (nvmlDeviceGetMemoryAffinity). Null when not supported.</summary>
    public IReadOnlyList<int>? GetMemoryAffinity(NvmlDevice device, NvmlAffinityScope scope = NvmlAffinityScope.Node)
    {
        using var lease = Enter();
        if (_x.DeviceGetMemoryAffinity == null)
        {
            return null;
        }

        uint size = (uint)(MaxNumaNodes / (nuint.Size * 8));
        nuint* mask = stackalloc nuint[MaxNumaNodes / 32]; // enough words for 32-bit unsigned long too
        int rc = _x.DeviceGetMemoryAffinity(device.Handle, size, mask, (uint)scope);
        return Optional(rc, "nvmlDeviceGetMemoryAffinity") ? Bits(mask, size) : null;
    }

    /// <summary>Whether an NVLink is up (nvmlDeviceGetNvLinkState).</summary>
    /// <returns><see cref="NvmlReturn.Success"/>; <see cref="NvmlReturn.NotSupported"/> (skip the link);
    /// <see cref="NvmlReturn.InvalidArgument"/> (no such link: stop). Other codes throw.</returns>
    public NvmlReturn TryGetNvLinkState(NvmlDevice device, int link, out bool active)
    {
        active = false;
        using var lease = Enter();
        if (_x.DeviceGetNvLinkState == null || link < 0)
        {
            return link < 0 ? NvmlReturn.InvalidArgument : NvmlReturn.NotSupported;
        }

        int state;
        var r = PerLink(_x.DeviceGetNvLinkState(device.Handle, (uint)link, &state), "nvmlDeviceGetNvLinkState");
        active = r == NvmlReturn.Success && state == Interop.Nvml.NVML_FEATURE_ENABLED;
        return r;
    }

    /// <summary>A link's NVLink version as NVML's nvmlNvlinkVersion_t value (6 = NVLink 4.0), from
    /// nvmlDeviceGetNvLinkVersion. Returns as <see cref="TryGetNvLinkState"/> does.</summary>
    public NvmlReturn TryGetNvLinkVersion(NvmlDevice device, int link, out int version)
    {
        version = 0;
        using var lease = Enter();
        if (_x.DeviceGetNvLinkVersion == null || link < 0)
        {
            return link < 0 ? NvmlReturn.InvalidArgument : NvmlReturn.NotSupported;
        }

        uint value;
        var r = PerLink(_x.DeviceGetNvLinkVersion(device.Handle, (uint)link, &value), "nvmlDeviceGetNvLinkVersion");
        version = r == NvmlReturn.Success ? (int)value : 0;
        return r;
    }

    /// <summary>What the link reaches (nvmlDeviceGetNvLinkRemoteDeviceType). Returns as <see cref="TryGetNvLinkState"/> does.</summary>
    public NvmlReturn TryGetNvLinkRemoteType(NvmlDevice device, int link, out NvmlNvLinkDeviceType type)
    {
        type = NvmlNvLinkDeviceType.Unknown;
        using var lease = Enter();
        if (_x.DeviceGetNvLinkRemoteDeviceType == null || link < 0)
        {
            return link < 0 ? NvmlReturn.InvalidArgument : NvmlReturn.NotSupported;
        }

        int value;
        var r = PerLink(_x.DeviceGetNvLinkRemoteDeviceType(device.Handle, (uint)link, &value), "nvmlDeviceGetNvLinkRemoteDeviceType");
        if (r == NvmlReturn.Success)
        {
            type = value is 0 or 1 or 2 ? (NvmlNvLinkDeviceType)value : NvmlNvLinkDeviceType.Unknown;
        }

        return r;
    }

    /// <summary>PCI info of the link's far end (nvmlDeviceGetNvLinkRemotePciInfo_v2): the peer GPU, or on NVSwitch
    /// systems the switch. Returns as <see cref="TryGetNvLinkState"/> does.</summary>
    public NvmlReturn TryGetNvLinkRemotePciInfo(NvmlDevice device, int link, out NvmlPciInfo? pci)
    {
        pci = null;
        using var lease = Enter();
        if (_x.DeviceGetNvLinkRemotePciInfo == null || link < 0)
        {
            return link < 0 ? NvmlReturn.InvalidArgument : NvmlReturn.NotSupported;
        }

        Interop.Nvml.PciInfo info;
        var r = PerLink(_x.DeviceGetNvLinkRemotePciInfo(device.Handle, (uint)link, &info), "nvmlDeviceGetNvLinkRemotePciInfo_v2");
        if (r == NvmlReturn.Success)
        {
            pci = Decode(info);
        }

        return r;
    }

    /// <summary>Peer-to-peer status between two GPUs for one capability (nvmlDeviceGetP2PStatus); null when not supported.</summary>
    public NvmlP2PStatus? GetP2PStatus(NvmlDevice first, NvmlDevice second, NvmlP2PCapsIndex capability)
    {
        using var lease = Enter();
        if (_x.DeviceGetP2PStatus == null)
        {
            return null;
        }

        int status;
        return Optional(_x.DeviceGetP2PStatus(first.Handle, second.Handle, (int)capability, &status), "nvmlDeviceGetP2PStatus")
            ? (NvmlP2PStatus)status
            : null;
    }

    /// <summary>The PCIe path between two GPUs (nvmlDeviceGetTopologyCommonAncestor); null when not supported.</summary>
    public NvmlTopologyLevel? GetTopologyCommonAncestor(NvmlDevice first, NvmlDevice second)
    {
        using var lease = Enter();
        if (_x.DeviceGetTopologyCommonAncestor == null)
        {
            return null;
        }

        int level;
        return Optional(_x.DeviceGetTopologyCommonAncestor(first.Handle, second.Handle, &level), "nvmlDeviceGetTopologyCommonAncestor")
            ? (NvmlTopologyLevel)level
            : null;
    }

    /// <summary>Reads field values in one call (nvmlDeviceGetFieldValues). Each entry of <paramref name="values"/> names a
    /// field and scope and is replaced by the answer, which carries its own status; check each one. Throws only when
    /// the call as a whole fails (e.g. a lost GPU); a driver without the function gives every value
    /// <see cref="NvmlReturn.NotSupported"/>.</summary>
    public void GetFieldValues(NvmlDevice device, Span<NvmlFieldValue> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        using var lease = Enter();
        var native = new Interop.Nvml.FieldValue[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            native[i].FieldId = values[i].FieldId;
            native[i].ScopeId = values[i].ScopeId;
            native[i].NvmlReturn = (int)NvmlReturn.NotSupported;
        }

        if (_x.DeviceGetFieldValues != null)
        {
            fixed (Interop.Nvml.FieldValue* p = native)
            {
                Check(_x.DeviceGetFieldValues(device.Handle, native.Length, p), "nvmlDeviceGetFieldValues");
            }
        }

        for (int i = 0; i < values.Length; i++)
        {
            values[i] = new NvmlFieldValue(native[i]);
        }
    }

    /// <summary>One integer field value; null when the field is not supported on the device or for that scope.
    /// Throws when the value's own status is another error.</summary>
    public ulong? GetFieldUInt64(NvmlDevice device, uint fieldId, uint scopeId = 0)
    {
        Span<NvmlFieldValue> one = [new NvmlFieldValue(fieldId, scopeId)];
        GetFieldValues(device, one);
        if (one[0].TryGetUInt64(out ulong value))
        {
            return value;
        }

        return one[0].Return is NvmlReturn.Success or NvmlReturn.NotSupported or NvmlReturn.InvalidArgument or NvmlReturn.FunctionNotFound
            ? null
            : throw Failure((int)one[0].Return, $"nvmlDeviceGetFieldValues(field {fieldId})");
    }

    private Lease Enter() => new(_session);

    private void Check(int rc, string function)
    {
        if (rc != 0)
        {
            throw Failure(rc, function);
        }
    }

    /// <summary>Success → true; not supported (or no such entry point) → false; anything else throws.</summary>
    private bool Optional(int rc, string function) => (NvmlReturn)rc switch
    {
        NvmlReturn.Success => true,
        NvmlReturn.NotSupported or NvmlReturn.FunctionNotFound => false,
        _ => throw Failure(rc, function),
    };

    /// <summary>The per-link convention: success, not supported (skip) and invalid argument (past the last link) are answers.</summary>
    private NvmlReturn PerLink(int rc, string function) => (NvmlReturn)rc switch
    {
        NvmlReturn.Success or NvmlReturn.InvalidArgument => (NvmlReturn)rc,
        NvmlReturn.NotSupported or NvmlReturn.FunctionNotFound => NvmlReturn.NotSupported,
        _ => throw Failure(rc, function),
    };

    private NvmlException Failure(int rc, string function) => new(function, (NvmlReturn)rc, ErrorText(_x, rc));

    private static void Require(void* entryPoint, string function)
    {
        if (entryPoint == null)
        {
            throw new NvmlException(function, NvmlReturn.FunctionNotFound);
        }
    }

    private static string? ErrorText(Interop.Nvml.Exports exports, int rc)
    {
        if (exports.ErrorString == null)
        {
            return null;
        }

        byte* text = exports.ErrorString(rc);
        return text == null ? null : Marshal.PtrToStringUTF8((nint)text);
    }

    private static string Utf8(byte* buffer, int length)
    {
        var span = new ReadOnlySpan<byte>(buffer, length);
        int end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    private static NvmlPciInfo Decode(in Interop.Nvml.PciInfo pci)
    {
        fixed (byte* busId = pci.BusId)
        fixed (byte* legacy = pci.BusIdLegacy)
        {
            return new NvmlPciInfo(
                Utf8(busId, Interop.Nvml.NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE),
                Utf8(legacy, Interop.Nvml.NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE),
                pci.Domain,
                pci.Bus,
                pci.Device,
                pci.PciDeviceId,
                pci.PciSubSystemId);
        }
    }

    /// <summary>The set bits of an array of C unsigned longs, lowest first.</summary>
    private static int[] Bits(nuint* words, uint count)
    {
        var bits = new List<int>();
        int width = nuint.Size * 8;
        for (int w = 0; w < count; w++)
        {
            ulong word = words[w];
            while (word != 0)
            {
                int b = System.Numerics.BitOperations.TrailingZeroCount(word);
                bits.Add((w * width) + b);
                word &= word - 1;
            }
        }

        return [.. bits];
    }

    /// <summary>Holds a reference on the session for the length of one call.</summary>
    private readonly ref struct Lease
    {
        private readonly Session _session;

        public Lease(Session session)
        {
            bool added = false;
            session.DangerousAddRef(ref added);
            _session = session;
        }

        public void Dispose() => _session.DangerousRelease();
    }

    /// <summary>The loaded library and NVML's init, released together: nvmlShutdown, then unload.</summary>
    private sealed class Session : SafeHandle
    {
        private readonly Interop.Nvml.Exports _exports;

        public Session(nint library, Interop.Nvml.Exports exports)
            : base(0, ownsHandle: true)
        {
            _exports = exports;
            SetHandle(library);
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            _exports.Shutdown();
            NativeLibrary.Free(handle);
            return true;
        }
    }
}
