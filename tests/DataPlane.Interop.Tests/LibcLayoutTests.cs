using System.Diagnostics;
using System.Runtime.InteropServices;
using DataPlane.Interop;

namespace DataPlane.Interop.Tests;

/// <summary>Compiles native/layout/libc_layout.c against the system headers and checks that every
/// size, offset and constant matches the managed declarations.</summary>
public class LibcLayoutTests
{
    private static readonly Lazy<Dictionary<string, long>> s_native = new(CompileAndRun);

    [Fact]
    public void Timespec_matches_the_C_layout()
    {
        Assert.Equal(Native("sizeof(struct timespec)"), Marshal.SizeOf<Interop.Libc.Timespec>());
        Assert.Equal(Native("offsetof(struct timespec,tv_sec)"), Marshal.OffsetOf<Interop.Libc.Timespec>(nameof(Interop.Libc.Timespec.TvSec)));
        Assert.Equal(Native("offsetof(struct timespec,tv_nsec)"), Marshal.OffsetOf<Interop.Libc.Timespec>(nameof(Interop.Libc.Timespec.TvNsec)));
    }

    [Fact]
    public void Pollfd_matches_the_C_layout()
    {
        Assert.Equal(Native("sizeof(struct pollfd)"), Marshal.SizeOf<Interop.Libc.PollFd>());
        Assert.Equal(Native("offsetof(struct pollfd,fd)"), Marshal.OffsetOf<Interop.Libc.PollFd>(nameof(Interop.Libc.PollFd.Fd)));
        Assert.Equal(Native("offsetof(struct pollfd,events)"), Marshal.OffsetOf<Interop.Libc.PollFd>(nameof(Interop.Libc.PollFd.Events)));
        Assert.Equal(Native("offsetof(struct pollfd,revents)"), Marshal.OffsetOf<Interop.Libc.PollFd>(nameof(Interop.Libc.PollFd.Revents)));
    }

    [Fact]
    public void Constants_match_the_headers()
    {
        Assert.Equal(Interop.Libc.POLLIN, Native("POLLIN"));
        Assert.Equal(Interop.Libc.EFD_NONBLOCK, Native("EFD_NONBLOCK"));
        Assert.Equal(Interop.Libc.EFD_CLOEXEC, Native("EFD_CLOEXEC"));
        Assert.Equal(Interop.Libc.CLOCK_MONOTONIC, Native("CLOCK_MONOTONIC"));
        Assert.Equal(Interop.Libc.TIMER_ABSTIME, Native("TIMER_ABSTIME"));
        Assert.Equal(Interop.Libc.CpuSetBytes, Native("sizeof(cpu_set_t)"));
        Assert.Equal(Interop.Libc.MCL_CURRENT, Native("MCL_CURRENT"));
        Assert.Equal(Interop.Libc.MCL_FUTURE, Native("MCL_FUTURE"));
    }

    private static long Native(string name) =>
        s_native.Value.TryGetValue(name, out long v) ? v : throw new KeyNotFoundException($"layout program printed no '{name}'");

    private static Dictionary<string, long> CompileAndRun()
    {
        string source = Path.Combine(RepoRoot(), "native", "layout", "libc_layout.c");
        string exe = Path.Combine(Path.GetTempPath(), $"dataplane-libc-layout-{Environment.ProcessId}");
        string compiler = File.Exists("/usr/bin/cc") ? "/usr/bin/cc" : "clang";
        Run(compiler, ["-std=c11", "-Wall", "-Werror", "-o", exe, source]);
        try
        {
            return Run(exe, []).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => (Name: l[..l.LastIndexOf(' ')], Value: l[(l.LastIndexOf(' ') + 1)..]))
                .ToDictionary(p => p.Name, p => long.Parse(p.Value, System.Globalization.CultureInfo.InvariantCulture));
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

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DataPlane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("repository root (DataPlane.sln) not found above " + AppContext.BaseDirectory);
    }
}
