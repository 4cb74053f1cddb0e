using DataPlane.Interop.Nvml;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Gpus;

/// <summary>GPU facts from NVML (<c>libnvidia-ml.so.1</c>, or the fake NVML in tests).
/// <para><see cref="Discover"/> walks every GPU: identity, PCI address, CPU and NUMA affinity, the NVLinks (counted by
/// field 91, never by a maximum constant; a link index the driver rejects with INVALID_ARGUMENT ends the walk,
/// NOT_SUPPORTED skips the link), NVSwitch attachment (field 147, or any link whose remote is a switch), the NVLink
/// traffic counters (fields 138/139, KiB × 1024, each value's own status checked), and the PCIe level of every GPU pair.
/// <see cref="ReadLinks"/> re-reads only link states and counters, for metrics.</para>
/// <para>Never throws for a missing library, a host without a driver, or a lost GPU: the inventory is
/// <see cref="GpuInventory.Unavailable"/> or partial, with <see cref="GpuInventory.Problem"/> naming the library and the
/// NVML error. NVML stays initialised between calls until <see cref="Dispose"/>; a failed open is retried on the next
/// call, so a driver loaded later is picked up. Thread-safe: calls are serialised.</para></summary>
public sealed class NvmlGpuSource : IGpuSource, IDisposable
{
    private readonly string? _libraryPath;
    private readonly Lock _lock = new();
    private NvmlLibrary? _nvml;
    private bool _disposed;

    /// <summary>Creates the source; nothing is loaded until the first call.</summary>
    /// <param name="libraryPath">Path or soname of the NVML library; null for <see cref="NvmlLibrary.DefaultLibraryName"/>.</param>
    public NvmlGpuSource(string? libraryPath = null) => _libraryPath = libraryPath;

    /// <summary>The library this source loads.</summary>
    public string LibraryName => string.IsNullOrEmpty(_libraryPath) ? NvmlLibrary.DefaultLibraryName : _libraryPath;

    /// <inheritdoc/>
    public GpuInventory Discover()
    {
        lock (_lock)
        {
            if (!TryOpen(out var nvml, out string problem))
            {
                return GpuInventory.Unavailable(problem);
            }

            try
            {
                return DiscoverWith(nvml);
            }
            catch (NvmlException e)
            {
                return GpuInventory.Unavailable($"NVML ({LibraryName}): {e.Message}");
            }
        }
    }

    /// <summary>Re-reads the link states and traffic counters of the GPUs in <paramref name="inventory"/> (from
    /// <see cref="Discover"/>) and returns it with those updated; names, addresses, remotes and PCI levels are kept.
    /// A GPU that cannot be read keeps its previous links and is named in <see cref="GpuInventory.Problem"/>.</summary>
    public GpuInventory ReadLinks(GpuInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        if (inventory.Gpus.All(g => g.Links.Count == 0))
        {
            return inventory;
        }

        lock (_lock)
        {
            if (!TryOpen(out var nvml, out string problem))
            {
                return inventory with { Problem = problem };
            }

            var problems = new List<string>();
            var gpus = new List<GpuDevice>(inventory.Gpus.Count);
            foreach (var gpu in inventory.Gpus)
            {
                if (gpu.Links.Count == 0)
                {
                    gpus.Add(gpu);
                    continue;
                }

                try
                {
                    gpus.Add(gpu with { Links = RereadLinks(nvml, nvml.GetDevice(gpu.Index), gpu.Links) });
                }
                catch (NvmlException e)
                {
                    problems.Add($"GPU {gpu.Index}: {e.Message}");
                    gpus.Add(gpu);
                }
            }

            return inventory with { Gpus = gpus, Problem = problems.Count > 0 ? Join(problems) : inventory.Problem };
        }
    }

    /// <summary>Shuts NVML down.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _nvml?.Dispose();
            _nvml = null;
        }
    }

    private bool TryOpen([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out NvmlLibrary? nvml, out string problem)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        problem = string.Empty;
        if (_nvml is null)
        {
            if (!NvmlLibrary.TryOpen(_libraryPath, out var opened, out string why))
            {
                nvml = null;
                problem = $"GPU discovery is off: {why}";
                return false;
            }

            _nvml = opened;
        }

        nvml = _nvml;
        return true;
    }

    private GpuInventory DiscoverWith(NvmlLibrary nvml)
    {
        var problems = new List<string>();
        string? driver = null;
        try
        {
            driver = nvml.GetDriverVersion();
        }
        catch (NvmlException e)
        {
            problems.Add(e.Message);
        }

        int count = nvml.GetDeviceCount();
        var found = new List<(GpuDevice Gpu, NvmlDevice Device)>(count);
        for (int i = 0; i < count; i++)
        {
            try
            {
                var device = nvml.GetDevice(i);
                found.Add((ReadDevice(nvml, device, i), device));
            }
            catch (NvmlException e)
            {
                problems.Add($"GPU {i}: {e.Message}");
            }
        }

        var levels = new Dictionary<(int, int), PathLevel>();
        for (int a = 0; a < found.Count; a++)
        {
            for (int b = a + 1; b < found.Count; b++)
            {
                try
                {
                    if (nvml.GetTopologyCommonAncestor(found[a].Device, found[b].Device) is { } level)
                    {
                        levels[(found[a].Gpu.Index, found[b].Gpu.Index)] = (PathLevel)(int)level;
                    }
                }
                catch (NvmlException e)
                {
                    problems.Add($"GPU {found[a].Gpu.Index}-{found[b].Gpu.Index}: {e.Message}");
                }
            }
        }

        return new GpuInventory(
            found.Select(f => f.Gpu).ToArray(),
            levels,
            driver,
            problems.Count > 0 ? $"NVML ({LibraryName}): {Join(problems)}" : null);
    }

    private static GpuDevice ReadDevice(NvmlLibrary nvml, NvmlDevice device, int index)
    {
        string name = nvml.GetName(device);
        string uuid = nvml.GetUuid(device);
        var pci = ToAddress(nvml.GetPciInfo(device));
        var cpus = nvml.GetCpuAffinity(device, NvmlAffinityScope.Node) is { } list ? CpuSet.Of(list) : CpuSet.Empty;
        int? numa = nvml.GetMemoryAffinity(device, NvmlAffinityScope.Node) is [var node, ..] ? node : null;
        var (links, switchLinks) = WalkLinks(nvml, device);
        return new GpuDevice(index, name, uuid, pci, cpus, numa, links, switchLinks);
    }

    /// <summary>The link walk: count from field 91; per link its state, and for an active link its version, remote type
    /// and remote PCI address; the counters in one field-value call.</summary>
    private static (IReadOnlyList<NvLink> Links, int NvSwitchLinks) WalkLinks(NvmlLibrary nvml, NvmlDevice device)
    {
        int count = (int)Math.Min(nvml.GetFieldUInt64(device, NvmlFieldIds.NvLinkLinkCount) ?? 0, int.MaxValue);
        int switchField = (int)Math.Min(nvml.GetFieldUInt64(device, NvmlFieldIds.NvSwitchConnectedLinkCount) ?? 0, int.MaxValue);
        if (count == 0)
        {
            return ([], switchField);
        }

        var counters = ReadCounters(nvml, device, count);
        var links = new List<NvLink>(count);
        for (int link = 0; link < count; link++)
        {
            var state = nvml.TryGetNvLinkState(device, link, out bool active);
            if (state == NvmlReturn.InvalidArgument)
            {
                break;
            }

            if (state != NvmlReturn.Success)
            {
                continue;
            }

            int? version = null;
            var remote = NvLinkRemote.Unknown;
            PciAddress? remotePci = null;
            if (active)
            {
                if (nvml.TryGetNvLinkVersion(device, link, out int v) == NvmlReturn.Success)
                {
                    version = v;
                }

                if (nvml.TryGetNvLinkRemoteType(device, link, out var type) == NvmlReturn.Success)
                {
                    remote = ToRemote(type);
                }

                if (nvml.TryGetNvLinkRemotePciInfo(device, link, out var info) == NvmlReturn.Success && info is not null)
                {
                    remotePci = ToAddress(info);
                }
            }

            links.Add(new NvLink(link, active, version, remote, remotePci, counters[link].Tx, counters[link].Rx, counters[link].Speed));
        }

        int switchRemotes = links.Count(l => l.Active && l.Remote == NvLinkRemote.Switch);
        return (links, switchField > 0 ? switchField : switchRemotes);
    }

    private static List<NvLink> RereadLinks(NvmlLibrary nvml, NvmlDevice device, IReadOnlyList<NvLink> links)
    {
        var counters = ReadCounters(nvml, device, links.Max(l => l.Link) + 1);
        var updated = new List<NvLink>(links.Count);
        foreach (var link in links)
        {
            bool active = nvml.TryGetNvLinkState(device, link.Link, out bool up) == NvmlReturn.Success ? up : link.Active;
            var c = counters[link.Link];
            updated.Add(link with { Active = active, TxBytes = c.Tx, RxBytes = c.Rx, SpeedBytesPerSecond = c.Speed });
        }

        return updated;
    }

    /// <summary>Fields 138/139 (cumulative KiB) and 164 (speed in MBps) per link, in bytes and bytes per second;
    /// null where that value's status is not success. One call for all links.</summary>
    private static (ulong? Tx, ulong? Rx, ulong? Speed)[] ReadCounters(NvmlLibrary nvml, NvmlDevice device, int count)
    {
        const int PerLink = 3;
        var values = new NvmlFieldValue[count * PerLink];
        for (int link = 0; link < count; link++)
        {
            values[PerLink * link] = new NvmlFieldValue(NvmlFieldIds.NvLinkThroughputDataTx, (uint)link);
            values[(PerLink * link) + 1] = new NvmlFieldValue(NvmlFieldIds.NvLinkThroughputDataRx, (uint)link);
            values[(PerLink * link) + 2] = new NvmlFieldValue(NvmlFieldIds.NvLinkGetSpeed, (uint)link);
        }

        nvml.GetFieldValues(device, values);
        var counters = new (ulong? Tx, ulong? Rx, ulong? Speed)[count];
        for (int link = 0; link < count; link++)
        {
            counters[link] = (
                Scaled(values[PerLink * link], 1024),
                Scaled(values[(PerLink * link) + 1], 1024),
                Scaled(values[(PerLink * link) + 2], 1_000_000));
        }

        return counters;

        static ulong? Scaled(NvmlFieldValue v, ulong unit) => v.TryGetUInt64(out ulong n) ? n * unit : null;
    }

    private static NvLinkRemote ToRemote(NvmlNvLinkDeviceType type) => type switch
    {
        NvmlNvLinkDeviceType.Gpu => NvLinkRemote.Gpu,
        NvmlNvLinkDeviceType.IbmNpu => NvLinkRemote.IbmNpu,
        NvmlNvLinkDeviceType.Switch => NvLinkRemote.Switch,
        _ => NvLinkRemote.Unknown,
    };

    /// <summary>NVML's bus id (8-digit domain, upper case) in sysfs form; the numeric fields if the text is odd.</summary>
    private static PciAddress ToAddress(NvmlPciInfo pci) =>
        PciAddress.TryParse(pci.BusId, out var address) || PciAddress.TryParse(pci.BusIdLegacy, out address)
            ? address
            : new PciAddress(pci.Domain, (byte)pci.Bus, (byte)pci.Device, 0);

    private static string Join(List<string> problems) => string.Join("; ", problems);
}
