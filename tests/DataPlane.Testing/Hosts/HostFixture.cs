using System.Globalization;
using System.Text;
using DataPlane.Topology.Model;

namespace DataPlane.Testing;

/// <summary>A throw-away <c>/sys</c> and <c>/proc</c> for one described host, shaped like the kernel's where DataPlane reads
/// or writes them. Point code at <see cref="Roots"/>; change or delete files under <see cref="Sys"/>/<see cref="Proc"/> to
/// simulate a host that lacks them. The tree is deleted on <see cref="Dispose"/>.
/// <list type="bullet">
/// <item><c>sys/devices/pci&lt;dom&gt;:&lt;bus&gt;/&lt;bridges…&gt;/&lt;bdf&gt;/</c> for bridges, GPUs and NICs: <c>class</c>,
/// <c>vendor</c>, <c>device</c>, <c>numa_node</c> (-1 when unknown), <c>local_cpulist</c>, <c>local_cpus</c>, a <c>driver</c>
/// link to <c>sys/bus/pci/drivers/&lt;driver&gt;</c>, <c>msi_irqs/&lt;irq&gt;</c>; NICs also <c>net/&lt;if&gt;/</c> (<c>speed</c>,
/// <c>operstate</c>, <c>mtu</c>, <c>device</c> link) and <c>infiniband/&lt;rdma&gt;/</c>.</item>
/// <item>Relative links as the kernel makes them: <c>sys/bus/pci/devices/&lt;bdf&gt;</c>, <c>sys/class/net/&lt;if&gt;</c>,
/// <c>sys/class/infiniband/&lt;rdma&gt;</c>; virtual interfaces under <c>sys/devices/virtual/net/</c> with no <c>device</c>.</item>
/// <item><c>sys/devices/system/node/node&lt;N&gt;/cpulist</c>, <c>sys/devices/system/cpu/online</c>.</item>
/// <item><c>proc/interrupts</c> (four CPU columns), <c>proc/irq/&lt;n&gt;/smp_affinity</c>, <c>smp_affinity_list</c> and
/// <c>effective_affinity_list</c> (all online CPUs), and <c>proc/sys/&lt;key as path&gt;</c> per <c>sysctl</c> line.</item>
/// <item><c>proc/cmdline</c> (a Debian kernel's, without isolation arguments), and a Debian <c>etc/</c>:
/// <c>etc/debian_version</c> and <c>etc/default/grub</c> as the grub package installs it.</item>
/// </list>
/// Vectors of a NIC are numbered from its <c>firstirq</c>: the control vector (<c>mlx5_async0@pci:&lt;bdf&gt;</c>, or for
/// other drivers the bare interface name) then one per queue (<c>mlx5_comp&lt;N&gt;@pci:&lt;bdf&gt;</c> or
/// <c>&lt;if&gt;-TxRx-&lt;N&gt;</c>). A GPU's vectors (<c>irqs=</c>, default one) are numbered from its <c>firstirq=</c>
/// (default 400 + its index), all named <c>nvidia</c> as the NVIDIA driver names them; a GPU bound to another driver
/// (<c>driver=vfio-pci</c>) names them as vfio-pci does.</summary>
public sealed class HostFixture : IDisposable
{
    /// <summary>Number of CPU columns written in <c>/proc/interrupts</c>: fewer than a real host's, same shape.</summary>
    private const int InterruptColumns = 4;

    /// <summary>First IRQ of the GPUs' vectors.</summary>
    public const int GpuIrqBase = 400;

    private HostFixture(HostDescription description, string root)
    {
        Description = description;
        Root = root;
        Roots = new HostRoots(Path.Combine(root, "sys"), Path.Combine(root, "proc"), Path.Combine(root, "etc"));
    }

    /// <summary>The host the tree describes.</summary>
    public HostDescription Description { get; }

    /// <summary>The default kernel command line of the tree's <c>proc/cmdline</c>.</summary>
    public const string DefaultCommandLine = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=5b1c9f0e-2d3a-4e4f-8a9b-0c1d2e3f4a5b ro quiet";

    /// <summary>The temporary directory holding <c>sys/</c>, <c>proc/</c> and <c>etc/</c>.</summary>
    public string Root { get; }

    /// <summary>sysfs, procfs and /etc roots to hand to the code under test.</summary>
    public HostRoots Roots { get; }

    /// <summary>GPU facts for the host without NVML (see <see cref="HostDescription.ToGpuInventory"/>).</summary>
    public IGpuSource GpuSource => new DescribedGpuSource(Description);

    /// <summary>Writes the tree for <c>tests/fixtures/hosts/&lt;hostName&gt;.host</c>.</summary>
    public static HostFixture Create(string hostName) => Create(HostDescription.Load(hostName));

    /// <summary>Writes the tree for <paramref name="description"/>.</summary>
    public static HostFixture Create(HostDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        string root = Path.Combine(Path.GetTempPath(), $"dataplane-host-{description.Name}-{Guid.NewGuid():N}");
        var fixture = new HostFixture(description, root);
        try
        {
            fixture.Write();
        }
        catch
        {
            fixture.Dispose();
            throw;
        }

        return fixture;
    }

    /// <summary>A path under the sysfs root, e.g. <c>Sys("class/net/eno1/speed")</c>.</summary>
    public string Sys(string relative) => Path.Combine(Roots.Sys, relative);

    /// <summary>A path under the procfs root, e.g. <c>Proc("irq/101/smp_affinity_list")</c>.</summary>
    public string Proc(string relative) => Path.Combine(Roots.Proc, relative);

    /// <summary>A path under the /etc root, e.g. <c>Etc("default/grub.d")</c>.</summary>
    public string Etc(string relative) => Path.Combine(Roots.Etc, relative);

    /// <summary>The canonical directory of a described PCI function or bridge
    /// (<c>…/sys/devices/pci0000:15/0000:15:01.0/…/&lt;bdf&gt;</c>).</summary>
    public string DevicePath(PciAddress device) => Path.Combine(ParentPath(Description.ParentOf(device)), device.ToString());

    /// <summary>Deletes the tree (links are removed, never followed).</summary>
    public void Dispose()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private string ParentPath(string parent) =>
        parent.StartsWith("pci", StringComparison.Ordinal)
            ? Sys(Path.Combine("devices", parent))
            : DevicePath(PciAddress.Parse(parent));

    private void Write()
    {
        var host = Description;
        var online = host.OnlineCpus;
        WriteFile(Sys("devices/system/cpu/online"), online.ToList());
        WriteFile(Sys("devices/system/cpu/possible"), online.ToList());
        WriteFile(Sys("devices/system/node/online"), CpuSet.Of(host.NumaNodes.Select(n => n.Id)).ToList());
        foreach (var node in host.NumaNodes)
        {
            string dir = Sys($"devices/system/node/node{node.Id}");
            WriteFile(Path.Combine(dir, "cpulist"), node.Cpus.ToList());
            WriteFile(Path.Combine(dir, "cpumap"), node.Cpus.ToMask());
        }

        foreach (var bridge in host.Bridges)
        {
            WriteFunction(bridge.Pci, "0x060400", "0x8086", "0x352a", "pcieport", []);
        }

        var interrupts = new List<(int Irq, string Chip, int HwIrq, string Name)>();
        foreach (var gpu in host.Gpus)
        {
            var irqs = gpu.Irqs.ToList();
            WriteFunction(gpu.Pci, "0x030200", "0x10de", GpuDeviceId(gpu.Name), gpu.Driver, irqs);
            for (int v = 0; v < irqs.Count; v++)
            {
                interrupts.Add((irqs[v], (irqs.Count > 1 ? "IR-PCI-MSIX-" : "IR-PCI-MSI-") + gpu.Pci, v,
                    gpu.Driver == "nvidia" ? "nvidia" : $"vfio-msix[{v}]({gpu.Pci})"));
            }
        }

        foreach (var nic in host.Nics)
        {
            WriteNic(nic, interrupts);
        }

        foreach (string name in host.VirtualNetDevs)
        {
            string dir = Sys($"devices/virtual/net/{name}");
            WriteFile(Path.Combine(dir, "operstate"), name == "lo" ? "unknown" : "down");
            WriteFile(Path.Combine(dir, "mtu"), name == "lo" ? "65536" : "1500");
            Link(Sys($"class/net/{name}"), dir);
        }

        WriteInterrupts(interrupts.OrderBy(i => i.Irq).ToList(), online);
        foreach (var (key, value) in host.Sysctls)
        {
            WriteFile(Proc(Path.Combine("sys", key.Replace('.', '/'))), value);
        }

        WriteFile(Proc("cmdline"), DefaultCommandLine);
        WriteFile(Etc("debian_version"), "12.5");
        WriteFile(Etc("default/grub"), """
            # If you change this file, run 'update-grub' afterwards to update
            # /boot/grub/grub.cfg.
            GRUB_DEFAULT=0
            GRUB_TIMEOUT=5
            GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
            GRUB_CMDLINE_LINUX_DEFAULT="quiet"
            GRUB_CMDLINE_LINUX=""
            """);
    }

    private void WriteNic(HostNic nic, List<(int Irq, string Chip, int HwIrq, string Name)> interrupts)
    {
        bool mlx5 = nic.Driver.StartsWith("mlx5", StringComparison.Ordinal);
        string bdf = nic.Pci.ToString();
        var irqs = Enumerable.Range(nic.FirstIrq, nic.Queues + 1).ToList();
        string dir = WriteFunction(nic.Pci, "0x020000", mlx5 ? "0x15b3" : "0x8086", mlx5 ? "0x1021" : "0x1533", nic.Driver, irqs);

        // The first vector is the control one (mlx5's async EQ, igb's link interrupt); queues follow.
        for (int i = 0; i < irqs.Count; i++)
        {
            string name = mlx5
                ? (i == 0 ? $"mlx5_async0@pci:{bdf}" : $"mlx5_comp{i - 1}@pci:{bdf}")
                : (i == 0 ? nic.NetDev : $"{nic.NetDev}-TxRx-{i - 1}");
            interrupts.Add((irqs[i], "IR-PCI-MSIX-" + bdf, i, name));
        }

        string net = Path.Combine(dir, "net", nic.NetDev);
        WriteFile(Path.Combine(net, "speed"), nic.SpeedMbps?.ToString(CultureInfo.InvariantCulture) ?? "-1");
        WriteFile(Path.Combine(net, "operstate"), nic.SpeedMbps is null ? "down" : "up");
        WriteFile(Path.Combine(net, "mtu"), "1500");
        Link(Path.Combine(net, "device"), dir);
        Link(Sys($"class/net/{nic.NetDev}"), net);

        if (nic.Rdma is string rdma)
        {
            string ib = Path.Combine(dir, "infiniband", rdma);
            WriteFile(Path.Combine(ib, "node_type"), "1: CA");
            WriteFile(Path.Combine(ib, "hca_type"), "MT4129");
            WriteFile(Path.Combine(ib, "fw_ver"), "28.39.1002");
            WriteFile(Path.Combine(ib, "board_id"), "MT_0000000838");
            // Port 1 as mlx5 shows it for RoCE, with PMA counters (data in 4-octet units) and a few hw_counters;
            // values derive from the IRQ base so each device differs.
            string port = Path.Combine(ib, "ports", "1");
            long seed = nic.FirstIrq;
            WriteFile(Path.Combine(port, "state"), nic.SpeedMbps is null ? "1: DOWN" : "4: ACTIVE");
            WriteFile(Path.Combine(port, "phys_state"), nic.SpeedMbps is null ? "3: Disabled" : "5: LinkUp");
            WriteFile(Path.Combine(port, "rate"), $"{(nic.SpeedMbps ?? 0) / 1000} Gb/sec (4X NDR)");
            WriteFile(Path.Combine(port, "link_layer"), "Ethernet");
            WriteFile(Path.Combine(port, "counters", "port_rcv_data"), (seed * 1000).ToString(CultureInfo.InvariantCulture));
            WriteFile(Path.Combine(port, "counters", "port_xmit_data"), (seed * 2000).ToString(CultureInfo.InvariantCulture));
            WriteFile(Path.Combine(port, "counters", "port_rcv_packets"), (seed * 10).ToString(CultureInfo.InvariantCulture));
            WriteFile(Path.Combine(port, "counters", "port_xmit_packets"), (seed * 20).ToString(CultureInfo.InvariantCulture));
            WriteFile(Path.Combine(port, "counters", "link_downed"), "0");
            WriteFile(Path.Combine(port, "hw_counters", "np_cnp_sent"), "7");
            WriteFile(Path.Combine(port, "hw_counters", "out_of_sequence"), "3");
            Link(Path.Combine(ib, "device"), dir);
            Link(Sys($"class/infiniband/{rdma}"), ib);
        }
    }

    /// <summary>Writes one PCI function's directory and its <c>/sys/bus/pci/devices</c> link; returns the directory.</summary>
    private string WriteFunction(PciAddress pci, string pciClass, string vendor, string device, string driver, IReadOnlyList<int> msiIrqs)
    {
        string dir = DevicePath(pci);
        int? numa = Description.NumaOf(pci);
        var cpus = Description.LocalCpusOf(pci);
        WriteFile(Path.Combine(dir, "class"), pciClass);
        WriteFile(Path.Combine(dir, "vendor"), vendor);
        WriteFile(Path.Combine(dir, "device"), device);
        WriteFile(Path.Combine(dir, "numa_node"), (numa ?? -1).ToString(CultureInfo.InvariantCulture));
        WriteFile(Path.Combine(dir, "local_cpulist"), cpus.ToList());
        WriteFile(Path.Combine(dir, "local_cpus"), cpus.ToMask());
        string driverDir = Sys($"bus/pci/drivers/{driver}");
        Directory.CreateDirectory(driverDir);
        Link(Path.Combine(dir, "driver"), driverDir);
        foreach (int irq in msiIrqs)
        {
            WriteFile(Path.Combine(dir, "msi_irqs", irq.ToString(CultureInfo.InvariantCulture)), "msix");
        }

        Link(Sys($"bus/pci/devices/{pci}"), dir);
        return dir;
    }

    private void WriteInterrupts(List<(int Irq, string Chip, int HwIrq, string Name)> vectors, CpuSet online)
    {
        // The kernel's shape: the header indents past the IRQ column and prints "CPU%-8d" per CPU; rows print "%4d: " and
        // "%10u " per CPU, then the chip, the hardware IRQ with its trigger, and the name.
        var header = new StringBuilder(new string(' ', 12));
        for (int c = 0; c < InterruptColumns; c++)
        {
            header.Append(CultureInfo.InvariantCulture, $"CPU{c,-8}");
        }

        var sb = new StringBuilder(header.ToString().TrimEnd()).Append('\n');
        string zeros = string.Concat(Enumerable.Repeat($"{0,10} ", InterruptColumns));
        sb.Append(CultureInfo.InvariantCulture, $"{0,4}: {zeros} IR-IO-APIC    2-edge      timer\n");
        sb.Append(CultureInfo.InvariantCulture, $"{8,4}: {zeros} IR-IO-APIC    8-edge      rtc0\n");
        foreach (var (irq, chip, hwIrq, name) in vectors)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{irq,4}: {zeros} {chip} {hwIrq,5}-edge      {name}\n");
            string dir = Proc($"irq/{irq}");
            WriteFile(Path.Combine(dir, "smp_affinity"), online.ToMask());
            WriteFile(Path.Combine(dir, "smp_affinity_list"), online.ToList());
            WriteFile(Path.Combine(dir, "effective_affinity_list"), online.ToList());
        }

        sb.Append(CultureInfo.InvariantCulture, $" NMI: {zeros}  Non-maskable interrupts\n");
        sb.Append(CultureInfo.InvariantCulture, $" LOC: {zeros}  Local timer interrupts\n");
        sb.Append(" ERR:          0\n MIS:          0\n");
        WriteFile(Proc("interrupts"), sb.ToString().TrimEnd('\n'));
    }

    private static string GpuDeviceId(string name) =>
        name.Contains("A100", StringComparison.Ordinal) ? "0x20b5"
        : name.Contains("L40S", StringComparison.Ordinal) ? "0x26b9"
        : "0x2330";

    /// <summary>Writes an attribute as sysfs shows it: the value and a line end.</summary>
    private static void WriteFile(string path, string value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, value + "\n");
    }

    /// <summary>A relative symlink spelled as the kernel spells them: up to the target's directory, then down by name
    /// (<c>../../../devices/pci0000:15/…</c>, and <c>../../../0000:19:00.0</c> for a function's own <c>device</c> link).</summary>
    private static void Link(string link, string target)
    {
        string parent = Path.GetDirectoryName(link)!;
        Directory.CreateDirectory(parent);
        string up = Path.GetRelativePath(parent, Path.GetDirectoryName(target)!);
        File.CreateSymbolicLink(link, up == "." ? Path.GetFileName(target) : up + "/" + Path.GetFileName(target));
    }
}
