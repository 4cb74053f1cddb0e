using DataPlane.Tuning.Sysctl;

namespace DataPlane.Tuning.Profiles;

/// <summary>A named host profile: the sysctl.d file from <c>sysctl/</c> (embedded in the binary, so the daemon needs
/// no files beside it) plus what the profile does with NICs, IRQs and hot-path CPUs.</summary>
/// <param name="Name">"gpu-host" or "pi-edge".</param>
/// <param name="SysctlFile">File name in <c>sysctl/</c>.</param>
/// <param name="TuneNics">Apply the low-latency NIC settings (coalescing, rings, features) to the data-path NICs.</param>
/// <param name="PinIrqs">Pin the data-path NICs' queue interrupts and the GPUs' interrupts to NUMA-local cores.</param>
/// <param name="HotCpuCount">CPUs reserved for the daemon's hot threads when none are configured (0: no reservation).</param>
/// <param name="IsolateHotCpus">Isolate the hot-path CPUs on the kernel command line (a boot-time change).</param>
public sealed record TuningProfile(string Name, string SysctlFile, bool TuneNics, bool PinIrqs, int HotCpuCount, bool IsolateHotCpus = false)
{
    /// <summary>GPU servers: large socket buffers and backlogs, busy polling, no NUMA balancing; NIC and GPU interrupts
    /// pinned next to their device, NIC interrupts moderated for latency; two cores kept for batch dispatch and
    /// completion polling, isolated from the scheduler, timer ticks, RCU callbacks and other interrupts at boot.</summary>
    public static TuningProfile GpuHost { get; } = new("gpu-host", "90-dataplane-gpu-host.conf", TuneNics: true, PinIrqs: true, HotCpuCount: 2, IsolateHotCpus: true);

    /// <summary>Raspberry Pi nodes: accept backlog and keepalive only. The Pi's single on-board NIC is left to its driver.</summary>
    public static TuningProfile PiEdge { get; } = new("pi-edge", "90-dataplane-pi-edge.conf", TuneNics: false, PinIrqs: false, HotCpuCount: 0);

    /// <summary>Every profile, by name.</summary>
    public static IReadOnlyList<TuningProfile> All { get; } = [GpuHost, PiEdge];

    /// <summary>The profile called <paramref name="name"/>; the error lists the known names.</summary>
    public static TuningProfile Named(string name) =>
        All.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"unknown profile '{name}' (known: {string.Join(", ", All.Select(p => p.Name))})", nameof(name));

    /// <summary>The profile's sysctl settings, from <paramref name="overrideFile"/> when given, else the embedded copy of
    /// <c>sysctl/{SysctlFile}</c>.</summary>
    public IReadOnlyList<SysctlSetting> LoadSysctls(string? overrideFile = null)
    {
        if (overrideFile is not null)
        {
            return Sysctl.SysctlFile.Parse(File.ReadAllText(overrideFile), overrideFile);
        }

        using var stream = typeof(TuningProfile).Assembly.GetManifestResourceStream("sysctl/" + SysctlFile)
            ?? throw new InvalidOperationException($"sysctl/{SysctlFile} is not embedded in {typeof(TuningProfile).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return Sysctl.SysctlFile.Parse(reader.ReadToEnd(), "sysctl/" + SysctlFile);
    }
}
