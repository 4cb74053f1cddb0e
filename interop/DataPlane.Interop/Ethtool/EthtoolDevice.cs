using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using Native = DataPlane.Interop.Interop.Ethtool;

namespace DataPlane.Interop.Ethtool;

/// <summary>One network interface seen through the SIOCETHTOOL ioctl. Owns one AF_INET/SOCK_DGRAM socket.
/// Reads (coalesce, rings, channels, features, driver info) need no privileges; every SET needs
/// CAP_NET_ADMIN in the interface's network namespace, else <see cref="EthtoolException"/> with EPERM.</summary>
/// <remarks>"Not supported" (EOPNOTSUPP) is a value, not an exception: <c>Try…</c> returns false and
/// SET returns <see cref="EthtoolSetResult.NotSupported"/>. Every other errno becomes one
/// <see cref="EthtoolException"/> naming the command and the errno. Not thread-safe.</remarks>
public sealed class EthtoolDevice : IDisposable
{
    private const int StackBufferBytes = 4096;

    private readonly EthtoolSocketHandle _socket;
    private readonly byte[] _nameBytes;

    private EthtoolDevice(string interfaceName, byte[] nameBytes, EthtoolSocketHandle socket)
    {
        InterfaceName = interfaceName;
        _nameBytes = nameBytes;
        _socket = socket;
    }

    /// <summary>The interface name this device was opened with.</summary>
    public string InterfaceName { get; }

    /// <summary>Validates <paramref name="interfaceName"/> and opens the request socket. Does not check that the
    /// interface exists: the first request on a missing one throws <see cref="EthtoolException"/> (ENODEV).</summary>
    /// <exception cref="ArgumentException">The name can never name an interface (checked before any system call).</exception>
    /// <exception cref="EthtoolException">socket(2) failed.</exception>
    public static EthtoolDevice Open(string interfaceName)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        if (!IsValidInterfaceName(interfaceName, out string? reason))
        {
            throw new ArgumentException($"invalid interface name '{interfaceName}': {reason}", nameof(interfaceName));
        }

        return new EthtoolDevice(interfaceName, Encoding.UTF8.GetBytes(interfaceName), EthtoolSocketHandle.Open(interfaceName));
    }

    /// <summary>The kernel's rule for interface names (dev_valid_name): 1 to IFNAMSIZ-1 = 15 bytes, since
    /// ifr_name also holds the terminating NUL; not "." or ".."; no '/', ':', NUL or white space.</summary>
    public static bool IsValidInterfaceName(string? name, [NotNullWhen(false)] out string? reason)
    {
        if (string.IsNullOrEmpty(name))
        {
            reason = "empty";
            return false;
        }

        int bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes > Native.IFNAMSIZ - 1)
        {
            reason = $"{bytes} bytes, at most {Native.IFNAMSIZ - 1} fit (IFNAMSIZ {Native.IFNAMSIZ} includes the NUL)";
            return false;
        }

        if (name is "." or "..")
        {
            reason = "'.' and '..' are reserved";
            return false;
        }

        foreach (char c in name)
        {
            if (c is '/' or ':' or '\0' || char.IsWhiteSpace(c))
            {
                reason = "contains '/', ':', NUL or white space";
                return false;
            }
        }

        reason = null;
        return true;
    }

    /// <summary>ETHTOOL_GCOALESCE. False when the device does not implement coalescing (EOPNOTSUPP).</summary>
    public unsafe bool TryGetCoalesce(out EthtoolCoalesce coalesce)
    {
        var request = new Native.Coalesce { Cmd = Native.ETHTOOL_GCOALESCE };
        bool ok = Call(Native.ETHTOOL_GCOALESCE, &request, notSupportedIsValue: true) >= 0;
        coalesce = ok ? request.Params : default;
        return ok;
    }

    /// <summary>ETHTOOL_SCOALESCE: replaces all coalescing parameters, so pass a value read with
    /// <see cref="TryGetCoalesce"/> and changed. NotSupported when the device has no coalescing or rejects a
    /// non-zero field it does not support.</summary>
    public unsafe EthtoolSetResult SetCoalesce(in EthtoolCoalesce coalesce)
    {
        var request = new Native.Coalesce { Cmd = Native.ETHTOOL_SCOALESCE, Params = coalesce };
        return Call(Native.ETHTOOL_SCOALESCE, &request, notSupportedIsValue: true) >= 0 ? EthtoolSetResult.Applied : EthtoolSetResult.NotSupported;
    }

    /// <summary>ETHTOOL_GRINGPARAM. False when the device does not report ring sizes (EOPNOTSUPP).</summary>
    public unsafe bool TryGetRing(out EthtoolRing ring)
    {
        var request = new Native.RingParam { Cmd = Native.ETHTOOL_GRINGPARAM };
        bool ok = Call(Native.ETHTOOL_GRINGPARAM, &request, notSupportedIsValue: true) >= 0;
        ring = ok ? request.Params : default;
        return ok;
    }

    /// <summary>ETHTOOL_SRINGPARAM: pass a value read with <see cref="TryGetRing"/> and changed. The kernel answers a
    /// size above the maximum with EINVAL (an exception); a device without ring control with NotSupported.</summary>
    public unsafe EthtoolSetResult SetRing(in EthtoolRing ring)
    {
        var request = new Native.RingParam { Cmd = Native.ETHTOOL_SRINGPARAM, Params = ring };
        return Call(Native.ETHTOOL_SRINGPARAM, &request, notSupportedIsValue: true) >= 0 ? EthtoolSetResult.Applied : EthtoolSetResult.NotSupported;
    }

    /// <summary>ETHTOOL_GCHANNELS. False when the device does not report channels (EOPNOTSUPP).</summary>
    public unsafe bool TryGetChannels(out EthtoolChannels channels)
    {
        var request = new Native.Channels { Cmd = Native.ETHTOOL_GCHANNELS };
        bool ok = Call(Native.ETHTOOL_GCHANNELS, &request, notSupportedIsValue: true) >= 0;
        channels = ok ? request.Params : default;
        return ok;
    }

    /// <summary>ETHTOOL_GDRVINFO. False when neither the driver nor the device's parent provide it (EOPNOTSUPP, e.g. lo).</summary>
    public unsafe bool TryGetDriverInfo([NotNullWhen(true)] out EthtoolDriverInfo? info)
    {
        var request = new Native.DrvInfo { Cmd = Native.ETHTOOL_GDRVINFO };
        if (Call(Native.ETHTOOL_GDRVINFO, &request, notSupportedIsValue: true) < 0)
        {
            info = null;
            return false;
        }

        info = new EthtoolDriverInfo(
            CString(request.Driver, 32),
            CString(request.Version, 32),
            CString(request.FwVersion, 32),
            CString(request.BusInfo, Native.ETHTOOL_BUSINFO_LEN));
        return true;
    }

    /// <summary>All named offload features with their state: ETHTOOL_GSSET_INFO (count of ETH_SS_FEATURES names),
    /// ETHTOOL_GSTRINGS (the names) and ETHTOOL_GFEATURES (the bits). Unused bit positions (empty names) are left out.</summary>
    public IReadOnlyList<EthtoolFeature> GetFeatures()
    {
        string[] names = ReadFeatureNames();
        Native.GetFeaturesBlock[] blocks = ReadFeatureBlocks(names.Length, out _);
        var features = new List<EthtoolFeature>(names.Length);
        for (int i = 0; i < names.Length; i++)
        {
            if (names[i].Length == 0)
            {
                continue;
            }

            Native.GetFeaturesBlock b = blocks[i / 32];
            uint bit = 1u << (i % 32);
            features.Add(new EthtoolFeature(names[i], i, (b.Available & bit) != 0, (b.Requested & bit) != 0, (b.Active & bit) != 0, (b.NeverChanged & bit) != 0));
        }

        return features;
    }

    /// <summary>ETHTOOL_SFEATURES: requests each named feature on (true) or off (false); names are resolved to this
    /// kernel's bit positions first. Returns the kernel's outcome bits: <see cref="EthtoolFeatureChange.Unsupported"/>
    /// when some were not changeable (ignored), <see cref="EthtoolFeatureChange.Wish"/> when the request was recorded
    /// but is not all active. A feature that never changes makes the kernel answer EINVAL (an exception).</summary>
    /// <exception cref="ArgumentException">A name is not in this kernel's feature string set.</exception>
    public unsafe EthtoolFeatureChange SetFeatures(IReadOnlyDictionary<string, bool> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        string[] names = ReadFeatureNames();
        _ = ReadFeatureBlocks(names.Length, out uint kernelWords);

        int words = (int)Math.Max(kernelWords, (uint)((names.Length + 31) / 32));
        var blocks = new Native.SetFeaturesBlock[words];
        foreach ((string name, bool on) in changes)
        {
            int index = name.Length == 0 ? -1 : Array.IndexOf(names, name);
            if (index < 0)
            {
                throw new ArgumentException($"'{InterfaceName}': the kernel has no feature named '{name}'", nameof(changes));
            }

            uint bit = 1u << (index % 32);
            blocks[index / 32].Valid |= bit;
            if (on)
            {
                blocks[index / 32].Requested |= bit;
            }
        }

        int size = sizeof(Native.FeaturesHeader) + (words * sizeof(Native.SetFeaturesBlock));
        byte[] buffer = new byte[size];
        MemoryMarshal.Write(buffer, new Native.FeaturesHeader { Cmd = Native.ETHTOOL_SFEATURES, Size = (uint)words });
        MemoryMarshal.AsBytes(blocks.AsSpan()).CopyTo(buffer.AsSpan(sizeof(Native.FeaturesHeader)));
        fixed (byte* p = buffer)
        {
            int r = Call(Native.ETHTOOL_SFEATURES, p, notSupportedIsValue: false);
            return (EthtoolFeatureChange)(r & (Native.ETHTOOL_F_UNSUPPORTED | Native.ETHTOOL_F_WISH | Native.ETHTOOL_F_COMPAT));
        }
    }

    /// <summary>Closes the request socket.</summary>
    public void Dispose() => _socket.Dispose();

    private unsafe string[] ReadFeatureNames()
    {
        // GSSET_INFO: the kernel clears the mask bits of string sets it does not have and writes one count per kept bit.
        Span<byte> info = stackalloc byte[sizeof(Native.SsetInfo) + sizeof(uint)];
        info.Clear();
        MemoryMarshal.Write(info, new Native.SsetInfo { Cmd = Native.ETHTOOL_GSSET_INFO, SsetMask = 1UL << Native.ETH_SS_FEATURES });
        fixed (byte* p = info)
        {
            _ = Call(Native.ETHTOOL_GSSET_INFO, p, notSupportedIsValue: false);
        }

        if ((MemoryMarshal.Read<Native.SsetInfo>(info).SsetMask & (1UL << Native.ETH_SS_FEATURES)) == 0)
        {
            return [];
        }

        int count = (int)MemoryMarshal.Read<uint>(info[sizeof(Native.SsetInfo)..]);

        int size = sizeof(Native.Gstrings) + (count * Native.ETH_GSTRING_LEN);
        Span<byte> buffer = size <= StackBufferBytes ? stackalloc byte[StackBufferBytes] : new byte[size];
        buffer = buffer[..size];
        buffer.Clear();
        MemoryMarshal.Write(buffer, new Native.Gstrings { Cmd = Native.ETHTOOL_GSTRINGS, StringSet = Native.ETH_SS_FEATURES, Len = (uint)count });
        fixed (byte* p = buffer)
        {
            _ = Call(Native.ETHTOOL_GSTRINGS, p, notSupportedIsValue: false);
        }

        int returned = (int)Math.Min((uint)count, MemoryMarshal.Read<Native.Gstrings>(buffer).Len);
        var names = new string[returned];
        for (int i = 0; i < returned; i++)
        {
            Span<byte> slot = buffer.Slice(sizeof(Native.Gstrings) + (i * Native.ETH_GSTRING_LEN), Native.ETH_GSTRING_LEN);
            int nul = slot.IndexOf((byte)0);
            names[i] = Encoding.UTF8.GetString(nul >= 0 ? slot[..nul] : slot);
        }

        return names;
    }

    private unsafe Native.GetFeaturesBlock[] ReadFeatureBlocks(int featureCount, out uint kernelWords)
    {
        int words = Math.Max(1, (featureCount + 31) / 32);
        int size = sizeof(Native.FeaturesHeader) + (words * sizeof(Native.GetFeaturesBlock));
        Span<byte> buffer = size <= StackBufferBytes ? stackalloc byte[StackBufferBytes] : new byte[size];
        buffer = buffer[..size];
        buffer.Clear();
        MemoryMarshal.Write(buffer, new Native.FeaturesHeader { Cmd = Native.ETHTOOL_GFEATURES, Size = (uint)words });
        fixed (byte* p = buffer)
        {
            _ = Call(Native.ETHTOOL_GFEATURES, p, notSupportedIsValue: false);
        }

        // The kernel writes back its own word count and fills min(ours, its) blocks.
        kernelWords = MemoryMarshal.Read<Native.FeaturesHeader>(buffer).Size;
        return MemoryMarshal.Cast<byte, Native.GetFeaturesBlock>(buffer[sizeof(Native.FeaturesHeader)..]).ToArray();
    }

    /// <summary>One SIOCETHTOOL request. Returns the ioctl's non-negative result, -1 for EOPNOTSUPP when
    /// <paramref name="notSupportedIsValue"/>, and throws <see cref="EthtoolException"/> for every other errno.</summary>
    private unsafe int Call(uint cmd, void* data, bool notSupportedIsValue)
    {
        ObjectDisposedException.ThrowIf(_socket.IsClosed, this);
        Native.Ifreq ifr = default;
        _nameBytes.CopyTo(new Span<byte>(ifr.Name, Native.IFNAMSIZ - 1));
        ifr.Data = data;
        int r = Interop.Libc.Ioctl(_socket, Native.SIOCETHTOOL, &ifr);
        if (r >= 0)
        {
            return r;
        }

        int errno = Interop.Libc.LastErrno;
        if (errno == Interop.Libc.EOPNOTSUPP && notSupportedIsValue)
        {
            return -1;
        }

        throw new EthtoolException(Native.CommandName(cmd), InterfaceName, errno);
    }

    private static unsafe string CString(byte* p, int capacity)
    {
        var span = new ReadOnlySpan<byte>(p, capacity);
        int nul = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? span[..nul] : span);
    }
}
