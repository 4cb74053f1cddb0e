using System.Globalization;
using DataPlane.Interop.Resources;

namespace DataPlane.Interop.Tests.Resources;

/// <summary>getrlimit(RLIMIT_NOFILE) through the managed wrapper agrees with what the kernel reports in
/// /proc/self/limits. (The daemon's end-to-end tests start it under a lowered limit and check the caps it derives.)</summary>
public class DescriptorLimitTests
{
    [Fact]
    public void Current_matches_proc_self_limits()
    {
        var limit = DescriptorLimit.Current();
        var (soft, hard) = ReadProcLimits(File.ReadAllText("/proc/self/limits"));

        Assert.Equal(soft, limit.Soft);
        Assert.Equal(hard, limit.Hard);
        Assert.True(limit.Soft <= limit.Hard);
    }

    /// <summary>The "Max open files" line: soft and hard, "unlimited" as <see cref="long.MaxValue"/>.</summary>
    private static (long Soft, long Hard) ReadProcLimits(string limits)
    {
        string line = limits.Split('\n').Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        string[] fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (Parse(fields[0]), Parse(fields[1]));

        static long Parse(string value) => value == "unlimited" ? long.MaxValue : long.Parse(value, CultureInfo.InvariantCulture);
    }
}
