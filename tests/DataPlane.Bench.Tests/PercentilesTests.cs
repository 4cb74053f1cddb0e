namespace DataPlane.Bench.Tests;

public class PercentilesTests
{
    [Fact]
    public void Nearest_rank_of_one_to_a_hundred_is_the_percentile_itself()
    {
        long[] v = Enumerable.Range(1, 100).Select(i => (long)i).ToArray();
        Assert.Equal(1, Percentiles.NearestRank(v, 0));
        Assert.Equal(1, Percentiles.NearestRank(v, 1));
        Assert.Equal(50, Percentiles.NearestRank(v, 50));
        Assert.Equal(90, Percentiles.NearestRank(v, 90));
        Assert.Equal(99, Percentiles.NearestRank(v, 99));
        Assert.Equal(100, Percentiles.NearestRank(v, 99.5));
        Assert.Equal(100, Percentiles.NearestRank(v, 100));
    }

    [Fact]
    public void Small_sets_round_the_rank_up()
    {
        long[] v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000];
        Assert.Equal(50, Percentiles.NearestRank(v, 50));
        Assert.Equal(90, Percentiles.NearestRank(v, 90));
        Assert.Equal(1000, Percentiles.NearestRank(v, 91));
        Assert.Equal(1000, Percentiles.NearestRank(v, 99));
        Assert.Equal(7, Percentiles.NearestRank([7], 50));
        Assert.Equal(7, Percentiles.NearestRank([7], 99));
        Assert.Equal(1, Percentiles.NearestRank([1, 2], 50));
        Assert.Equal(2, Percentiles.NearestRank([1, 2], 51));
    }

    [Fact]
    public void No_samples_or_a_percentile_out_of_range_is_an_error()
    {
        Assert.Throws<ArgumentException>(() => Percentiles.NearestRank([], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank([1], 101));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank([1], -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank([1], double.NaN));
    }
}
