using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;

namespace DataPlane.Interop.Verbs;

/// <summary>A loaded libibverbs: the entry point of the RDMA verbs binding.
/// <para>The library is loaded at run time (<see cref="TryOpen"/>), never bound at start-up, so a host without
/// rdma-core runs everything else; a missing library or entry point is a <c>problem</c> string, not an exception.
/// The control-path verbs are exported functions resolved by name; the data-path verbs (post send/receive, poll,
/// notify) are static inline in verbs.h and are called through the device context's <c>ops</c> table (see
/// README.md). The library is never unloaded: providers keep state in it for the life of the process.</para>
/// <para>Open a device with <see cref="OpenDevice"/> and build from the <see cref="VerbsContext"/>; every object keeps
/// the objects it was made from alive, so they may be disposed in any order.</para></summary>
public sealed unsafe class VerbsLibrary
{
    /// <summary>The soname loaded when no path is given.</summary>
    public const string DefaultLibraryName = Interop.Verbs.LibraryName;

    private readonly Interop.Verbs.Exports _x;

    private VerbsLibrary(string libraryPath, Interop.Verbs.Exports exports)
    {
        LibraryPath = libraryPath;
        _x = exports;
    }

    /// <summary>What was loaded: the path given to <see cref="TryOpen"/>, or <see cref="DefaultLibraryName"/>.</summary>
    public string LibraryPath { get; }

    /// <summary>Whether the library has ibv_reg_mr_iova2 (rdma-core 28+), which masks optional access flags such as
    /// <see cref="MemoryAccess.RelaxedOrdering"/>; without it they are not requested.</summary>
    public bool HasRegMrIova2 => _x.RegMrIova2 != null;

    /// <summary>Whether the library has _ibv_query_gid_ex (rdma-core 32+). Without it GID types and netdevs come
    /// from sysfs under <see cref="SysfsRoot"/>.</summary>
    public bool HasQueryGidEx => _x.QueryGidEx != null;

    /// <summary>Root of the sysfs tree read for GID types when the library cannot say (tests point it at a fixture).</summary>
    public string SysfsRoot { get; set; } = "/sys";

    internal Interop.Verbs.Exports Exports => _x;

    /// <summary>Loads libibverbs and resolves its exports. Never throws for a missing library.</summary>
    /// <param name="path">A file path or soname; null or empty for <see cref="DefaultLibraryName"/>.</param>
    /// <param name="library">The loaded library, or null.</param>
    /// <param name="problem">Why it could not be loaded, naming the library; empty on success.</param>
    public static bool TryOpen(string? path, [NotNullWhen(true)] out VerbsLibrary? library, out string problem)
    {
        library = null;
        string name = string.IsNullOrEmpty(path) ? DefaultLibraryName : path;
        if (!NativeLibrary.TryLoad(name, out nint handle))
        {
            problem = $"RDMA verbs library '{name}' could not be loaded (rdma-core's libibverbs1 is not installed, or not on the loader path)";
            return false;
        }

        var exports = Interop.Verbs.Exports.Resolve(handle, out string? missing);
        if (exports is null)
        {
            problem = $"RDMA verbs library '{name}' has no {missing}; it is not a usable libibverbs";
            return false;
        }

        library = new VerbsLibrary(name, exports);
        problem = string.Empty;
        return true;
    }

    /// <summary>Names of the RDMA devices (ibv_get_device_list). Empty when there are none, including when the kernel
    /// has no RDMA support (the list is then NULL with ENOSYS).</summary>
    public IReadOnlyList<string> GetDeviceNames()
    {
        int count = 0;
        nint* list = _x.GetDeviceList(&count);
        if (list == null)
        {
            return [];
        }

        try
        {
            var names = new List<string>(count);
            for (int i = 0; i < count && list[i] != 0; i++)
            {
                names.Add(DeviceName(list[i]));
            }

            return names;
        }
        finally
        {
            _x.FreeDeviceList(list);
        }
    }

    /// <summary>Every device with its limits, ports and GID tables: each is opened, queried and closed. A device that
    /// cannot be opened is listed with its <see cref="VerbsDeviceInfo.Problem"/>.</summary>
    public IReadOnlyList<VerbsDeviceInfo> GetDevices()
    {
        var devices = new List<VerbsDeviceInfo>();
        foreach (string name in GetDeviceNames())
        {
            VerbsContext context;
            try
            {
                context = OpenDevice(name);
            }
            catch (VerbsException e)
            {
                devices.Add(new VerbsDeviceInfo(name, null, [], e.Message));
                continue;
            }

            using (context)
            {
                var attributes = context.QueryDevice();
                var ports = new List<VerbsPortInfo>(attributes.PortCount);
                for (int port = 1; port <= attributes.PortCount; port++)
                {
                    ports.Add(context.QueryPort(port));
                }

                devices.Add(new VerbsDeviceInfo(name, attributes, ports, null));
            }
        }

        return devices;
    }

    /// <summary>Opens a device by name (ibv_open_device).</summary>
    /// <exception cref="VerbsException">No such device (ENODEV), or it could not be opened.</exception>
    public VerbsContext OpenDevice(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        int count = 0;
        nint* list = _x.GetDeviceList(&count);
        if (list == null)
        {
            throw new VerbsException("ibv_open_device", Interop.Libc.ENODEV, $"no RDMA device '{name}' (no RDMA devices)");
        }

        var handle = new ContextHandle(_x);
        try
        {
            for (int i = 0; i < count && list[i] != 0; i++)
            {
                if (DeviceName(list[i]) != name)
                {
                    continue;
                }

                Marshal.SetLastSystemError(0);
                nint context = _x.OpenDevice(list[i]);
                int errno = Marshal.GetLastSystemError();
                if (context == 0)
                {
                    throw new VerbsException("ibv_open_device", errno, $"device '{name}'");
                }

                handle.AttachContext(context);
                if (handle.Ops.Missing is string slot)
                {
                    throw new VerbsException("ibv_open_device", Interop.Libc.EOPNOTSUPP, $"device '{name}': the provider has no ops.{slot}");
                }

                return new VerbsContext(this, handle, name);
            }

            throw new VerbsException("ibv_open_device", Interop.Libc.ENODEV, $"no RDMA device '{name}'");
        }
        catch
        {
            if (handle.IsInvalid)
            {
                handle.Abandon();
            }
            else
            {
                handle.Dispose();
            }

            throw;
        }
        finally
        {
            // Open contexts keep their device; the list itself can go.
            _x.FreeDeviceList(list);
        }
    }

    /// <summary>The library's text for a completion status (ibv_wc_status_str), e.g. "remote access error".</summary>
    public string GetStatusText(WorkCompletionStatus status)
    {
        byte* text = _x.WcStatusStr != null ? _x.WcStatusStr((int)status) : null;
        return text == null ? StatusNames.Of(status) : Marshal.PtrToStringUTF8((nint)text) ?? StatusNames.Of(status);
    }

    internal static string Utf8(byte* buffer, int length)
    {
        var span = new ReadOnlySpan<byte>(buffer, length);
        int end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    private static string DeviceName(nint device) =>
        Utf8((byte*)device + Interop.Verbs.DeviceNameOffset, Interop.Verbs.IBV_SYSFS_NAME_MAX);
}
