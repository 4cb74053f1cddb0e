using System.Diagnostics;
using System.Globalization;

namespace DataPlane.Interop.Tests.Ethtool;

/// <summary>Compiles native/layout/ethtool_layout.c against the installed kernel headers once per test run and
/// returns its "name value" lines.</summary>
internal static class EthtoolNativeLayout
{
    private static readonly Lazy<Dictionary<string, long>> s_values = new(CompileAndRun);

    public static long Value(string name) =>
        s_values.Value.TryGetValue(name, out long v) ? v : throw new KeyNotFoundException($"layout program printed no '{name}'");

    private static Dictionary<string, long> CompileAndRun()
    {
        string source = Path.Combine(LibcLayoutTests.RepoRoot(), "native", "layout", "ethtool_layout.c");
        string exe = Path.Combine(Path.GetTempPath(), $"dataplane-ethtool-layout-{Environment.ProcessId}");
        string compiler = File.Exists("/usr/bin/cc") ? "/usr/bin/cc" : "clang";
        Run(compiler, ["-std=c11", "-Wall", "-Werror", "-o", exe, source]);
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
