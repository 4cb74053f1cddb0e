using System.Diagnostics;

namespace DataPlane.Ops.Tests.Systemd;

/// <summary>The shipped units pass <c>systemd-analyze verify</c>, with the tuning drop-in applied, and keep the
/// properties the daemon depends on.</summary>
public class UnitFileTests
{
    private static string UnitDir => Path.Combine(RepoFiles.Root, "scripts", "systemd");

    private static Dictionary<string, List<string>> Settings(string file)
    {
        var settings = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string raw in File.ReadAllLines(file))
        {
            string line = raw.Trim();
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.Length == 0 || line[0] is '#' or ';' or '[' || eq < 0)
            {
                continue;
            }

            string key = line[..eq];
            if (!settings.TryGetValue(key, out var values))
            {
                settings[key] = values = [];
            }

            values.Add(line[(eq + 1)..]);
        }

        return settings;
    }

    [Fact]
    public async Task Both_units_and_the_tuning_drop_in_verify_clean()
    {
        Assert.True(File.Exists("/usr/bin/systemd-analyze") || File.Exists("/bin/systemd-analyze"), "systemd-analyze is not installed");
        string dir = Directory.CreateTempSubdirectory("dp-units-").FullName;
        try
        {
            // verify checks that ExecStart's binary exists: point it at an executable stub in the temporary copy.
            string stub = Path.Combine(dir, "stub");
            await File.WriteAllTextAsync(stub, "#!/bin/sh\n");
            if (OperatingSystem.IsLinux())
            {
                File.SetUnixFileMode(stub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            foreach (string name in new[] { "dataplane", "dataplane-agent" })
            {
                string text = await File.ReadAllTextAsync(Path.Combine(UnitDir, name + ".service"));
                Assert.Contains($"ExecStart=/usr/local/bin/{name} serve ", text);
                await File.WriteAllTextAsync(Path.Combine(dir, name + ".service"), text.Replace($"/usr/local/bin/{name} ", stub + " ", StringComparison.Ordinal));
            }

            Directory.CreateDirectory(Path.Combine(dir, "dataplane.service.d"));
            File.Copy(Path.Combine(UnitDir, "dataplane.service.d", "tuning.conf"), Path.Combine(dir, "dataplane.service.d", "tuning.conf"));

            // By name, with the copy first on the unit path, so the drop-in is read as systemd would read it.
            var psi = new ProcessStartInfo("systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
            foreach (string a in new[] { "verify", "--man=no", "dataplane.service", "dataplane-agent.service" })
            {
                psi.ArgumentList.Add(a);
            }

            psi.Environment["SYSTEMD_UNIT_PATH"] = dir + ":";
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            string output = await stdout + stderr;
            Assert.True(process.ExitCode == 0, output);
            // Any complaint about our files (unknown keys, bad values) names them; other lines are the host's.
            Assert.DoesNotContain(output.Split('\n'), l => l.Contains("dataplane", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_daemon_unit_keeps_what_gpu_hosts_and_tuning_need()
    {
        var s = Settings(Path.Combine(UnitDir, "dataplane.service"));
        Assert.Equal(["notify"], s["Type"]);
        Assert.Equal(["on-failure"], s["Restart"]);
        Assert.True(s.ContainsKey("WatchdogSec") && s.ContainsKey("TimeoutStartSec"));
        Assert.Equal(["infinity"], s["LimitMEMLOCK"]);
        foreach (string cap in new[] { "CAP_NET_ADMIN", "CAP_SYS_NICE", "CAP_IPC_LOCK" })
        {
            Assert.Contains(cap, s["CapabilityBoundingSet"].Single().Split(' '));
            Assert.Contains(cap, s["AmbientCapabilities"].Single().Split(' '));
        }

        // These would make /proc/sys and /proc/irq read-only, or hide /dev/nvidia* and /dev/infiniband.
        Assert.False(s.ContainsKey("ProtectKernelTunables"));
        Assert.False(s.ContainsKey("PrivateDevices"));
        // /proc/irq and /proc/sys are writable only with the tuning drop-in.
        Assert.False(s.ContainsKey("ReadWritePaths"));
        Assert.Equal(["strict"], s["ProtectSystem"]);
        var tuning = Settings(Path.Combine(UnitDir, "dataplane.service.d", "tuning.conf"));
        Assert.Equal(["/proc/irq /proc/sys"], tuning["ReadWritePaths"]);
    }

    [Fact]
    public void The_agent_unit_is_locked_down_further()
    {
        var s = Settings(Path.Combine(UnitDir, "dataplane-agent.service"));
        Assert.Equal(["notify"], s["Type"]);
        Assert.Equal(["on-failure"], s["Restart"]);
        Assert.True(s.ContainsKey("WatchdogSec"));
        Assert.Equal([""], s["CapabilityBoundingSet"]);
        foreach (string key in new[] { "DynamicUser", "PrivateDevices", "ProtectKernelTunables", "NoNewPrivileges", "PrivateUsers" })
        {
            Assert.Equal(["yes"], s[key]);
        }

        Assert.False(s.ContainsKey("ReadWritePaths"));
        Assert.DoesNotContain("AF_NETLINK", s["RestrictAddressFamilies"].Single());
    }
}
