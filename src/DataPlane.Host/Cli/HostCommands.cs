using DataPlane.Interop.Threading;
using DataPlane.Topology;
using DataPlane.Topology.Gpus;
using DataPlane.Topology.Matrix;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.Host.Cli;

/// <summary>The host-control verbs: <c>dataplane topo</c> (read only) and <c>dataplane tune plan|apply|verify|rollback</c>.</summary>
internal static class HostCommands
{
    public const string TopoUsage = """
        dataplane topo — GPUs, NVLink, NICs and NUMA affinity of this host, in the layout of `nvidia-smi topo -m`

        Usage: dataplane topo [--json] [--nvml-library PATH] [--sysfs-root DIR] [--procfs-root DIR]

          --json                the same as JSON
          --nvml-library PATH   NVML library to load (default libnvidia-ml.so.1 from the loader path)
          --sysfs-root DIR      read sysfs from DIR instead of /sys (fixture trees, containers)
          --procfs-root DIR     read procfs from DIR instead of /proc
        """;

    public const string TuneUsage = """
        dataplane tune — host tuning with a dry run, verification and rollback

        Usage: dataplane tune plan|apply|verify|rollback --profile gpu-host|pi-edge [options]

          plan       show every setting of the profile, as the host has it now and as wanted (default; changes nothing)
          apply      change what differs; needs --yes. Saves each original first (rollback snapshot under --run-dir);
                     an apply interrupted by a crash is rolled back at the next start
          verify     report drift from the profile (exit 1 when there is any)
          rollback   write every saved original back, newest first, and remove the snapshot

        options:
          --profile NAME        gpu-host (sysctl, NIC coalescing/rings/features, IRQ pinning, hot-path CPUs) or pi-edge (sysctl)
          --yes                 confirm apply (and rollback)
          --only AREAS          comma list of sysctl, nic, irq (default: every area of the profile)
          --nics LIST           data-path NICs by netdev name (default: NICs with an RDMA device)
          --hot-cpus CPULIST    CPUs reserved for the daemon's hot threads (default: chosen on the NIC's NUMA node)
          --sysctl-file FILE    sysctl.d file instead of the profile's own
          --run-dir DIR         where the rollback snapshot lives (default /run/dataplane)
          --json                machine-readable output
          --nvml-library PATH, --sysfs-root DIR, --procfs-root DIR, --etc-root DIR   as for topo

        Exit status: 0 done / no drift; 1 drift, or a setting failed; 2 bad usage or not permitted.
        """;

    public static int Topo(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = CliArguments.Parse(args, flags: ["--json", "--help", "-h"], values: ["--nvml-library", "--sysfs-root", "--procfs-root"]);
        if (a.Error is not null)
        {
            return Usage(stderr, "topo", a.Error, TopoUsage);
        }

        if (a.Has("--help") || a.Has("-h"))
        {
            stdout.WriteLine(TopoUsage);
            return 0;
        }

        var topology = Discover(a);
        stdout.Write(a.Has("--json") ? TopologyJson.Serialize(topology) + "\n" : TopologyMatrix.Render(topology));
        return 0;
    }

    public static int Tune(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "plan";
        var a = CliArguments.Parse(args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args,
            flags: ["--json", "--yes", "--help", "-h"],
            values: ["--profile", "--only", "--nics", "--hot-cpus", "--sysctl-file", "--run-dir", "--nvml-library", "--sysfs-root", "--procfs-root", "--etc-root"]);
        if (a.Has("--help") || a.Has("-h") || verb is "help")
        {
            stdout.WriteLine(TuneUsage);
            return 0;
        }

        if (a.Error is not null)
        {
            return Usage(stderr, "tune", a.Error, TuneUsage);
        }

        if (verb is not ("plan" or "apply" or "verify" or "rollback"))
        {
            return Usage(stderr, "tune", $"unknown action '{verb}' (plan, apply, verify, rollback)", TuneUsage);
        }

        TuningOptions options;
        try
        {
            options = Options(a);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            return Usage(stderr, "tune", e.Message, TuneUsage);
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
            return Usage(stderr, "tune", e.Message, TuneUsage);
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
    private static HostTopology Discover(CliArguments a)
    {
        using var gpus = new NvmlGpuSource(a.Value("--nvml-library"));
        return TopologyDiscovery.Discover(Roots(a), gpus);
    }

    private static HostRoots Roots(CliArguments a) =>
        new(a.Value("--sysfs-root") ?? "/sys", a.Value("--procfs-root") ?? "/proc", a.Value("--etc-root") ?? "/etc");

    private static TuningOptions Options(CliArguments a)
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
            stdout.WriteLine(verb == "plan"
                ? $"dataplane tune plan --profile {options.Profile.Name} (dry run: nothing is changed)"
                : $"dataplane tune verify --profile {options.Profile.Name}: {(changes.Count == 0 ? "no drift" : $"{changes.Count} setting(s) drifted")}");
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
            stdout.WriteLine(TuningJson.Serialize(new ReportDocument(options.Profile.Name, verb, setup.Facts, report.Outcomes, report.Succeeded)));
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
        }

        return report.Succeeded ? 0 : 1;
    }

    private static int Usage(TextWriter stderr, string verb, string problem, string usage)
    {
        stderr.WriteLine($"dataplane {verb}: {problem}\n\n{usage}");
        return 2;
    }
}

/// <summary>A small parser for the host-control verbs: <c>--name value</c>, <c>--name=value</c> and flags;
/// anything else is an error that names the argument.</summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, string?> _given = new(StringComparer.Ordinal);

    public string? Error { get; private set; }

    public static CliArguments Parse(string[] args, IReadOnlyCollection<string> flags, IReadOnlyCollection<string> values)
    {
        var parsed = new CliArguments();
        for (int i = 0; i < args.Length && parsed.Error is null; i++)
        {
            string arg = args[i];
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            string name = eq > 0 ? arg[..eq] : arg;
            if (flags.Contains(name) && eq < 0)
            {
                parsed._given[name] = null;
            }
            else if (values.Contains(name))
            {
                string? value = eq > 0 ? arg[(eq + 1)..] : i + 1 < args.Length ? args[++i] : null;
                if (string.IsNullOrEmpty(value))
                {
                    parsed.Error = $"{name} needs a value";
                }
                else
                {
                    parsed._given[name] = value;
                }
            }
            else
            {
                parsed.Error = $"unknown argument '{arg}'";
            }
        }

        return parsed;
    }

    public bool Has(string name) => _given.ContainsKey(name);

    public string? Value(string name) => _given.GetValueOrDefault(name);
}
