using System.Runtime.InteropServices;
using DataPlane.Interop.Verbs;

namespace DataPlane.Testing;

/// <summary>The fake RDMA verbs library (<c>native/fake_verbs/fake_verbs.c</c>), compiled once per test run into a
/// temporary directory as <c>libibverbs.so.1</c>, and its peer program for cross-process tests.
/// <para>The fake keeps devices, registrations and queue pairs per process, so tests that load it belong to the
/// <see cref="Collection"/> collection (one test at a time). They configure it with <see cref="Use"/>, which calls the
/// fake's own <c>dataplane_fake_verbs_set_*</c> exports: the environment variables the fake also reads are the C
/// library's, which a managed test cannot reliably change.</para></summary>
public static unsafe class FakeVerbs
{
    /// <summary>The xunit collection of tests that load the fake.</summary>
    public const string Collection = "Fake verbs";

    /// <summary>The fake's default device spec (one device, loopback IPv4 GID).</summary>
    public const string DefaultDevices = "fake_mlx5_0:netdev=lo:ip=127.0.0.1";

    private static readonly Lazy<string> s_dir = new(CreateDirectory);
    private static readonly Lazy<string> s_library = new(() => Compile("libibverbs.so.1", "-fPIC", "-shared", "-pthread", Source("fake_verbs.c")));
    private static readonly Lazy<string> s_peer = new(() =>
    {
        _ = LibraryPath;
        return Compile("verbs_peer", Source("verbs_peer.c"), "-L" + s_dir.Value, "-l:libibverbs.so.1", "-Wl,-rpath," + s_dir.Value, "-pthread");
    });

    private static readonly Lazy<nint> s_handle = new(() => NativeLibrary.Load(LibraryPath));

    /// <summary>Path of the compiled fake; compiles it on first use.</summary>
    public static string LibraryPath => s_library.Value;

    /// <summary>Path of the compiled peer program (linked against the fake); compiles it on first use.</summary>
    public static string PeerPath => s_peer.Value;

    /// <summary>Configures the fake for this process; disposing the result restores the defaults.</summary>
    /// <param name="devices">Device spec (see native/fake_verbs/README.md), or null for <see cref="DefaultDevices"/>.</param>
    /// <param name="noDevices">Report no devices at all.</param>
    /// <param name="failWr">The n-th data work request posted from now on completes with IBV_WC_REM_ACCESS_ERR; 0 none.</param>
    /// <param name="gidEx">False makes _ibv_query_gid_ex answer EOPNOTSUPP, as on libraries before rdma-core 32.</param>
    /// <param name="failModifyInto">The next ibv_modify_qp into this state fails once with EINVAL; Reset for none.</param>
    public static IDisposable Use(string? devices = null, bool noDevices = false, long failWr = 0, bool gidEx = true, QueuePairState failModifyInto = QueuePairState.Reset)
    {
        Configure(devices ?? DefaultDevices, noDevices ? 1 : 0, failWr, gidEx ? 1 : 0, failModifyInto);
        return new Scope();
    }

    /// <summary>An export of the fake, e.g. to call a setter directly.</summary>
    public static nint Export(string name) => NativeLibrary.GetExport(s_handle.Value, name);

    private static void Configure(string devices, int noDevices, long failWr, int gidEx, QueuePairState failModifyInto)
    {
        var setFailModify = (delegate* unmanaged<int, void>)Export("dataplane_fake_verbs_set_fail_modify");
        var setDevices = (delegate* unmanaged<byte*, void>)Export("dataplane_fake_verbs_set_devices");
        var setNoDevices = (delegate* unmanaged<int, void>)Export("dataplane_fake_verbs_set_no_devices");
        var setFailWr = (delegate* unmanaged<nint, void>)Export("dataplane_fake_verbs_set_fail_wr");
        var setGidEx = (delegate* unmanaged<int, void>)Export("dataplane_fake_verbs_set_gid_ex");
        nint spec = Marshal.StringToCoTaskMemUTF8(devices);
        try
        {
            setDevices((byte*)spec);
        }
        finally
        {
            Marshal.FreeCoTaskMem(spec);
        }

        setNoDevices(noDevices);
        setFailWr((nint)failWr);
        setGidEx(gidEx);
        setFailModify((int)failModifyInto); // Reset (0): none
    }

    private static string Source(string name) => Path.Combine(RepoFiles.Root, "native", "fake_verbs", name);

    private static string CreateDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"dataplane-fake-verbs-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return dir;
    }

    private static string Compile(string output, params string[] args)
    {
        string path = Path.Combine(s_dir.Value, output);
        NativeBuild.Compile(output, new[] { "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", path }.Concat(args));
        return path;
    }

    private sealed class Scope : IDisposable
    {
        public void Dispose() => Configure(DefaultDevices, 0, 0, 1, QueuePairState.Reset);
    }
}
