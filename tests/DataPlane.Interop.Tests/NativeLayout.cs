using System.Diagnostics;
using System.Globalization;
using DataPlane.Testing;

namespace DataPlane.Interop.Tests;

/// <summary>One layout program of native/layout/: compiled with the system C compiler against the real headers the
/// first time a value is asked for, run once, and its "name value" lines kept for every test that compares a managed
/// declaration with the C one.</summary>
internal sealed class NativeLayout
{
    private readonly Lazy<Dictionary<string, long>> _values;

    /// <param name="program">File name in native/layout/, e.g. "libc_layout.c".</param>
    public NativeLayout(string program) => _values = new(() => CompileAndRun(program));

    /// <summary>The value the program printed for <paramref name="name"/>.</summary>
    public long Value(string name) =>
        _values.Value.TryGetValue(name, out long v) ? v : throw new KeyNotFoundException($"layout program printed no '{name}'");

    private static Dictionary<string, long> CompileAndRun(string program)
    {
        string source = Path.Combine(RepoFiles.Root, "native", "layout", program);
        string exe = Path.Combine(Path.GetTempPath(), $"dataplane-{Path.GetFileNameWithoutExtension(program)}-{Environment.ProcessId}");
        NativeBuild.Compile(program, ["-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe, source]);
        try
        {
            return Run(exe, []).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => (Name: l[..l.LastIndexOf(' ')], Value: l[(l.LastIndexOf(' ') + 1)..]))
                .ToDictionary(p => p.Name, p => long.Parse(p.Value, CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(exe);
        }
    }

    private static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed ({p.ExitCode}): {error}");
        return output;
    }
}
