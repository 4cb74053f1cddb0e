using DataPlane.Host.Cli;
using DataPlane.Testing;
using DataPlane.Topology.SelfTest;

namespace DataPlane.Host.Tests.Cli;

/// <summary><c>dataplane selftest</c> through the verb: discovery of a fixture host through the real NVML binding (the fake
/// <c>libnvidia-ml.so.1</c>) and its sysfs/procfs tree, against the outputs recorded for that host.</summary>
[Collection(FakeNvml.Collection)]
public class SelfTestVerbTests
{
    private const string Host = "nvlink-bridge-2gpu";

    private static string Fixture(string file) => RepoFiles.Path($"tests/fixtures/selftest/{Host}/{file}");

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = HostCommands.SelfTest(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static string[] Against(HostFixture host, params string[] files) =>
        [.. files, "--nvml-library", FakeNvml.LibraryPath, "--sysfs-root", host.Roots.Sys, "--procfs-root", host.Roots.Proc];

    [Fact]
    public void Outputs_of_the_same_host_agree_and_exit_0()
    {
        using var nvml = FakeNvml.Use(Host);
        using var host = HostFixture.Create(Host);
        using var folder = new TempFolder("dataplane-selftest-");
        string reportFile = folder.File("report.json");

        var (exit, stdout, stderr) = Run(Against(host,
            "--nvidia-smi-topo", Fixture("nvidia-smi-topo-m.txt"),
            "--nvidia-smi-query", Fixture("nvidia-smi-q.xml"),
            "--nvidia-smi-nvlink", Fixture("nvidia-smi-nvlink-s.txt"),
            "--ibv-devinfo", Fixture("ibv_devinfo-v.txt"),
            "--report", reportFile));

        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        Assert.StartsWith("dataplane selftest: ", stdout, StringComparison.Ordinal);
        Assert.Contains(" checks, 0 mismatches\n", stdout, StringComparison.Ordinal);
        var report = HostSelfTest.Deserialize(File.ReadAllText(reportFile));
        Assert.NotNull(report);
        Assert.True(report.Ok);
        Assert.Equal(["topo", "gpus", "nvlink", "rdma"], report.Sections.Select(s => s.Section));
        Assert.Equal(Fixture("ibv_devinfo-v.txt"), report.Sources.IbvDevinfo);
    }

    [Fact]
    public void A_mismatch_exits_1_and_the_json_names_it()
    {
        using var nvml = FakeNvml.Use(Host);
        using var host = HostFixture.Create(Host);

        var (exit, stdout, _) = Run(Against(host, "--nvidia-smi-topo", Fixture("nvidia-smi-topo-m.mismatch.txt"), "--json"));

        Assert.Equal(1, exit);
        var report = HostSelfTest.Deserialize(stdout);
        Assert.NotNull(report);
        Assert.Equal(2, report.Mismatches);
        Assert.Contains(new SelfTestCheck("topo", "GPU0/mlx5_0", "PHB", "PIX", false), report.Results);
    }

    [Fact]
    public void A_missing_file_exits_2_naming_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"dataplane-no-such-{Guid.NewGuid():N}.xml");

        var (exit, stdout, stderr) = Run("--nvidia-smi-query", missing);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.StartsWith($"dataplane selftest: {missing}: cannot be read", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void A_malformed_file_exits_2_naming_it_and_its_line()
    {
        using var folder = new TempFolder("dataplane-selftest-");
        string bad = folder.File("topo.txt");
        File.WriteAllText(bad, "\tGPU0\tGPU1\nGPU0\t X \tNV4\nGPU1\tNV4\tFAST\n");

        var (exit, stdout, stderr) = Run("--nvidia-smi-topo", bad);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Equal($"dataplane selftest: {bad}:3: 'FAST' in row GPU1 is not a path (X, SYS, NODE, PHB, PXB, PIX or NV#)\n", stderr);
    }

    [Fact]
    public void Without_any_file_it_is_a_usage_error()
    {
        var (exit, stdout, stderr) = Run("--json");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("dataplane selftest: name at least one of --nvidia-smi-topo", stderr, StringComparison.Ordinal);
        Assert.EndsWith("(see 'dataplane selftest --help')\n", stderr, StringComparison.Ordinal);
    }
}
