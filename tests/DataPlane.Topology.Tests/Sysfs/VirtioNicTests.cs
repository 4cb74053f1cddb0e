using DataPlane.Topology.Model;
using DataPlane.Topology.Sysfs;

namespace DataPlane.Topology.Tests.Sysfs;

/// <summary>virtio-net, as cloud VMs and test machines have it: the netdev hangs off a virtio device whose parent is the
/// PCI function, so the address, NUMA node and vectors come from the parent and the driver from the virtio device.</summary>
public sealed class VirtioNicTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("dataplane-virtio-").FullName;

    [Fact]
    public void A_virtio_net_interface_is_a_pci_nic_with_its_queue_vectors()
    {
        string function = Write("sys/devices/pci0000:00/0000:00:03.0", ("numa_node", "0"), ("local_cpulist", "0-1"));
        foreach (var irq in new[] { "37", "38", "39" })
        {
            Write($"sys/devices/pci0000:00/0000:00:03.0/msi_irqs/{irq}", ("", ""));
        }

        Write("sys/bus/virtio/drivers/virtio_net", ("", ""));
        string virtio = Write("sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0", ("speed", "-1"));
        File.CreateSymbolicLink(Path.Combine(function, "virtio2", "driver"), "../../../../bus/virtio/drivers/virtio_net");
        File.CreateSymbolicLink(Path.Combine(virtio, "device"), "../../../virtio2");
        Directory.CreateDirectory(Path.Combine(_root, "sys/class/net"));
        File.CreateSymbolicLink(Path.Combine(_root, "sys/class/net/eth0"), "../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0");
        Directory.CreateDirectory(Path.Combine(_root, "sys/bus/pci/devices"));
        File.CreateSymbolicLink(Path.Combine(_root, "sys/bus/pci/devices/0000:00:03.0"), "../../../devices/pci0000:00/0000:00:03.0");
        Write("proc", ("interrupts",
            "           CPU0       CPU1\n" +
            "  37:          0          0 PCI-MSIX-0000:00:03.0   0-edge      virtio2-config\n" +
            "  38:        120          0 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\n" +
            "  39:          0         99 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0\n"));
        var roots = new HostRoots(Path.Combine(_root, "sys"), Path.Combine(_root, "proc"));
        var problems = new List<string>();

        var nic = Assert.Single(NicReader.Read(roots, InterruptTable.Read(roots), [new NumaNode(0, CpuSet.ParseList("0-1"))], problems)).Device;

        Assert.Equal(("eth0", PciAddress.Parse("0000:00:03.0"), 0, "virtio_net", (long?)null), (nic.Name, nic.Pci, nic.NumaNode, nic.Driver, nic.SpeedMbps));
        Assert.Equal("0-1", nic.LocalCpus.ToList());
        Assert.Equal([(37, (int?)null, true), (38, 0, false), (39, 0, false)], nic.Irqs.Select(i => (i.Irq, i.Queue, i.Control)));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string dir, params (string File, string Text)[] files)
    {
        string path = Path.Combine(_root, dir);
        Directory.CreateDirectory(path);
        foreach (var (file, text) in files.Where(f => f.File.Length > 0))
        {
            File.WriteAllText(Path.Combine(path, file), text + "\n");
        }

        return path;
    }
}
