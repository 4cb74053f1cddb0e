using System.Globalization;
using DataPlane.Topology.Matrix;
using DataPlane.Topology.Model;
using DataPlane.Topology.Sysfs;

namespace DataPlane.Topology.SelfTest;

/// <summary>Compares DataPlane's view of a host (the <see cref="HostTopology"/> that <c>dataplane topo</c> shows, and the RDMA
/// ports sysfs lists) with what NVIDIA's and rdma-core's tools printed. Each method returns one check per compared value;
/// a device one side has and the other lacks is one failed check, and its values are not compared further.</summary>
public static class SelfTestComparison
{
    /// <summary>Every cell of <c>nvidia-smi topo -m</c> against <c>dataplane topo</c>'s matrix, and the GPU rows' affinity
    /// columns. GPUs match by index, NICs by the NIC legend's name. DataPlane also shows NICs without an RDMA device (a
    /// management port); nvidia-smi's legend holds only RDMA devices, so those are not expected there.</summary>
    public static IReadOnlyList<SelfTestCheck> Topo(HostTopology topology, NvidiaSmiTopo theirs)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(theirs);
        const string section = "topo";
        var table = MatrixTable.Build(topology);
        var nics = MatrixTable.OrderNics(topology);
        var ourNames = table.Columns.Select((c, i) => i < topology.Gpus.Gpus.Count ? c : nics[i - topology.Gpus.Gpus.Count].DisplayName).ToList();
        var ourIndex = ourNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var expected = ourNames.Where((_, i) => i < topology.Gpus.Gpus.Count || nics[i - topology.Gpus.Gpus.Count].RdmaDevice is not null).ToList();
        var checks = new List<SelfTestCheck>();

        foreach (string name in theirs.Devices.Where(d => !ourIndex.ContainsKey(d)))
        {
            checks.Add(new SelfTestCheck(section, $"{name} is a device", SelfTestCheck.Absent, "present", false));
        }

        foreach (string name in expected.Where(d => !theirs.Rows.ContainsKey(d)))
        {
            checks.Add(new SelfTestCheck(section, $"{name} is a device", "present", SelfTestCheck.Absent, false));
        }

        var theirIndex = theirs.Devices.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var both = theirs.Devices.Where(ourIndex.ContainsKey).ToList();
        foreach (string row in both)
        {
            var theirRow = theirs.Rows[row];
            var ourRow = table.Rows[ourIndex[row]];
            foreach (string column in both)
            {
                string ours = ourRow.Cells[ourIndex[column]];
                string cell = theirRow[theirIndex[column]];
                checks.Add(new SelfTestCheck(section, $"{row}/{column}", ours, cell, ours == cell));
            }

            if (theirs.Affinity.TryGetValue(row, out var affinity) && ourRow.CpuAffinity is not null)
            {
                foreach (var (column, value) in affinity)
                {
                    string ours = column switch
                    {
                        "CPU Affinity" => ourRow.CpuAffinity,
                        "NUMA Affinity" => ourRow.NumaAffinity ?? MatrixTable.NotAvailable,
                        _ => ourRow.GpuNumaId ?? MatrixTable.NotAvailable,
                    };
                    bool ok = column == "CPU Affinity" && CpuSet.TryParseList(ours) is { } a && CpuSet.TryParseList(value) is { } b
                        ? a.Equals(b)
                        : ours == value;
                    checks.Add(new SelfTestCheck(section, $"{row} {column}", ours, value, ok));
                }
            }
        }

        return checks;
    }

    /// <summary><c>nvidia-smi -q -x</c> against NVML as discovery read it: the driver version, the GPU count, and per GPU
    /// (nvidia-smi's order is NVML's index order) the PCI address, product name and UUID.</summary>
    public static IReadOnlyList<SelfTestCheck> Gpus(HostTopology topology, NvidiaSmiQuery theirs)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(theirs);
        const string section = "gpus";
        var ours = topology.Gpus.Gpus.OrderBy(g => g.Index).ToList();
        var checks = new List<SelfTestCheck>();
        if (theirs.DriverVersion is not null)
        {
            string driver = topology.Gpus.DriverVersion ?? "unknown";
            checks.Add(new SelfTestCheck(section, "driver version", driver, theirs.DriverVersion, driver == theirs.DriverVersion));
        }

        checks.Add(new SelfTestCheck(section, "GPU count", Number(ours.Count), Number(theirs.Gpus.Count), ours.Count == theirs.Gpus.Count));
        if (theirs.AttachedGpus is int attached)
        {
            checks.Add(new SelfTestCheck(section, "attached_gpus", Number(ours.Count), Number(attached), ours.Count == attached));
        }

        for (int i = 0; i < Math.Max(ours.Count, theirs.Gpus.Count); i++)
        {
            string gpu = MatrixTable.Gpu(i < ours.Count ? ours[i].Index : i);
            if (i >= theirs.Gpus.Count || i >= ours.Count)
            {
                checks.Add(new SelfTestCheck(section, $"{gpu} is a device",
                    i < ours.Count ? ours[i].Pci.ToNvmlString() : SelfTestCheck.Absent,
                    i < theirs.Gpus.Count ? theirs.Gpus[i].BusId : SelfTestCheck.Absent, false));
                continue;
            }

            var (o, t) = (ours[i], theirs.Gpus[i]);
            checks.Add(new SelfTestCheck(section, $"{gpu} PCI bus id", o.Pci.ToNvmlString(), t.BusId, o.Pci == t.Pci));
            if (t.Name is not null)
            {
                checks.Add(new SelfTestCheck(section, $"{gpu} name", o.Name, t.Name, o.Name == t.Name));
            }

            if (t.Uuid is not null)
            {
                checks.Add(new SelfTestCheck(section, $"{gpu} UUID", o.Uuid, t.Uuid, string.Equals(o.Uuid, t.Uuid, StringComparison.OrdinalIgnoreCase)));
            }
        }

        return checks;
    }

    /// <summary><c>nvidia-smi nvlink -s</c> against NVML's links: per GPU the link count, and per link its state and, on an
    /// active link, its speed (NVML's field 164 in MB/s against nvidia-smi's GB/s).</summary>
    public static IReadOnlyList<SelfTestCheck> NvLinks(HostTopology topology, NvidiaSmiNvLink theirs)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(theirs);
        const string section = "nvlink";
        var checks = new List<SelfTestCheck>();
        var ours = topology.Gpus.Gpus.ToDictionary(g => g.Index);
        foreach (var gpu in ours.Values.Where(g => g.Links.Count > 0 && theirs.Gpus.All(t => t.Index != g.Index)))
        {
            checks.Add(new SelfTestCheck(section, $"{MatrixTable.Gpu(gpu.Index)} links listed", Number(gpu.Links.Count), SelfTestCheck.Absent, false));
        }

        foreach (var t in theirs.Gpus)
        {
            string gpu = MatrixTable.Gpu(t.Index);
            if (!ours.TryGetValue(t.Index, out var o))
            {
                checks.Add(new SelfTestCheck(section, $"{gpu} is a device", SelfTestCheck.Absent, t.Name, false));
                continue;
            }

            checks.Add(new SelfTestCheck(section, $"{gpu} link count", Number(o.Links.Count), Number(t.Links.Count), o.Links.Count == t.Links.Count));
            var ourLinks = o.Links.ToDictionary(l => l.Link);
            var theirLinks = t.Links.ToDictionary(l => l.Link);
            foreach (int link in ourLinks.Keys.Union(theirLinks.Keys).Order())
            {
                string name = $"{gpu} link {link.ToString(CultureInfo.InvariantCulture)}";
                if (!ourLinks.TryGetValue(link, out var ol) || !theirLinks.TryGetValue(link, out var tl))
                {
                    checks.Add(new SelfTestCheck(section, $"{name} exists",
                        ol is null ? SelfTestCheck.Absent : "present", theirLinks.ContainsKey(link) ? "present" : SelfTestCheck.Absent, false));
                    continue;
                }

                string ourState = ol.Active ? "active" : "inactive", theirState = tl.Active ? "active" : "inactive";
                checks.Add(new SelfTestCheck(section, $"{name} state", ourState, theirState, ol.Active == tl.Active));
                if (ol.Active && tl.Active)
                {
                    long? ourSpeed = ol.SpeedBytesPerSecond is ulong bytes ? (long)(bytes / 1_000_000) : null;
                    checks.Add(new SelfTestCheck(section, $"{name} speed",
                        ourSpeed is long mbps ? NvidiaSmiNvLink.FormatSpeed(mbps) : "unknown", tl.Text, ourSpeed == tl.SpeedMBps));
                }
            }
        }

        return checks;
    }

    /// <summary><c>ibv_devinfo -v</c> against the RDMA devices and ports sysfs lists (<c>/sys/class/infiniband</c>, what
    /// DataPlane's port metrics and placement read): the device set, firmware and board, the port count, and per port its
    /// state, physical state and link layer; on RoCE ports, <c>active_mtu</c> against the IB MTU the interface's MTU allows
    /// (the largest of 256…4096 not above the MTU less 96 bytes of RoCE headers, as the kernel computes it).</summary>
    public static IReadOnlyList<SelfTestCheck> Rdma(HostTopology topology, HostRoots roots, IbvDevinfo theirs)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(theirs);
        const string section = "rdma";
        string classIb = Path.Join(roots.Sys, "class", "infiniband");
        var ourDevices = (SysfsFiles.List(classIb) ?? []).Order(StringComparer.Ordinal).ToList();
        var ourPorts = RdmaPortReader.Read(roots).ToLookup(p => p.Device, StringComparer.Ordinal);
        var theirDevices = theirs.Devices.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var checks = new List<SelfTestCheck>();

        foreach (string name in ourDevices.Where(d => !theirDevices.ContainsKey(d)))
        {
            checks.Add(new SelfTestCheck(section, $"{name} is a device", "present", SelfTestCheck.Absent, false));
        }

        foreach (var t in theirs.Devices)
        {
            if (!ourDevices.Contains(t.Name, StringComparer.Ordinal))
            {
                checks.Add(new SelfTestCheck(section, $"{t.Name} is a device", SelfTestCheck.Absent, "present", false));
                continue;
            }

            string dir = Path.Join(classIb, t.Name);
            if (t.FirmwareVersion is not null)
            {
                string fw = SysfsFiles.ReadText(Path.Join(dir, "fw_ver"))?.Trim() ?? "unreadable";
                checks.Add(new SelfTestCheck(section, $"{t.Name} fw_ver", fw, t.FirmwareVersion, fw == t.FirmwareVersion));
            }

            if (t.BoardId is not null)
            {
                string board = SysfsFiles.ReadText(Path.Join(dir, "board_id"))?.Trim() ?? "unreadable";
                checks.Add(new SelfTestCheck(section, $"{t.Name} board_id", board, t.BoardId, board == t.BoardId));
            }

            var ports = ourPorts[t.Name].ToDictionary(p => p.Port);
            int theirCount = t.PhysicalPortCount ?? t.Ports.Count;
            checks.Add(new SelfTestCheck(section, $"{t.Name} phys_port_cnt", Number(ports.Count), Number(theirCount), ports.Count == theirCount));
            var netdev = topology.Nics.FirstOrDefault(n => n.RdmaDevice == t.Name);
            foreach (var tp in t.Ports)
            {
                string port = $"{t.Name} port {tp.Port.ToString(CultureInfo.InvariantCulture)}";
                if (!ports.TryGetValue(tp.Port, out var op))
                {
                    checks.Add(new SelfTestCheck(section, $"{port} exists", SelfTestCheck.Absent, "present", false));
                    continue;
                }

                if (tp.State is IbvEnum state)
                {
                    checks.Add(new SelfTestCheck(section, $"{port} state", PortState(op.State), state.ToString(), op.State == state.Number));
                }

                if (tp.PhysicalState is IbvEnum phys)
                {
                    checks.Add(new SelfTestCheck(section, $"{port} phys_state", PhysicalState(op.PhysicalState), phys.ToString(), op.PhysicalState == phys.Number));
                }

                if (tp.LinkLayer is not null)
                {
                    string layer = op.LinkLayer ?? "unreadable";
                    checks.Add(new SelfTestCheck(section, $"{port} link_layer", layer, tp.LinkLayer, layer == tp.LinkLayer));
                }

                if (tp.ActiveMtu is IbvEnum mtu && tp.LinkLayer == "Ethernet" && netdev is not null)
                {
                    long? netMtu = SysfsFiles.ReadLong(Path.Join(roots.Sys, "class", "net", netdev.Name, "mtu"));
                    int? expected = netMtu is long m ? RoceMtu(m) : null;
                    checks.Add(new SelfTestCheck(section, $"{port} active_mtu",
                        expected is int e
                            ? string.Create(CultureInfo.InvariantCulture, $"{e} (netdev {netdev.Name} MTU {netMtu})")
                            : $"unknown (netdev {netdev.Name} MTU unreadable)",
                        mtu.ToString(), expected is int x && x.ToString(CultureInfo.InvariantCulture) == mtu.Text));
                }
            }
        }

        return checks;
    }

    /// <summary>The IB MTU a RoCE port gets from its interface's MTU: the largest of 256…4096 that fits the MTU less the
    /// RoCE headers (GRH 40, UDP 8, BTH 12, XRC 4, AtomicETH 28, ICRC 4 = 96 bytes; the kernel's <c>iboe_get_mtu</c>).</summary>
    public static int RoceMtu(long netdevMtu)
    {
        long room = netdevMtu - 96;
        int mtu = 4096;
        while (mtu > 256 && mtu > room)
        {
            mtu /= 2;
        }

        return mtu;
    }

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>A port state in ibv_devinfo's words: 4 → "PORT_ACTIVE (4)".</summary>
    private static string PortState(int? state) => state switch
    {
        null => "unreadable",
        1 => "PORT_DOWN (1)",
        2 => "PORT_INIT (2)",
        3 => "PORT_ARMED (3)",
        4 => "PORT_ACTIVE (4)",
        int s => string.Create(CultureInfo.InvariantCulture, $"invalid state ({s})"),
    };

    /// <summary>A physical state in ibv_devinfo's words: 5 → "LINK_UP (5)".</summary>
    private static string PhysicalState(int? state) => state switch
    {
        null => "unreadable",
        1 => "SLEEP (1)",
        2 => "POLLING (2)",
        3 => "DISABLED (3)",
        4 => "PORT_CONFIGURATION TRAINNING (4)",
        5 => "LINK_UP (5)",
        6 => "LINK_ERROR_RECOVERY (6)",
        7 => "PHY TEST (7)",
        int s => string.Create(CultureInfo.InvariantCulture, $"invalid physical state ({s})"),
    };
}
