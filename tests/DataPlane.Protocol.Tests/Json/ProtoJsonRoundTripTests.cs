using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Json;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests.Json;

public class ProtoJsonRoundTripTests
{
    public static TheoryData<string> Configs => new() { "simple", "rich", "sequence", "ensemble", "empty" };

    private static ModelConfig Config(string name) => name switch
    {
        "simple" => SampleConfigs.Simple(),
        "rich" => SampleConfigs.Rich(),
        "sequence" => SampleConfigs.Sequence(),
        "ensemble" => SampleConfigs.Ensemble(),
        _ => new ModelConfig(),
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Model_configs_survive_write_then_read(string name)
    {
        var config = Config(name);
        Assert.Equal(config, ProtoJson.Read(ProtoJson.Write(config), ModelConfig.Parser));
        Assert.Equal(config, ProtoJson.Read(ProtoJson.Write(config, indented: true), ModelConfig.Parser));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Tritons_config_body_reads_back_to_the_same_config(string name)
    {
        var config = Config(name);
        byte[] body = TritonModelConfigJson.Write(config);
        if (body.Length == 0)
        {
            Assert.Equal(0, config.CalculateSize());
            return;
        }

        Assert.Equal(config, TritonModelConfigJson.Read(body));
    }

    [Fact]
    public void Reading_then_writing_gives_the_same_text()
    {
        byte[] first = ProtoJson.Write(SampleConfigs.Rich());
        byte[] second = ProtoJson.Write(ProtoJson.Read(first, ModelConfig.Parser));
        Assert.Equal(first, second);
    }

    [Fact]
    public void Other_messages_survive_too_bytes_doubles_oneofs_and_every_scalar_kind()
    {
        var request = SampleConfigs.Request();
        var read = ProtoJson.Read(ProtoJson.Write(request), ModelInferRequest.Parser);

        // Triton prints -0.0 as 0 (protobuf writes "-0", which RapidJSON reads as the integer 0).
        Assert.True(double.IsNegative(request.Inputs[0].Contents.Fp64Contents[1]));
        request.Inputs[0].Contents.Fp64Contents[1] = 0.0;
        Assert.Equal(request, read);

        var scalars = new Scalars
        {
            FDouble = double.NaN,
            FFloat = float.NegativeInfinity,
            FInt64 = long.MinValue,
            FUint64 = ulong.MaxValue,
            FInt32 = -1,
            FFixed64 = ulong.MaxValue,
            FFixed32 = uint.MaxValue,
            FBool = true,
            FString = "\"\\\u0000é😀",
            FBytes = ByteString.CopyFrom(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()),
            FUint32 = uint.MaxValue,
            FEnum = (Color)12345,
            FSfixed32 = int.MinValue,
            FSfixed64 = long.MinValue,
            FSint32 = int.MinValue,
            FSint64 = long.MinValue,
            FOptional = 0,
            RSint32 = { int.MaxValue, int.MinValue, 0 },
            RSfixed64 = { -1 },
            RFixed32 = { 0, uint.MaxValue },
            REnum = { Color.Green, (Color)(-2) },
            RString = { "", "x" },
            RBytes = { ByteString.Empty, ByteString.CopyFrom(0xFF) },
            MInt32 = { [int.MinValue] = "min", [0] = "" },
            MBool = { [true] = new Scalars { FInt32 = 1 }, [false] = new Scalars() },
            MSint64 = { [long.MinValue] = Color.Red, [long.MaxValue] = (Color)9 },
            MFixed32 = { [uint.MaxValue] = ByteString.CopyFromUtf8("v") },
            Child = new Scalars { Child = new Scalars { Late = "deep" } },
            CMessage = new Scalars(),
            Late = "late",
        };
        Assert.Equal(scalars, ProtoJson.Read(ProtoJson.Write(scalars), Scalars.Parser));
    }
}
