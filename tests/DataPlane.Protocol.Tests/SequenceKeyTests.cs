using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Sequences;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace DataPlane.Protocol.Tests;

public class SequenceKeyTests
{
    private static MapField<string, InferParameter> Params(params (string Key, InferParameter Value)[] entries)
    {
        var map = new MapField<string, InferParameter>();
        foreach (var (k, v) in entries)
        {
            map[k] = v;
        }

        return map;
    }

    [Fact]
    public void Numeric_and_string_ids_and_flags_are_read()
    {
        Assert.Null(SequenceKey.TryParse(Params(), out var none));
        Assert.False(none.IsSequence);

        Assert.Null(SequenceKey.TryParse(Params(("sequence_id", new InferParameter { Int64Param = 1000 }),
            ("sequence_start", new InferParameter { BoolParam = true })), out var numeric));
        Assert.True(numeric.IsSequence);
        Assert.True(numeric.Start);
        Assert.False(numeric.End);
        Assert.Equal("1000", numeric.ToString());

        Assert.Null(SequenceKey.TryParse(Params(("sequence_id", new InferParameter { StringParam = "abc" }),
            ("sequence_end", new InferParameter { BoolParam = true })), out var text));
        Assert.Equal("abc", text.ToString());
        Assert.True(text.End);
        Assert.NotEqual(numeric.Identity, text.Identity);
        Assert.Equal(text.Identity, (text with { End = false, Start = true }).Identity);

        Assert.Null(SequenceKey.TryParse(Params(("sequence_id", new InferParameter { Int64Param = 0 })), out var zero));
        Assert.False(zero.IsSequence);
    }

    [Fact]
    public void Wrong_types_get_tritons_texts()
    {
        Assert.Equal("invalid value type for 'sequence_id' parameter, expected int64_param or string_param.",
            SequenceKey.TryParse(Params(("sequence_id", new InferParameter { Uint64Param = 3 })), out _)!.Value.Message);
        Assert.Equal("invalid value type for 'sequence_start' parameter, expected bool_param.",
            SequenceKey.TryParse(Params(("sequence_id", new InferParameter { Int64Param = 3 }), ("sequence_start", new InferParameter { Int64Param = 1 })), out _)!.Value.Message);
        Assert.Equal("invalid value type for 'sequence_end' parameter, expected bool_param.",
            SequenceKey.TryParse(Params(("sequence_end", new InferParameter { StringParam = "yes" })), out _)!.Value.Message);
        var tooLong = SequenceKey.TryParse(Params(("sequence_id", new InferParameter { StringParam = new string('x', 129) })), out _)!.Value;
        Assert.Equal(StatusCode.Unimplemented, tooLong.Code);
        Assert.Equal("string correlation ID cannot be longer than 128 characters", tooLong.Message);
    }
}

public class CppIntegersTests
{
    [Theory]
    [InlineData("42", true, 42L, false)]
    [InlineData("  -7xyz", true, -7L, false)]
    [InlineData("+3", true, 3L, false)]
    [InlineData("12abc", true, 12L, false)]
    [InlineData("abc", false, 0L, false)]
    [InlineData("", false, 0L, false)]
    [InlineData("-", false, 0L, false)]
    [InlineData("9223372036854775807", true, long.MaxValue, false)]
    [InlineData("-9223372036854775808", true, long.MinValue, false)]
    [InlineData("9223372036854775808", true, 0L, true)]
    public void Integers_are_read_as_cpp_stol_reads_them(string text, bool digits, long value, bool overflow)
    {
        Assert.Equal(digits, CppIntegers.TryRead(text, out long v, out bool o));
        Assert.Equal(overflow, o);
        if (digits && !overflow)
        {
            Assert.Equal(value, v);
        }
    }
}
