using System.Globalization;
using System.Text;
using DataPlane.Topology.Model;

namespace DataPlane.Testing;

/// <summary>A GPU host as a <c>tests/fixtures/hosts/*.host</c> file describes it (see the README there for the format).
/// <see cref="HostFixture"/> writes a sysfs/procfs tree from it; <see cref="ToGpuInventory"/> gives the GPU facts NVML
/// would report for it, without NVML.</summary>
public sealed class HostDescription
{
    private HostDescription(string name) => Name = name;

    /// <summary>The file's name without <c>.host</c>.</summary>
    public string Name { get; }

    /// <summary>CPUs online (<c>cpus</c> line).</summary>
    public CpuSet OnlineCpus { get; private set; } = CpuSet.Empty;

    /// <summary>NUMA nodes (<c>numa</c> lines), by id.</summary>
    public IReadOnlyList<NumaNode> NumaNodes => _numa;

    /// <summary>NVIDIA driver version (<c>driver</c> line), null when absent.</summary>
    public string? DriverVersion { get; private set; }

    /// <summary>PCI bridges (<c>bridge</c> lines), in file order.</summary>
    public IReadOnlyList<HostBridge> Bridges => _bridges;

    /// <summary>GPUs (<c>gpu</c> lines), by index.</summary>
    public IReadOnlyList<HostGpu> Gpus => _gpus;

    /// <summary>GPU↔GPU levels NVML reports (<c>pcilevel</c> lines), keyed by (lower, higher) index.</summary>
    public IReadOnlyDictionary<(int, int), PathLevel> PciLevels => _levels;

    /// <summary>NIC functions (<c>nic</c> lines), in file order.</summary>
    public IReadOnlyList<HostNic> Nics => _nics;

    /// <summary>Virtual interfaces without a PCI device (<c>netdev</c> lines).</summary>
    public IReadOnlyList<string> VirtualNetDevs => _netdevs;

    /// <summary>Kernel settings as the host starts (<c>sysctl</c> lines): dotted key and value (tabs kept, as
    /// <c>/proc/sys/net/ipv4/tcp_rmem</c> reads).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Sysctls => _sysctls;

    private readonly List<NumaNode> _numa = [];
    private readonly List<HostBridge> _bridges = [];
    private readonly List<HostGpu> _gpus = [];
    private readonly Dictionary<(int, int), PathLevel> _levels = [];
    private readonly List<HostNic> _nics = [];
    private readonly List<string> _netdevs = [];
    private readonly List<KeyValuePair<string, string>> _sysctls = [];

    /// <summary>The directory holding the <c>.host</c> files, found by walking up from the test binary to the repository.</summary>
    public static string FixturesDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "hosts");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException("tests/fixtures/hosts not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Loads <c>tests/fixtures/hosts/&lt;hostName&gt;.host</c>.</summary>
    public static HostDescription Load(string hostName) =>
        Parse(hostName, File.ReadAllText(Path.Combine(FixturesDirectory, hostName + ".host")));

    /// <summary>Parses the text of a <c>.host</c> file; a malformed line throws <see cref="FormatException"/> naming it.</summary>
    public static HostDescription Parse(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var host = new HostDescription(name);
        var lines = text.Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].TrimEnd('\r');
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                host.ParseLine(line);
            }
            catch (Exception e) when (e is FormatException or KeyNotFoundException or ArgumentException or OverflowException)
            {
                throw new FormatException($"{name}.host line {n + 1}: {e.Message}: {line.Trim()}", e);
            }
        }

        host._gpus.Sort((a, b) => a.Index.CompareTo(b.Index));
        host._numa.Sort((a, b) => a.Id.CompareTo(b.Id));
        return host;
    }

    /// <summary>The NUMA node of a device: the GPU's or NIC's own <c>numa=</c> when given, else the node of a GPU under
    /// the same host bridge, else that of the host bridge nearest by bus number that carries a GPU, else null.</summary>
    public int? NumaOf(PciAddress device)
    {
        if (_gpus.FirstOrDefault(g => g.Pci == device) is { } gpu)
        {
            return gpu.Numa;
        }

        if (_nics.FirstOrDefault(n => n.Pci == device) is { Numa: int numa })
        {
            return numa;
        }

        string host = HostBridgeOf(device);
        var known = _gpus.Where(g => g.Numa is not null).Select(g => (Host: HostBridgeOf(g.Pci), g.Numa)).ToList();
        if (known.FirstOrDefault(k => k.Host == host) is { Host: not null } same)
        {
            return same.Numa;
        }

        int bus = HostBus(host);
        return known.Count == 0 ? null : known.OrderBy(k => Math.Abs(HostBus(k.Host) - bus)).ThenBy(k => HostBus(k.Host)).First().Numa;
    }

    /// <summary>The CPUs of <see cref="NumaOf"/>'s node, or every online CPU when the node is unknown.</summary>
    public CpuSet LocalCpusOf(PciAddress device) =>
        NumaOf(device) is int node && _numa.FirstOrDefault(n => n.Id == node) is { } numa ? numa.Cpus : OnlineCpus;

    /// <summary>The host bridge (<c>pci0000:15</c>) above a GPU, NIC or bridge.</summary>
    public string HostBridgeOf(PciAddress device)
    {
        string parent = ParentOf(device);
        for (int depth = 0; depth < 64; depth++)
        {
            if (parent.StartsWith("pci", StringComparison.Ordinal))
            {
                return parent;
            }

            parent = ParentOf(PciAddress.Parse(parent));
        }

        throw new InvalidOperationException($"{Name}: the bridges above {device} form a loop");
    }

    /// <summary>The <c>&lt;parent&gt;</c> field of the line describing <paramref name="device"/>.</summary>
    public string ParentOf(PciAddress device) =>
        _bridges.FirstOrDefault(b => b.Pci == device)?.Parent
        ?? _gpus.FirstOrDefault(g => g.Pci == device)?.Parent
        ?? _nics.FirstOrDefault(n => n.Pci == device)?.Parent
        ?? throw new KeyNotFoundException($"{Name}: {device} is not described");

    /// <summary>NVML's GPU↔GPU level: the <c>pcilevel</c> line, else NODE on one NUMA node and SYS across.</summary>
    public PathLevel PciLevel(int a, int b)
    {
        if (a == b)
        {
            return PathLevel.Self;
        }

        if (_levels.TryGetValue((Math.Min(a, b), Math.Max(a, b)), out var level))
        {
            return level;
        }

        var ga = _gpus.First(g => g.Index == a);
        var gb = _gpus.First(g => g.Index == b);
        return ga.Numa is not null && ga.Numa == gb.Numa ? PathLevel.Node : PathLevel.Sys;
    }

    /// <summary>What NVML reports for this host, built from the description alone.</summary>
    public GpuInventory ToGpuInventory()
    {
        var gpus = _gpus.Select(g => new GpuDevice(
            g.Index,
            g.Name,
            g.Uuid,
            g.Pci,
            g.Numa is int node && _numa.FirstOrDefault(n => n.Id == node) is { } numa ? numa.Cpus : CpuSet.Empty,
            g.Numa,
            [.. Enumerable.Range(0, g.Links).Select(l => new NvLink(
                l,
                !g.InactiveLinks.Contains(l),
                g.Version,
                g.RemoteKind,
                g.RemoteKind == NvLinkRemote.Gpu ? _gpus.First(p => p.Index == g.RemoteGpu).Pci : g.RemoteSwitch,
                null,
                null,
                g.InactiveLinks.Contains(l) ? 0ul : 25_000_000_000ul))],
            g.NvSwitchLinks)).ToList();
        var levels = new Dictionary<(int, int), PathLevel>();
        foreach (var a in _gpus)
        {
            foreach (var b in _gpus.Where(b => b.Index > a.Index))
            {
                levels[(a.Index, b.Index)] = PciLevel(a.Index, b.Index);
            }
        }

        return new GpuInventory(gpus, levels, DriverVersion, null);
    }

    private void ParseLine(string line)
    {
        var fields = Tokenize(line);
        string kind = fields[0];
        switch (kind)
        {
            case "cpus":
                OnlineCpus = CpuSet.ParseList(fields[1]);
                break;
            case "numa":
                _numa.Add(new NumaNode(Int(fields[1]), CpuSet.ParseList(fields[2])));
                break;
            case "driver":
                DriverVersion = fields[1];
                break;
            case "bridge":
                _bridges.Add(new HostBridge(PciAddress.Parse(fields[1]), fields[2]));
                break;
            case "gpu":
            {
                var keys = Keys(fields, 4);
                string remote = keys.GetValueOrDefault("remote", "");
                var kindOfRemote = remote.StartsWith("gpu:", StringComparison.Ordinal) ? NvLinkRemote.Gpu
                    : remote.StartsWith("switch:", StringComparison.Ordinal) ? NvLinkRemote.Switch
                    : NvLinkRemote.Unknown;
                _gpus.Add(new HostGpu(
                    Int(fields[1]),
                    PciAddress.Parse(fields[2]),
                    fields[3],
                    keys.GetValueOrDefault("name", "NVIDIA GPU"),
                    keys.GetValueOrDefault("uuid", "GPU-" + fields[1]),
                    keys.TryGetValue("numa", out string? numa) ? Int(numa) : null,
                    keys.TryGetValue("links", out string? links) ? Int(links) : 0,
                    keys.TryGetValue("version", out string? version) ? Int(version) : null,
                    keys.TryGetValue("nvswitch", out string? nvswitch) ? Int(nvswitch) : 0,
                    kindOfRemote,
                    kindOfRemote == NvLinkRemote.Switch ? PciAddress.Parse(remote["switch:".Length..]) : null,
                    kindOfRemote == NvLinkRemote.Gpu ? Int(remote["gpu:".Length..]) : null,
                    keys.TryGetValue("inactive", out string? inactive) ? [.. inactive.Split(',').Select(Int)] : [])
                {
                    Driver = keys.GetValueOrDefault("driver", "nvidia"),
                    Vectors = keys.TryGetValue("irqs", out string? irqs) ? Int(irqs) : 1,
                    FirstIrq = keys.TryGetValue("firstirq", out string? first) ? Int(first) : null,
                });
                break;
            }

            case "pcilevel":
                _levels[(Math.Min(Int(fields[1]), Int(fields[2])), Math.Max(Int(fields[1]), Int(fields[2])))] =
                    Enum.Parse<PathLevel>(fields[3], ignoreCase: true);
                break;
            case "nic":
            {
                var keys = Keys(fields, 4);
                _nics.Add(new HostNic(
                    fields[1],
                    PciAddress.Parse(fields[2]),
                    fields[3],
                    keys["driver"],
                    keys.GetValueOrDefault("rdma"),
                    keys.TryGetValue("speed", out string? speed) ? long.Parse(speed, CultureInfo.InvariantCulture) : null,
                    keys.TryGetValue("queues", out string? queues) ? Int(queues) : 0,
                    keys.TryGetValue("firstirq", out string? first) ? Int(first) : 0,
                    keys.TryGetValue("numa", out string? numa) ? Int(numa) : null));
                break;
            }

            case "netdev":
                _netdevs.Add(fields[1]);
                break;
            case "sysctl":
            {
                // The value is the rest of the line: tcp_rmem's three numbers stay tab-separated, as procfs prints them.
                string rest = line.TrimStart()["sysctl".Length..].TrimStart();
                int gap = rest.IndexOfAny([' ', '\t']);
                _sysctls.Add(new(rest[..gap], rest[gap..].Trim()));
                break;
            }

            default:
                throw new FormatException($"unknown record '{kind}'");
        }
    }

    private static Dictionary<string, string> Keys(List<string> fields, int start)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string field in fields.Skip(start))
        {
            int eq = field.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"'{field}' is not key=value");
            }

            keys[field[..eq]] = field[(eq + 1)..];
        }

        return keys;
    }

    /// <summary>Splits on blanks; a double-quoted stretch (<c>name="NVIDIA H100 80GB HBM3"</c>) stays one field, quotes removed.</summary>
    private static List<string> Tokenize(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        bool quoted = false, any = false;
        foreach (char c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
                any = true;
            }
            else if (!quoted && (c == ' ' || c == '\t'))
            {
                if (any)
                {
                    fields.Add(current.ToString());
                    current.Clear();
                    any = false;
                }
            }
            else
            {
                current.Append(c);
                any = true;
            }
        }

        if (quoted)
        {
            throw new FormatException("unterminated quote");
        }

        if (any)
        {
            fields.Add(current.ToString());
        }

        return fields;
    }

    private static int Int(string s) => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);

    private static int HostBus(string hostBridge) =>
        int.Parse(hostBridge.AsSpan(hostBridge.LastIndexOf(':') + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}

/// <summary>A PCI bridge: <paramref name="Parent"/> is a bridge's BDF or a host bridge <c>pci&lt;domain&gt;:&lt;bus&gt;</c>.</summary>
public sealed record HostBridge(PciAddress Pci, string Parent);

/// <summary>A <c>gpu</c> line.</summary>
public sealed record HostGpu(
    int Index,
    PciAddress Pci,
    string Parent,
    string Name,
    string Uuid,
    int? Numa,
    int Links,
    int? Version,
    int NvSwitchLinks,
    NvLinkRemote RemoteKind,
    PciAddress? RemoteSwitch,
    int? RemoteGpu,
    IReadOnlyList<int> InactiveLinks)
{
    /// <summary>The kernel driver bound to the function (<c>driver=</c>, default "nvidia"; "vfio-pci" for a GPU passed to a guest).</summary>
    public string Driver { get; init; } = "nvidia";

    /// <summary>MSI/MSI-X vectors of the function (<c>irqs=</c>, default 1).</summary>
    public int Vectors { get; init; } = 1;

    /// <summary>The first vector's IRQ (<c>firstirq=</c>); null: <see cref="HostFixture.GpuIrqBase"/> + the index.</summary>
    public int? FirstIrq { get; init; }

    /// <summary>The vectors' IRQ numbers, in order.</summary>
    public IEnumerable<int> Irqs => Enumerable.Range(FirstIrq ?? HostFixture.GpuIrqBase + Index, Vectors);
}

/// <summary>A <c>nic</c> line. Vectors are numbered from <paramref name="FirstIrq"/>: the control vector first, then one per queue.</summary>
public sealed record HostNic(
    string NetDev,
    PciAddress Pci,
    string Parent,
    string Driver,
    string? Rdma,
    long? SpeedMbps,
    int Queues,
    int FirstIrq,
    int? Numa)
{
    /// <summary>The control vector's IRQ (mlx5's async vector, igb's link vector).</summary>
    public int ControlIrq => FirstIrq;

    /// <summary>Queue vectors' IRQs, queue 0 first.</summary>
    public IEnumerable<int> QueueIrqs => Enumerable.Range(FirstIrq + 1, Queues);
}

/// <summary>GPU facts from a <see cref="HostDescription"/>, in place of NVML.</summary>
public sealed class DescribedGpuSource(GpuInventory inventory) : IGpuSource
{
    /// <summary>The description's GPUs.</summary>
    public DescribedGpuSource(HostDescription host)
        : this(host?.ToGpuInventory() ?? throw new ArgumentNullException(nameof(host)))
    {
    }

    /// <inheritdoc />
    public GpuInventory Discover() => inventory;
}
