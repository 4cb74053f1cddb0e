using DataPlane.Topology.Matrix;

namespace DataPlane.EndToEnd.Tests;

/// <summary><c>dataplane topo</c> and <c>dataplane tune</c> as real processes: the fake NVML library loaded through the
/// real lazy-loading path, sysfs/procfs fixture trees of a DGX H100-like host, and real sysctl and ethtool calls
/// inside a private network namespace on a veth pair (nothing on the machine running the tests changes).</summary>
public class HostControlProcessTests
{
    private static Dictionary<string, string> NvmlHost(string host) => new() { ["DATAPLANE_FAKE_NVML_HOST"] = FakeNvml.HostFile(host) };

    [Fact]
    public async Task Topo_prints_the_dgx_matrix_from_nvml_and_sysfs_and_the_same_as_json()
    {
        using var host = HostFixture.Create("dgx-h100");
        string[] args = ["topo", "--nvml-library", FakeNvml.LibraryPath, "--sysfs-root", host.Roots.Sys, "--procfs-root", host.Roots.Proc];
        using var text = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, args);
        Assert.Equal(0, await text.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var gpu0 = text.Output.Split('\n').Single(l => l.StartsWith("GPU0 ", StringComparison.Ordinal));
        var cells = gpu0.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["GPU0", "X", "NV18", "NV18", "NV18", "NV18", "NV18", "NV18", "NV18", "PXB", "NODE", "NODE", "NODE", "SYS", "SYS", "SYS", "SYS"], cells.Take(17));
        Assert.Contains("0-55,112-167", gpu0);
        Assert.Contains("NV#  = Connection traversing a bonded set of # NVLinks", text.Output);
        Assert.Contains("NIC0: mlx5_0", text.Output);
        Assert.Contains("GPU7 -> mlx5_7", text.Output);

        using var json = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, [.. args, "--json"]);
        Assert.Equal(0, await json.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var report = TopologyJson.Deserialize(json.Output)!;
        Assert.Equal(8, report.Gpus.Count);
        Assert.Equal("NVIDIA H100 80GB HBM3", report.Gpus[0].Name);
        Assert.Equal(18, report.Gpus[0].Links.Count(l => l.State == "active"));
    }

    [Fact]
    public async Task Topo_without_an_nvml_library_still_shows_the_nics_and_says_why_there_are_no_gpus()
    {
        using var host = HostFixture.Create("pcie-4gpu");
        using var topo = new ChildProcess(Binaries.Dataplane, "topo", "--nvml-library", "/nonexistent/libnvidia-ml.so.1",
            "--sysfs-root", host.Roots.Sys, "--procfs-root", host.Roots.Proc);

        Assert.Equal(0, await topo.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("/nonexistent/libnvidia-ml.so.1", topo.Output);
        Assert.Contains("NIC0: mlx5_0", topo.Output);
    }

    [Fact]
    public async Task Tune_plan_changes_nothing_apply_needs_yes_then_verify_and_rollback_restore_the_tree()
    {
        using var host = HostFixture.Create("dgx-h100");
        string run = Path.Combine(host.Root, "run");
        string[] common = ["--profile", "gpu-host", "--only", "sysctl,irq", "--nvml-library", FakeNvml.LibraryPath,
            "--sysfs-root", host.Roots.Sys, "--procfs-root", host.Roots.Proc, "--etc-root", Path.Combine(host.Root, "etc"), "--run-dir", run];
        string rmem = host.Proc("sys/net/core/rmem_max"), irq = host.Proc("irq/101/smp_affinity_list");
        string rmemBefore = File.ReadAllText(rmem), irqBefore = File.ReadAllText(irq);

        using (var plan = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, ["tune", "plan", .. common]))
        {
            Assert.Equal(0, await plan.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("dry run: nothing is changed", plan.Output);
            Assert.Matches(@"sysctl\s+kernel\s+net\.core\.rmem_max\s+212992\s+16777216\s+change", plan.Output);
            Assert.Matches(@"irq\s+irq/101\s+smp_affinity_list\s+\S+\s+0\s+change\s+enp25s0np0 queue 0", plan.Output);
        }

        using (var refused = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, ["tune", "apply", .. common]))
        {
            Assert.Equal(2, await refused.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("add --yes to confirm", refused.Output);
        }

        Assert.Equal(rmemBefore, File.ReadAllText(rmem));
        Assert.Equal(irqBefore, File.ReadAllText(irq));

        using (var apply = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, ["tune", "apply", "--yes", .. common]))
        {
            Assert.Equal(0, await apply.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("0 failed", apply.Output);
        }

        Assert.Equal("16777216\n", File.ReadAllText(rmem));
        Assert.Equal("0\n", File.ReadAllText(irq));
        Assert.True(File.Exists(Path.Combine(run, "tuning-snapshot.json")));

        using (var verify = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, ["tune", "verify", .. common]))
        {
            Assert.Equal(0, await verify.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("no drift", verify.Output);
        }

        File.WriteAllText(rmem, "212992\n");
        using (var drift = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, ["tune", "verify", .. common]))
        {
            Assert.Equal(1, await drift.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("1 setting(s) drifted", drift.Output);
        }

        using (var rollback = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, ["tune", "rollback", "--yes", .. common]))
        {
            Assert.Equal(0, await rollback.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(rmemBefore, File.ReadAllText(rmem));
        Assert.Equal(irqBefore, File.ReadAllText(irq));
        Assert.False(File.Exists(Path.Combine(run, "tuning-snapshot.json")));
    }

    [Fact]
    public async Task Tune_reports_bad_usage_naming_the_argument()
    {
        using var unknown = new ChildProcess(Binaries.Dataplane, "tune", "plan", "--profile", "laptop");
        Assert.Equal(2, await unknown.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("unknown profile 'laptop' (known: gpu-host, pi-edge)", unknown.Output);

        using var area = new ChildProcess(Binaries.Dataplane, "tune", "plan", "--profile", "gpu-host", "--only", "disk");
        Assert.Equal(2, await area.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--only: unknown area(s) disk", area.Output);

        using var flag = new ChildProcess(Binaries.Dataplane, "tune", "plan", "--profile");
        Assert.Equal(2, await flag.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--profile needs a value", flag.Output);
    }

    [Fact]
    public async Task Real_sysctls_and_ethtool_in_a_private_network_namespace_apply_verify_and_roll_back()
    {
        // The CI machines allow unprivileged user and network namespaces (scripts/bootstrap.sh installs ip and unshare).
        Assert.True(NetworkNamespace.Available(out string why), why);

        string dir = Directory.CreateTempSubdirectory("dataplane-netns-").FullName;
        try
        {
            // Per-namespace keys only: the namespace's root may change them, and the host's values stay as they are.
            string sysctl = Path.Combine(dir, "netns.conf");
            File.WriteAllText(sysctl, "net.ipv4.tcp_keepalive_time = 31\nnet.core.somaxconn = 2048\n");
            string hostKeepalive = File.ReadAllText("/proc/sys/net/ipv4/tcp_keepalive_time");
            string tune = $"{Binaries.Dataplane} tune {{0}} --profile gpu-host --only sysctl,nic --nics v0 --sysctl-file {sysctl} --run-dir {dir}/run";
            string script = string.Join(" && ",
                "ip link add v0 type veth peer name v1",
                "ip link set v0 up && ip link set v1 up",
                "echo BEFORE $(cat /proc/sys/net/ipv4/tcp_keepalive_time)",
                string.Format(System.Globalization.CultureInfo.InvariantCulture, tune, "apply --yes --json") + " > " + dir + "/apply.json",
                "echo AFTER $(cat /proc/sys/net/ipv4/tcp_keepalive_time)",
                string.Format(System.Globalization.CultureInfo.InvariantCulture, tune, "verify"),
                string.Format(System.Globalization.CultureInfo.InvariantCulture, tune, "rollback --yes"),
                "echo RESTORED $(cat /proc/sys/net/ipv4/tcp_keepalive_time)");
            using var ns = new ChildProcess("unshare", "-rn", "--", "sh", "-c", script);

            Assert.Equal(0, await ns.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            string apply = File.ReadAllText(Path.Combine(dir, "apply.json"));
            Assert.Contains("\"succeeded\": true", apply);
            Assert.Contains("\"key\": \"net.ipv4.tcp_keepalive_time\"", apply);
            Assert.Contains("\"kind\": \"feature\"", apply); // veth: rx-gro changed through SFEATURES
            Assert.Contains("\"kind\": \"coalesce\"", apply); // veth has no coalescing: reported as unsupported
            string before = Between(ns.Output, "BEFORE ");
            Assert.Equal("31", Between(ns.Output, "AFTER "));
            Assert.Equal(before, Between(ns.Output, "RESTORED "));
            Assert.Contains("no drift", ns.Output);
            Assert.Equal(hostKeepalive, File.ReadAllText("/proc/sys/net/ipv4/tcp_keepalive_time"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Daemon_applies_the_profile_at_start_and_exports_topology_and_drift()
    {
        using var host = HostFixture.Create("dgx-h100");
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        string run = Path.Combine(host.Root, "run");
        using var daemon = new ChildProcess(NvmlHost("dgx-h100"), Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0",
            $"--Topology:NvmlLibrary={FakeNvml.LibraryPath}", $"--Topology:SysfsRoot={host.Roots.Sys}", $"--Topology:ProcfsRoot={host.Roots.Proc}",
            $"--Topology:EtcRoot={Path.Combine(host.Root, "etc")}", "--Topology:RefreshSeconds=1",
            "--Tuning:Profile=gpu-host", "--Tuning:ApplyAtStart=true", "--Tuning:Nics:0=enp25s0np0", "--Tuning:Areas:0=sysctl", "--Tuning:Areas:1=irq",
            $"--Tuning:RunDirectory={run}");
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));
        using var http = new HttpClient();

        string metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{admin}/metrics"));
        Assert.Contains("dataplane_gpu_info{gpu=\"0\",UUID=\"GPU-4f6a9a0e-0c53-4c55-9c1d-1a2b3c4d5e00\",pci_bus_id=\"00000000:18:00.0\",modelName=\"NVIDIA H100 80GB HBM3\",numa_node=\"0\"} 1", metrics);
        Assert.Contains("dataplane_nvlink_up{gpu=\"7\",UUID=\"GPU-4f6a9a0e-0c53-4c55-9c1d-1a2b3c4d5e07\",link=\"17\"} 1", metrics);
        Assert.Contains("dataplane_nvlink_speed_bytes_per_second{gpu=\"7\",UUID=\"GPU-4f6a9a0e-0c53-4c55-9c1d-1a2b3c4d5e07\",link=\"17\"} 25000000000", metrics);
        Assert.Contains("dataplane_irq_affinity_ok{device=\"enp25s0np0\",irq=\"101\",queue=\"0\"} 1", metrics);
        Assert.Contains("dataplane_tuning_applied 1", metrics);
        Assert.Contains("dataplane_infiniband_port_data_received_bytes_total{device=\"mlx5_0\",port=\"1\"} 400000", metrics);
        Assert.Contains("dataplane_infiniband_state_id{device=\"mlx5_7\",port=\"1\"} 4", metrics);
        Assert.Contains("dataplane_tuning_drift_settings 0", metrics);
        Assert.Equal("16777216\n", File.ReadAllText(host.Proc("sys/net/core/rmem_max")));

        // Someone undoes a setting: the next scrape after the refresh interval shows the drift.
        File.WriteAllText(host.Proc("sys/net/core/rmem_max"), "212992\n");
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{admin}/metrics"));
        Assert.Contains("dataplane_tuning_drift{kind=\"sysctl\",target=\"kernel\",key=\"net.core.rmem_max\"} 1", metrics);
        Assert.Contains("dataplane_tuning_drift_settings 1", metrics);

        var topology = TopologyJson.Deserialize(await http.GetStringAsync(new Uri($"http://127.0.0.1:{admin}/topology")))!;
        Assert.Equal(8, topology.Gpus.Count);
        string tuning = await http.GetStringAsync(new Uri($"http://127.0.0.1:{admin}/tuning"));
        Assert.Contains("\"key\": \"net.core.rmem_max\"", tuning);
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Daemon_start_rolls_back_an_apply_that_was_interrupted()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        string run = Path.Combine(host.Root, "run");
        string rmem = host.Proc("sys/net/core/rmem_max");
        // What a crash half-way through `tune apply` leaves: the setting changed, its original in an incomplete snapshot.
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "tuning-snapshot.json"), """
            {"profile": "gpu-host", "started": "2026-01-01T00:00:00+00:00", "pid": 1, "complete": false,
             "entries": [{"kind": "sysctl", "target": "kernel", "key": "net.core.rmem_max", "original": "212992"}]}
            """);
        File.WriteAllText(rmem, "16777216\n");
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();

        // No Tuning:Profile now: the snapshot's own profile is used to restore it.
        using var daemon = new ChildProcess(NvmlHost("nvlink-bridge-2gpu"), Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0",
            $"--Topology:NvmlLibrary={FakeNvml.LibraryPath}", $"--Topology:SysfsRoot={host.Roots.Sys}", $"--Topology:ProcfsRoot={host.Roots.Proc}",
            $"--Topology:EtcRoot={Path.Combine(host.Root, "etc")}", $"--Tuning:RunDirectory={run}");
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));

        Assert.Equal("212992\n", File.ReadAllText(rmem));
        Assert.False(File.Exists(Path.Combine(run, "tuning-snapshot.json")));
        Assert.Contains("Rolled back an interrupted tuning apply: 1 setting(s) restored, 0 failed", daemon.Output);
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private static string Between(string output, string marker)
    {
        string line = output.Split('\n').First(l => l.StartsWith(marker, StringComparison.Ordinal));
        return line[marker.Length..].Trim();
    }
}

/// <summary>Whether this machine lets an unprivileged process create a user and network namespace.</summary>
internal static class NetworkNamespace
{
    public static bool Available(out string why)
    {
        try
        {
            using var probe = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("unshare", ["-rn", "--", "ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            string err = probe.StandardError.ReadToEnd();
            probe.WaitForExit();
            why = probe.ExitCode == 0 ? "" : $"unshare -rn with a veth pair is not permitted here: {err.Trim()}";
            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            why = $"unshare or ip is not installed: {e.Message}";
            return false;
        }
    }
}
