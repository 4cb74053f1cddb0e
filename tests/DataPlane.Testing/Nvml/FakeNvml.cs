using System.Runtime.InteropServices;

namespace DataPlane.Testing;

/// <summary>The fake NVML library (<c>native/fake_nvml/fake_nvml.c</c>), compiled once per test run into a temporary
/// directory as <c>libnvidia-ml.so.1</c>, and the host descriptions it answers from.
/// <para>The fake keeps its state per process (as NVML does), so tests that load it belong to the
/// <see cref="Collection"/> collection, which xunit runs one test at a time. They pick the host and inject errors with
/// <see cref="Use"/>, which calls the fake's own <c>dataplane_fake_nvml_set_*</c> exports: the environment variables the
/// fake also reads are the C library's, which a managed test cannot reliably change.</para></summary>
public static unsafe class FakeNvml
{
    /// <summary>The xunit collection of tests that load the fake.</summary>
    public const string Collection = "Fake NVML";

    private static readonly Lazy<string> s_library = new(Compile);
    private static readonly Lazy<nint> s_handle = new(() => NativeLibrary.Load(LibraryPath));

    /// <summary>Path of the compiled fake; compiles it on first use.</summary>
    public static string LibraryPath => s_library.Value;

    /// <summary>A host description, e.g. <c>HostFile("dgx-h100")</c> for <c>tests/fixtures/hosts/dgx-h100.host</c>.</summary>
    public static string HostFile(string name)
    {
        string path = Path.Combine(RepoFiles.Root, "tests", "fixtures", "hosts", name + ".host");
        return File.Exists(path) ? path : throw new FileNotFoundException("no such host description", path);
    }

    /// <summary>Points the fake at a host for the next NVML init, with optional injected failures; disposing the
    /// result takes them back. Open the NVML library after this and dispose it before the scope ends.</summary>
    /// <param name="host">A host name for <see cref="HostFile"/>, or null for none (init then reports the driver not loaded).</param>
    /// <param name="initError">An nvmlReturn_t code init fails with; 0 for none.</param>
    /// <param name="lostGpu">Index of a GPU that answers NVML_ERROR_GPU_IS_LOST; -1 for none.</param>
    public static IDisposable Use(string? host, int initError = 0, int lostGpu = -1)
    {
        Configure(host is null ? null : HostFile(host), initError, lostGpu);
        return new Scope();
    }

    /// <summary>Calls an export of the fake directly, e.g. to see how it answers before init.</summary>
    public static nint Export(string name) => NativeLibrary.GetExport(s_handle.Value, name);

    private static void Configure(string? hostPath, int initError, int lostGpu)
    {
        var setHost = (delegate* unmanaged<byte*, void>)Export("dataplane_fake_nvml_set_host");
        var setInitError = (delegate* unmanaged<int, void>)Export("dataplane_fake_nvml_set_init_error");
        var setLost = (delegate* unmanaged<int, void>)Export("dataplane_fake_nvml_set_lost");
        nint path = hostPath is null ? 0 : Marshal.StringToCoTaskMemUTF8(hostPath);
        try
        {
            // An empty path (not null) keeps the fake from falling back to DATAPLANE_FAKE_NVML_HOST.
            byte empty = 0;
            setHost(path != 0 ? (byte*)path : &empty);
        }
        finally
        {
            Marshal.FreeCoTaskMem(path);
        }

        setInitError(initError);
        setLost(lostGpu);
    }

    private static string Compile()
    {
        string source = Path.Combine(RepoFiles.Root, "native", "fake_nvml", "fake_nvml.c");
        string dir = Path.Combine(Path.GetTempPath(), $"dataplane-fake-nvml-{Environment.ProcessId}");
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
        string library = Path.Combine(dir, "libnvidia-ml.so.1");
        NativeBuild.Compile("the fake NVML", ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-pthread", "-o", library, source]);
        return library;
    }

    private sealed class Scope : IDisposable
    {
        public void Dispose() => Configure(null, 0, -1);
    }
}
