using DataPlane.Topology.Model;
using DataPlane.Topology.Sysfs;

namespace DataPlane.Topology.Tests.Sysfs;

public class InterruptTableTests
{
    private const string Sample =
        "            CPU0       CPU1\n" +
        "   0:         41          0   IO-APIC   2-edge      timer\n" +
        "   9:          0          0   IO-APIC   9-fasteoi   acpi\n" +
        " 100:          3          0  IR-PCI-MSIX-0000:19:00.0    0-edge      mlx5_async0@pci:0000:19:00.0\n" +
        " 101:        120         17  IR-PCI-MSIX-0000:19:00.0    1-edge      mlx5_comp0@pci:0000:19:00.0\n" +
        " 102:          0          0  IR-PCI-MSIX-0000:19:00.0    2-edge\n" +
        " 103:          0          0          0          0  IR-PCI-MSIX-0000:02:00.0    1-edge      eno1-TxRx-0\n" +
        " 200:          0          0   ITS-MSI 524289 Edge      mlx5_comp0@pci:0000:01:00.0\n" +
        "  12:          0          0     GICv3  27 Level     arch_timer\n" +
        "NMI:          0          0   Non-maskable interrupts\n" +
        "ERR:          0\n";

    [Fact]
    public void Numbered_lines_give_names_and_the_rest_is_skipped()
    {
        var table = InterruptTable.Parse(Sample);

        Assert.Equal([0, 9, 12, 100, 101, 102, 103, 200], table.Names.Keys.Order());
        Assert.Equal("timer", table.NameOf(0));
        Assert.Equal("mlx5_comp0@pci:0000:19:00.0", table.NameOf(101));
        Assert.Equal("", table.NameOf(102));
        // More count columns than the header lists still parse.
        Assert.Equal("eno1-TxRx-0", table.NameOf(103));
        Assert.Null(table.NameOf(104));
        // arm64 interrupt controllers print the trigger as a separate word.
        Assert.Equal("mlx5_comp0@pci:0000:01:00.0", table.NameOf(200));
        Assert.Equal("arch_timer", table.NameOf(12));
    }

    [Theory]
    [InlineData("mlx5_comp7@pci:0000:19:00.0", 7, false)]
    [InlineData("mlx5_comp15@pci:0000:19:00.0", 15, false)]
    [InlineData("mlx5_async0@pci:0000:19:00.0", null, true)]
    [InlineData("mlx5_async@pci:0000:19:00.0", null, true)]
    [InlineData("eno1-TxRx-3", 3, false)]
    [InlineData("eno1-rx-12", 12, false)]
    [InlineData("eno1", null, true)]
    [InlineData("virtio2-input.3", 3, false)]
    [InlineData("virtio2-output.0", 0, false)]
    [InlineData("virtio2-config", null, true)]
    [InlineData("mlx5_pages_eq@pci:0000:19:00.1", null, false)]
    [InlineData("timer", null, false)]
    [InlineData("", null, false)]
    public void Names_give_queue_numbers_and_control_vectors(string name, int? queue, bool control)
    {
        var irq = InterruptTable.Describe(42, name, "eno1");

        Assert.Equal(new NicIrq(42, name, queue, control), irq);
    }
}
