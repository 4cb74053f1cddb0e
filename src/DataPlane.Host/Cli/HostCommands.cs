using DataPlane.CommandLine;
using DataPlane.Interop.Threading;
using DataPlane.Topology;
using DataPlane.Topology.Gpus;
using DataPlane.Topology.Matrix;
using DataPlane.Topology.Model;
using DataPlane.Topology.SelfTest;
using DataPlane.Tuning.Boot;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.Host.Cli;

/// <summary>The host-control verbs: <c>dataplane topo</c> (read only), <c>dataplane selftest</c> (read only) and
/// <c>dataplane tune plan|apply|verify|rollback</c>.</summary>
internal static class HostCommands
{
    private static readonly CommandOption[] s_roots =
    [
        CommandOption.Value("--nvml-library", "PATH", "NVML library to load (default libnvidia-ml.so.1 from the loader path)"),
        CommandOption.Value("--sysfs-root", "DIR", "read sysfs from DIR instead of /sys (fixture trees, containers)"),
        CommandOption.Value("--procfs-root", "DIR", "read procfs from DIR instead of /proc"),
    ];

    /// <summary><c>dataplane topo</c>, declared once for the parser and the help.</summary>
    public static CommandSpec TopoSpec { get; } = new("dataplane", "topo", "GPUs, NVLink, NICs and NUMA affinity of this host, in the layout of `nvidia-smi topo -m`")
    {
        Usage = ["[--json] [--nvml-library PATH] [--sysfs-root DIR] [--procfs-root DIR]"],
        Options = [CommandOption.Flag("--json", "the same as JSON"), .. s_roots],
    };

    /// <summary><c>dataplane tune</c>, declared once for the parser and the help.</summary>
    public static CommandSpec TuneSpec { get; } = new("dataplane", "tune", "host tuning with a dry run, verification and rollback")
    {
        Usage = ["plan|apply|verify|rollback --profile gpu-host|pi-edge [options]"],
        Arguments =
        [
            new CommandArgument("ACTION", "plan (default), apply, verify or rollback"),
        ],
        Description = """
            Actions:
              plan       show every setting of the profile, as the host has it now and as wanted (default; changes nothing)
              apply      change what differs; needs --yes. Saves each original first (rollback snapshot under --run-dir);
                         an apply interrupted by a crash is rolled back at the next start. CPU isolation is a boot-time
                         change: apply writes only a GRUB drop-in (/etc/default/grub.d); run update-grub and reboot
              verify     report drift from the profile, and boot-time changes pending a reboot (exit 1 when there is any)
              rollback   write every saved original back, newest first, remove the snapshot and the GRUB drop-in
            """,
        Options =
        [
            CommandOption.Value("--profile", "NAME", "gpu-host (sysctl, NIC coalescing/rings/features, NIC and GPU IRQ pinning,\nhot-path CPUs and their isolation at boot) or pi-edge (sysctl)"),
            CommandOption.Flag("--yes", "confirm apply (and rollback)"),
            CommandOption.Value("--only", "AREAS", "comma list of sysctl, nic, irq, isolation (default: every area of the profile)"),
            CommandOption.Value("--nics", "LIST", "data-path NICs by netdev name (default: NICs with an RDMA device)"),
            CommandOption.Value("--hot-cpus", "CPULIST", "CPUs reserved for the daemon's hot threads (default: chosen on the NIC's NUMA node)"),
            CommandOption.Value("--sysctl-file", "FILE", "sysctl.d file instead of the profile's own"),
            CommandOption.Value("--run-dir", "DIR", "where the rollback snapshot lives (default /run/dataplane)"),
            CommandOption.Flag("--json", "machine-readable output"),
            .. s_roots,
            CommandOption.Value("--etc-root", "DIR", "read and write /etc files under DIR instead"),
        ],
        Epilogue = "Exit status: 0 done / no drift; 1 drift, or a setting failed; 2 bad usage or not permitted.",
    };

    /// <summary><c>dataplane selftest</c>, declared once for the parser and the help.</summary>
    public static CommandSpec SelfTestSpec { get; } = new("dataplane", "selftest", "compare this host's discovery with recorded nvidia-smi and ibv_devinfo outputs")
    {
        Usage = ["[--nvidia-smi-topo FILE] [--nvidia-smi-query FILE] [--nvidia-smi-nvlink FILE] [--ibv-devinfo FILE] [options]"],
        Description = """
            Runs the discovery of `dataplane topo` and compares it, value by value, with what the vendors' tools printed
            on the same host (record them first; scripts/hw-selftest.sh does all of it):
              nvidia-smi topo -m       every matrix cell, CPU and NUMA affinity (GPUs by index, NICs by legend name)
              nvidia-smi -q -x         driver version, GPU count, each GPU's PCI bus id, name and UUID
              nvidia-smi nvlink -s     each GPU's link count, each link's state and speed
              ibv_devinfo -v           RDMA devices, firmware, ports: state, physical state, link layer, active_mtu
            At least one file is needed. Nothing on the host is changed and no tool is run.
            """,
        Options =
        [
            CommandOption.Value("--nvidia-smi-topo", "FILE", "output of nvidia-smi topo -m"),
            CommandOption.Value("--nvidia-smi-query", "FILE", "output of nvidia-smi -q -x"),
            CommandOption.Value("--nvidia-smi-nvlink", "FILE", "output of nvidia-smi nvlink -s"),
            CommandOption.Value("--ibv-devinfo", "FILE", "output of ibv_devinfo -v"),
            CommandOption.Flag("--json", "print the report as JSON"),
            CommandOption.Value("--report", "FILE", "also write the JSON report to FILE"),
            .. s_roots,
        ],
        Epilogue = "Exit status: 0 every value agrees; 1 a mismatch; 2 bad usage, or a file missing or not in its tool's format (named with its line).",
    };

    /// <summary>What <c>dataplane selftest --help</c> prints.</summary>
    public static string SelfTestUsage { get; } = SelfTestSpec.RenderHelp();

    /// <summary>What <c>dataplane topo --help</c> prints.</summary>
    public static string TopoUsage { get; } = TopoSpec.RenderHelp();

    /// <summary>What <c>dataplane tune --help</c> prints.</summary>
    public static string TuneUsage { get; } = TuneSpec.RenderHelp();

    public static int Topo(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = CommandParser.Parse(TopoSpec, args);
        if (a.HelpRequested)
        {
            stdout.WriteLine(TopoUsage);
            return 0;
        }

        if (a.Error is not null)
        {
            return Usage(stderr, TopoSpec, a.Error);
        }

        var topology = Discover(a);
        stdout.Write(a.Has("--json") ? TopologyJson.Serialize(topology) + "\n" : TopologyMatrix.Render(topology));
        return 0;
    }

    public static int SelfTest(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = CommandParser.Parse(SelfTestSpec, args);
        if (a.HelpRequested)
        {
            stdout.WriteLine(SelfTestUsage);
            return 0;
        }

        if (a.Error is not null)
        {
            return Usage(stderr, SelfTestSpec, a.Error);
        }

        var sources = new SelfTestSources(a.Value("--nvidia-smi-topo"), a.Value("--nvidia-smi-query"), a.Value("--nvidia-smi-nvlink"), a.Value("--ibv-devinfo"));
        if (sources.IsEmpty)
        {
            return Usage(stderr, SelfTestSpec, "name at least one of --nvidia-smi-topo, --nvidia-smi-query, --nvidia-smi-nvlink, --ibv-devinfo");
        }

        SelfTestInputs inputs;
        try
        {
            inputs = HostSelfTest.Load(sources);
        }
        catch (ToolOutputException e)
        {
            stderr.WriteLine($"dataplane selftest: {e.Message}");
            return 2;
        }

        var report = HostSelfTest.Run(inputs, Discover(a), Roots(a));
        string json = HostSelfTest.Serialize(report);
        if (a.Value("--report") is string path)
        {
            try
            {
                File.WriteAllText(path, json + "\n");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"dataplane selftest: --report {path}: {e.Message}");
                return 2;
            }
        }

        stdout.Write(a.Has("--json") ? json + "\n" : HostSelfTest.Render(report));
        return report.Ok ? 0 : 1;
    }

    public static int Tune(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = CommandParser.Parse(TuneSpec, args);
        string verb = a.Positionals.Count > 0 ? a.Positionals[0] : "plan";
        if (a.HelpRequested || verb is "help")
        {
            stdout.WriteLine(TuneUsage);
            return 0;
        }

        if (a.Error is not null)
        {
            return Usage(stderr, TuneSpec, a.Error);
        }

        if (verb is not ("plan" or "apply" or "verify" or "rollback"))
        {
            return Usage(stderr, TuneSpec, $"unknown action '{verb}' (plan, apply, verify, rollback)");
        }

        TuningOptions options;
        try
        {
            options = Options(a);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            return Usage(stderr, TuneSpec, e.Message);
        }

        var roots = Roots(a);
        if (verb is "apply" or "rollback")
        {
            if (!a.Has("--yes"))
            {
                stderr.WriteLine($"dataplane tune {verb}: this changes the host; add --yes to confirm (dataplane tune plan shows what would change)");
                return 2;
            }

            if (roots.IsReal && !Privileges.IsRoot)
            {
                stderr.WriteLine($"dataplane tune {verb}: needs root (kernel.* and vm.* sysctls and /proc/irq accept no capability short of it); nothing was changed");
                return 2;
            }
        }

        var topology = Discover(a);
        TuningSetup setup;
        try
        {
            setup = TuningSetup.Create(options, topology, roots);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            return Usage(stderr, TuneSpec, e.Message);
        }

        try
        {
            return verb switch
            {
                "plan" => WritePlan(stdout, a.Has("--json"), options, setup, verb, setup.Engine.Plan(), failOnDrift: false),
                "verify" => WritePlan(stdout, a.Has("--json"), options, setup, verb, setup.Engine.Verify(), failOnDrift: true),
                "apply" => WriteReport(stdout, a.Has("--json"), options, setup, verb, setup.Engine.Apply()),
                _ => WriteReport(stdout, a.Has("--json"), options, setup, verb, setup.Engine.Rollback()),
            };
        }
        catch (TuningException e)
        {
            stderr.WriteLine($"dataplane tune {verb}: {e.Message}");
            return 1;
        }
    }

    /// <summary>Discovery with the roots and NVML library the arguments name.</summary>
    private static HostTopology Discover(ParsedCommand a)
    {
        using var gpus = new NvmlGpuSource(a.Value("--nvml-library"));
        return TopologyDiscovery.Discover(Roots(a), gpus);
    }

    private static HostRoots Roots(ParsedCommand a) =>
        new(a.Value("--sysfs-root") ?? "/sys", a.Value("--procfs-root") ?? "/proc", a.Value("--etc-root") ?? "/etc");

    private static TuningOptions Options(ParsedCommand a)
    {
        string profile = a.Value("--profile") ?? throw new ArgumentException("--profile is required (gpu-host or pi-edge)");
        var only = a.Value("--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var unknown = only?.Where(o => !TuningOptions.Areas.Contains(o)).ToList();
        if (unknown is { Count: > 0 })
        {
            throw new ArgumentException($"--only: unknown area(s) {string.Join(", ", unknown)} (known: {string.Join(", ", TuningOptions.Areas)})");
        }

        string? sysctlFile = a.Value("--sysctl-file");
        if (sysctlFile is not null && !File.Exists(sysctlFile))
        {
            throw new ArgumentException($"--sysctl-file: {sysctlFile} does not exist");
        }

        return new TuningOptions
        {
            Profile = TuningProfile.Named(profile),
            SysctlFile = sysctlFile,
            Nics = a.Value("--nics")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            HotCpus = a.Value("--hot-cpus") is string hot ? CpuSet.ParseList(hot) : null,
            Only = only,
            RunDirectory = a.Value("--run-dir") ?? SnapshotStore.DefaultDirectory,
        };
    }

    private static int WritePlan(TextWriter stdout, bool json, TuningOptions options, TuningSetup setup, string verb, IReadOnlyList<TuningChange> changes, bool failOnDrift)
    {
        if (json)
        {
            stdout.WriteLine(TuningJson.Serialize(new PlanDocument(options.Profile.Name, verb, setup.Facts, changes)));
        }
        else
        {
            int pending = changes.Count(c => c.State == ChangeState.PendingReboot);
            int drifted = changes.Count - pending;
            string verdict = (drifted, pending) switch
            {
                (0, 0) => "no drift",
                (_, 0) => $"{drifted} setting(s) drifted",
                (0, _) => $"{pending} boot-time setting(s) pending reboot",
                _ => $"{drifted} setting(s) drifted, {pending} boot-time setting(s) pending reboot",
            };
            stdout.WriteLine(verb == "plan"
                ? $"dataplane tune plan --profile {options.Profile.Name} (dry run: nothing is changed)"
                : $"dataplane tune verify --profile {options.Profile.Name}: {verdict}");
            foreach (var fact in setup.Facts)
            {
                stdout.WriteLine($"  {fact}");
            }

            stdout.WriteLine();
            if (changes.Count > 0)
            {
                stdout.Write(TuningText.Plan(changes));
            }
        }

        return failOnDrift && changes.Count > 0 ? 1 : 0;
    }

    private static int WriteReport(TextWriter stdout, bool json, TuningOptions options, TuningSetup setup, string verb, TuningReport report)
    {
        if (json)
        {
            stdout.WriteLine(TuningJson.Serialize(new ReportDocument(options.Profile.Name, verb, setup.Facts, report.Outcomes, report.Succeeded) { RebootRequired = report.RebootRequired }));
        }
        else
        {
            stdout.WriteLine(verb == "apply"
                ? $"dataplane tune apply --profile {options.Profile.Name}: rollback snapshot {setup.Engine.Store.Path}"
                : $"dataplane tune rollback: {(report.Outcomes.Count == 0 ? "no snapshot, nothing to restore" : $"restoring from {setup.Engine.Store.Path}")}");
            foreach (var fact in setup.Facts)
            {
                stdout.WriteLine($"  {fact}");
            }

            stdout.WriteLine();
            stdout.Write(TuningText.Report(report));
            if (report.RebootRequired)
            {
                stdout.WriteLine($"reboot needed: {CpuIsolationTuner.RebootNotice} (nothing is run for you)");
            }
        }

        return report.Succeeded ? 0 : 1;
    }

    private static int Usage(TextWriter stderr, CommandSpec spec, string problem)
    {
        stderr.WriteLine(spec.FormatError(problem));
        return 2;
    }
}
