using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Model;

public class CpuSetTests
{
    [Theory]
    [InlineData("0-55,112-167", 112, "0-55,112-167")]
    [InlineData(" 3,1,2 ", 3, "1-3")]
    [InlineData("0,2,4-5", 4, "0,2,4-5")]
    [InlineData("7", 1, "7")]
    [InlineData("", 0, "")]
    public void A_cpulist_parses_and_prints_with_ranges(string text, int count, string list)
    {
        var set = CpuSet.ParseList(text);

        Assert.Equal(count, set.Count);
        Assert.Equal(list, set.ToList());
        Assert.Equal(set, CpuSet.ParseList(set.ToList()));
    }

    [Theory]
    [InlineData("ff,ffffffff", "0-39")]
    [InlineData("1,00000002,00000001", "0,33,64")]
    [InlineData("00000000,00000000,80000000", "31")]
    [InlineData("0", "")]
    public void A_mask_of_32_bit_groups_parses_most_significant_first(string mask, string list)
    {
        Assert.Equal(list, CpuSet.ParseMask(mask).ToList());
    }

    [Theory]
    [InlineData("0-39", "ff,ffffffff")]
    [InlineData("0,33,64", "1,00000002,00000001")]
    [InlineData("", "0")]
    [InlineData("3", "8")]
    public void A_set_prints_as_the_mask_the_kernel_accepts(string list, string mask)
    {
        Assert.Equal(mask, CpuSet.ParseList(list).ToMask());
    }

    [Fact]
    public void A_224_cpu_node_survives_mask_and_list_round_trips()
    {
        var node = CpuSet.ParseList("56-111,168-223");

        string mask = node.ToMask();

        Assert.Equal(7, mask.Split(',').Length);
        Assert.Equal(node, CpuSet.ParseMask(mask));
        Assert.Equal("56-111,168-223", CpuSet.ParseMask(mask).ToList());
    }

    [Theory]
    [InlineData("5-3")]
    [InlineData("a")]
    [InlineData("1-")]
    [InlineData("-1")]
    [InlineData("0-3:2/4")]
    public void A_bad_cpulist_is_refused(string text)
    {
        Assert.Throws<FormatException>(() => CpuSet.ParseList(text));
    }

    [Theory]
    [InlineData("xyz")]
    [InlineData("1ffffffff")]
    [InlineData("ff,,ff")]
    public void A_bad_mask_is_refused(string text)
    {
        Assert.Throws<FormatException>(() => CpuSet.ParseMask(text));
    }

    [Fact]
    public void Negative_cpus_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuSet.Of([-1, 2]));
    }

    [Fact]
    public void Set_operations_keep_the_set_sorted_and_distinct()
    {
        var a = CpuSet.ParseList("0-3");
        var b = CpuSet.ParseList("2-5");

        Assert.Equal("0-5", a.Union(b).ToList());
        Assert.Equal("2-3", a.Intersect(b).ToList());
        Assert.Equal("0-1", a.Except(b).ToList());
    }
}
