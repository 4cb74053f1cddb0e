using System.Text;
using DataPlane.Interop.Nvml;
using DataPlane.Testing;

namespace DataPlane.Interop.Tests.Nvml;

/// <summary>The NVML binding against the fake libnvidia-ml.so.1: the real load, symbol probing, init and calls.</summary>
[Collection(FakeNvml.Collection)]
public class NvmlLibraryTests
{
    [Fact]
    public void Opens_the_fake_and_reads_system_and_device_facts()
    {
        using var scope = FakeNvml.Use("dgx-h100");
        using var nvml = Open();

        Assert.Equal(FakeNvml.LibraryPath, nvml.LibraryPath);
        Assert.Equal("550.54.15", nvml.GetDriverVersion());
        Assert.Equal("12.550.54.15", nvml.GetNvmlVersion());
        Assert.Equal(8, nvml.GetDeviceCount());

        var gpu0 = nvml.GetDevice(0);
        Assert.Equal("NVIDIA H100 80GB HBM3", nvml.GetName(gpu0));
        Assert.Equal("GPU-4f6a9a0e-0c53-4c55-9c1d-1a2b3c4d5e00", nvml.GetUuid(gpu0));
        Assert.Equal(0, nvml.GetIndex(gpu0));
        var pci = nvml.GetPciInfo(gpu0);
        Assert.Equal("00000000:18:00.0", pci.BusId);
        Assert.Equal("0000:18:00.0", pci.BusIdLegacy);
        Assert.Equal((0u, 0x18u, 0u), (pci.Domain, pci.Bus, pci.Device));
        Assert.Equal(0x10DEu, pci.PciDeviceId & 0xFFFF);

        var gpu7 = nvml.GetDevice(7);
        Assert.Equal(7, nvml.GetIndex(gpu7));
        Assert.Equal("00000000:DB:00.0", nvml.GetPciInfo(gpu7).BusId);
    }

    [Fact]
    public void Cpu_and_memory_affinity_come_from_the_GPUs_NUMA_node()
    {
        using var scope = FakeNvml.Use("dgx-h100");
        using var nvml = Open();

        var cpus0 = nvml.GetCpuAffinity(nvml.GetDevice(0));
        Assert.NotNull(cpus0);
        Assert.Equal([.. Enumerable.Range(0, 56), .. Enumerable.Range(112, 56)], cpus0);
        var cpus4 = nvml.GetCpuAffinity(nvml.GetDevice(4), NvmlAffinityScope.Socket);
        Assert.Equal([.. Enumerable.Range(56, 56), .. Enumerable.Range(168, 56)], cpus4);

        Assert.Equal([0], nvml.GetMemoryAffinity(nvml.GetDevice(0)));
        Assert.Equal([1], nvml.GetMemoryAffinity(nvml.GetDevice(4)));
    }

    [Fact]
    public void NVSwitch_links_report_the_switch_and_stop_at_the_link_count()
    {
        using var scope = FakeNvml.Use("dgx-h100");
        using var nvml = Open();
        var gpu = nvml.GetDevice(1);

        Assert.Equal(18ul, nvml.GetFieldUInt64(gpu, NvmlFieldIds.NvLinkLinkCount));
        Assert.Equal(18ul, nvml.GetFieldUInt64(gpu, NvmlFieldIds.NvSwitchConnectedLinkCount));

        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkState(gpu, 17, out bool active));
        Assert.True(active);
        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkVersion(gpu, 17, out int version));
        Assert.Equal(6, version);
        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkRemoteType(gpu, 0, out var type));
        Assert.Equal(NvmlNvLinkDeviceType.Switch, type);
        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkRemotePciInfo(gpu, 0, out var remote));
        Assert.Equal("00000000:06:00.0", remote!.BusId);

        // Past the last link the driver says INVALID_ARGUMENT: the end of the walk, not an exception.
        Assert.Equal(NvmlReturn.InvalidArgument, nvml.TryGetNvLinkState(gpu, 18, out active));
        Assert.False(active);
        Assert.Equal(NvmlReturn.InvalidArgument, nvml.TryGetNvLinkVersion(gpu, 18, out _));
        Assert.Equal(NvmlReturn.InvalidArgument, nvml.TryGetNvLinkRemoteType(gpu, 35, out _));
        Assert.Equal(NvmlReturn.InvalidArgument, nvml.TryGetNvLinkRemotePciInfo(gpu, 18, out remote));
        Assert.Null(remote);

        Assert.Equal(NvmlP2PStatus.Ok, nvml.GetP2PStatus(gpu, nvml.GetDevice(6), NvmlP2PCapsIndex.NvLink));
        Assert.Equal(NvmlTopologyLevel.Node, nvml.GetTopologyCommonAncestor(gpu, nvml.GetDevice(3)));
        Assert.Equal(NvmlTopologyLevel.System, nvml.GetTopologyCommonAncestor(gpu, nvml.GetDevice(4)));
        Assert.Equal(NvmlTopologyLevel.Internal, nvml.GetTopologyCommonAncestor(gpu, gpu));
    }

    [Fact]
    public void A_GPU_without_NVLink_answers_not_supported()
    {
        using var scope = FakeNvml.Use("pcie-4gpu");
        using var nvml = Open();
        var gpu0 = nvml.GetDevice(0);

        Assert.Equal(0ul, nvml.GetFieldUInt64(gpu0, NvmlFieldIds.NvLinkLinkCount));
        Assert.Null(nvml.GetFieldUInt64(gpu0, NvmlFieldIds.NvLinkThroughputDataTx, NvmlFieldIds.AllLinks));
        Assert.Equal(NvmlReturn.NotSupported, nvml.TryGetNvLinkState(gpu0, 0, out _));
        Assert.Equal(NvmlReturn.NotSupported, nvml.TryGetNvLinkRemotePciInfo(gpu0, 0, out _));
        Assert.Equal(NvmlP2PStatus.NotSupported, nvml.GetP2PStatus(gpu0, nvml.GetDevice(1), NvmlP2PCapsIndex.NvLink));
        Assert.Equal(NvmlP2PStatus.Ok, nvml.GetP2PStatus(gpu0, nvml.GetDevice(1), NvmlP2PCapsIndex.Pci));
        Assert.Equal(NvmlTopologyLevel.Single, nvml.GetTopologyCommonAncestor(gpu0, nvml.GetDevice(1)));
        Assert.Equal(NvmlTopologyLevel.System, nvml.GetTopologyCommonAncestor(gpu0, nvml.GetDevice(2)));
    }

    [Fact]
    public void Bridged_GPUs_see_each_other_and_an_inactive_link()
    {
        using var scope = FakeNvml.Use("nvlink-bridge-2gpu");
        using var nvml = Open();
        var gpu0 = nvml.GetDevice(0);

        Assert.Equal(12ul, nvml.GetFieldUInt64(gpu0, NvmlFieldIds.NvLinkLinkCount));
        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkState(gpu0, 10, out bool active));
        Assert.True(active);
        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkState(gpu0, 11, out active));
        Assert.False(active);
        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkRemoteType(gpu0, 3, out var type));
        Assert.Equal(NvmlNvLinkDeviceType.Gpu, type);
        Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkRemotePciInfo(gpu0, 3, out var remote));
        Assert.Equal(nvml.GetPciInfo(nvml.GetDevice(1)).BusId, remote!.BusId);
        Assert.Equal(NvmlP2PStatus.Ok, nvml.GetP2PStatus(gpu0, nvml.GetDevice(1), NvmlP2PCapsIndex.NvLink));
    }

    [Fact]
    public void Field_values_carry_their_own_status_and_counters_rise()
    {
        using var scope = FakeNvml.Use("nvlink-bridge-2gpu");
        using var nvml = Open();
        var gpu0 = nvml.GetDevice(0);

        Span<NvmlFieldValue> values =
        [
            new(NvmlFieldIds.NvLinkThroughputDataTx, 2),
            new(9999),
            new(NvmlFieldIds.NvLinkGetSpeed, 2),
            new(NvmlFieldIds.NvLinkThroughputDataRx, 40),
        ];
        nvml.GetFieldValues(gpu0, values);

        Assert.Equal(NvmlReturn.Success, values[0].Return);
        Assert.Equal(NvmlValueType.UnsignedLongLong, values[0].ValueType);
        Assert.True(values[0].TryGetUInt64(out ulong first));
        Assert.Equal(NvmlReturn.NotSupported, values[1].Return);
        Assert.False(values[1].TryGetUInt64(out _));
        Assert.True(values[2].TryGetUInt64(out ulong speed));
        Assert.True(speed > 0);
        Assert.Equal(NvmlReturn.InvalidArgument, values[3].Return);

        ulong second = nvml.GetFieldUInt64(gpu0, NvmlFieldIds.NvLinkThroughputDataTx, 2)!.Value;
        Assert.True(second > first, $"TX counter of link 2 did not rise: {first} then {second}");

        // The inactive link carries no traffic.
        ulong idle1 = nvml.GetFieldUInt64(gpu0, NvmlFieldIds.NvLinkThroughputDataTx, 11)!.Value;
        ulong idle2 = nvml.GetFieldUInt64(gpu0, NvmlFieldIds.NvLinkThroughputDataTx, 11)!.Value;
        Assert.Equal(idle1, idle2);
    }

    [Fact]
    public void Missing_library_gives_a_clear_problem_not_a_crash()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "libnvidia-ml.so.1");
        Assert.False(NvmlLibrary.TryOpen(path, out var nvml, out string problem));
        Assert.Null(nvml);
        Assert.Contains(path, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_without_NVML_entry_points_is_refused()
    {
        Assert.False(NvmlLibrary.TryOpen("libc.so.6", out var nvml, out string problem));
        Assert.Null(nvml);
        Assert.Contains("nvmlInit_v2", problem, StringComparison.Ordinal);
        Assert.Contains("libc.so.6", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void No_host_means_the_driver_is_not_loaded()
    {
        using var scope = FakeNvml.Use(null);
        Assert.False(NvmlLibrary.TryOpen(FakeNvml.LibraryPath, out _, out string problem));
        Assert.Contains("nvmlInitWithFlags failed: NVML_ERROR_DRIVER_NOT_LOADED (9)", problem, StringComparison.Ordinal);
        Assert.Contains(FakeNvml.LibraryPath, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Injected_init_error_is_reported_with_its_name()
    {
        using var scope = FakeNvml.Use("dgx-h100", initError: 4);
        Assert.False(NvmlLibrary.TryOpen(FakeNvml.LibraryPath, out var nvml, out string problem));
        Assert.Null(nvml);
        Assert.Contains("NVML_ERROR_NO_PERMISSION (4)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lost_GPU_throws_a_typed_error_naming_the_call()
    {
        using var scope = FakeNvml.Use("dgx-h100", lostGpu: 2);
        using var nvml = Open();

        var lost = nvml.GetDevice(2);
        var e = Assert.Throws<NvmlException>(() => nvml.GetName(lost));
        Assert.Equal(NvmlReturn.GpuIsLost, e.Return);
        Assert.Equal("nvmlDeviceGetName", e.Function);
        Assert.Contains("NVML_ERROR_GPU_IS_LOST (15)", e.Message, StringComparison.Ordinal);
        Assert.Throws<NvmlException>(() => nvml.TryGetNvLinkState(lost, 0, out _));
        Assert.Throws<NvmlException>(() => nvml.GetFieldUInt64(lost, NvmlFieldIds.NvLinkLinkCount));

        // The other GPUs still answer.
        Assert.Equal("NVIDIA H100 80GB HBM3", nvml.GetName(nvml.GetDevice(3)));
    }

    [Fact]
    public void Init_is_reference_counted_and_calls_after_dispose_are_refused()
    {
        using var scope = FakeNvml.Use("pcie-4gpu");
        var first = Open();
        using (var second = Open())
        {
            first.Dispose();
            Assert.Equal(4, second.GetDeviceCount());
        }

        Assert.Throws<ObjectDisposedException>(() => first.GetDeviceCount());
        first.Dispose();
    }

    [Fact]
    public void Concurrent_calls_from_many_threads_get_consistent_answers()
    {
        using var scope = FakeNvml.Use("dgx-h100");
        using var nvml = Open();
        var expected = Enumerable.Range(0, 8).Select(i => nvml.GetUuid(nvml.GetDevice(i))).ToArray();

        var seen = new string[8 * 64];
        Parallel.For(0, seen.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, n =>
        {
            var gpu = nvml.GetDevice(n % 8);
            seen[n] = nvml.GetUuid(gpu);
            Assert.Equal(NvmlReturn.Success, nvml.TryGetNvLinkState(gpu, n % 18, out _));
        });

        Assert.All(Enumerable.Range(0, seen.Length), n => Assert.Equal(expected[n % 8], seen[n]));
    }

    [Fact]
    public unsafe void The_fake_follows_the_drivers_conventions_before_init_and_for_short_buffers()
    {
        using var scope = FakeNvml.Use("dgx-h100");
        var count = (delegate* unmanaged<uint*, int>)FakeNvml.Export("nvmlDeviceGetCount_v2");
        var shutdown = (delegate* unmanaged<int>)FakeNvml.Export("nvmlShutdown");
        uint n;
        Assert.Equal((int)NvmlReturn.Uninitialized, count(&n));
        Assert.Equal((int)NvmlReturn.Uninitialized, shutdown());

        using var nvml = Open();
        var getName = (delegate* unmanaged<nint, byte*, uint, int>)FakeNvml.Export("nvmlDeviceGetName");
        var byIndex = (delegate* unmanaged<uint, nint*, int>)FakeNvml.Export("nvmlDeviceGetHandleByIndex_v2");
        nint handle;
        Assert.Equal(0, byIndex(0, &handle));
        byte* small = stackalloc byte[8];
        Assert.Equal((int)NvmlReturn.InsufficientSize, getName(handle, small, 8));
        byte* exact = stackalloc byte[22];
        Assert.Equal(0, getName(handle, exact, 22));
        Assert.Equal("NVIDIA H100 80GB HBM3", Encoding.UTF8.GetString(exact, 21));
        Assert.Equal("Insufficient Size", nvml.ErrorString(NvmlReturn.InsufficientSize));
    }

    private static NvmlLibrary Open()
    {
        Assert.True(NvmlLibrary.TryOpen(FakeNvml.LibraryPath, out var nvml, out string problem), problem);
        return nvml;
    }
}
