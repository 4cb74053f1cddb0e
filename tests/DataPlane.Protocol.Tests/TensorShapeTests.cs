using DataPlane.Protocol.Tensors;

namespace DataPlane.Protocol.Tests;

public class TensorShapeTests
{
    [Fact]
    public void Element_count_is_the_product_of_dimensions()
    {
        Assert.Null(TensorShape.TryElementCount("input 'x'", [2, 3, 4], 1000, out long n));
        Assert.Equal(24, n);
        Assert.Null(TensorShape.TryElementCount("input 'x'", [], 1000, out n));
        Assert.Equal(1, n);
        Assert.Null(TensorShape.TryElementCount("input 'x'", [5, 0, 7], 1000, out n));
        Assert.Equal(0, n);
    }

    [Fact]
    public void Negative_dimension_is_named_with_its_index()
    {
        string? e = TensorShape.TryElementCount("input 'INPUT0'", [2, -1], 1000, out _);
        Assert.Equal("input 'INPUT0': shape [2,-1] has negative dimension -1 at index 1", e);
    }

    [Fact]
    public void Counts_beyond_the_limit_or_overflowing_are_rejected()
    {
        Assert.Contains("limit of 100", TensorShape.TryElementCount("input 'x'", [10, 11], 100, out _));
        Assert.Contains("limit", TensorShape.TryElementCount("input 'x'", [long.MaxValue, 2, 2], long.MaxValue, out _));
    }

    [Fact]
    public void Declared_dims_match_with_wildcards_and_rank()
    {
        Assert.True(TensorShape.Matches([8, 3, 16], 1, [-1, 16]));
        Assert.False(TensorShape.Matches([8, 3, 15], 1, [-1, 16]));
        Assert.False(TensorShape.Matches([8, 16], 1, [-1, 16]));
        Assert.True(TensorShape.SameRowShape([1, 4, 2], [9, 4, 2]));
        Assert.False(TensorShape.SameRowShape([1, 4, 2], [1, 2, 4]));
        Assert.Equal(8, TensorShape.RowElements([3, 4, 2]));
    }
}
