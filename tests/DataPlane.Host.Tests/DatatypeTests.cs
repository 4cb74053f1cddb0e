using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using Google.Protobuf;

namespace DataPlane.Host.Tests;

/// <summary>Every datatype through the daemon, with raw and with typed contents.</summary>
public class DatatypeTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    public static TheoryData<TensorDataType> AllTypes() => [.. TensorDataTypes.All];

    public static TheoryData<TensorDataType> TypedTypes() => [.. TensorDataTypes.All.Where(t => t.HasTypedContents())];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Raw_contents_of_every_datatype_round_trip(TensorDataType type)
    {
        var random = new Random((int)type);
        byte[] raw = Tensors.RandomRaw(random, type, 6);
        var request = Tensors.Raw(SimulationOptions.EchoModelName(type), type, [2, 3], raw, id: type.WireName());
        var response = await fixture.Harness.Client.ModelInferAsync(request);

        Assert.Equal(type.WireName(), response.Id);
        var output = Assert.Single(response.Outputs);
        Assert.Equal(type.WireName(), output.Datatype);
        Assert.Equal([2L, 3], output.Shape);
        Assert.Null(output.Contents);
        Assert.Equal(SimulatedTransform.Apply(type, raw), response.RawOutputContents[0].ToByteArray());
    }

    [Theory]
    [MemberData(nameof(TypedTypes))]
    public async Task Typed_contents_of_every_datatype_are_answered_raw_as_triton_does(TensorDataType type)
    {
        var random = new Random(100 + (int)type);
        byte[] raw = Tensors.RandomRaw(random, type, 4);
        var request = new ModelInferRequest { ModelName = SimulationOptions.EchoModelName(type) };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = type.WireName(), Shape = { 1, 4 } };
        input.Contents = TypedContents.FromRaw(type, raw);
        request.Inputs.Add(input);

        var response = await fixture.Harness.Client.ModelInferAsync(request);
        var output = Assert.Single(response.Outputs);
        Assert.Null(output.Contents);
        Assert.Equal(SimulatedTransform.Apply(type, raw), Assert.Single(response.RawOutputContents).ToByteArray());
    }

    [Fact]
    public async Task Typed_and_raw_requests_batched_together_each_get_their_own_raw_answer()
    {
        var client = fixture.Harness.Client;
        var tasks = new List<Task<(bool Typed, byte[] Sent, ModelInferResponse Response)>>();
        for (int i = 0; i < 40; i++)
        {
            bool typed = i % 2 == 0;
            byte[] raw = BitConverter.GetBytes(i * 1000).Concat(BitConverter.GetBytes(-i)).ToArray();
            var request = new ModelInferRequest { ModelName = "echo_int32", Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT32", Shape = { 1, 2 } };
            if (typed)
            {
                input.Contents = TypedContents.FromRaw(TensorDataType.Int32, raw);
            }
            else
            {
                request.RawInputContents.Add(ByteString.CopyFrom(raw));
            }

            request.Inputs.Add(input);
            tasks.Add(Send(client, typed, raw, request));
        }

        foreach (var (typed, sent, response) in await Task.WhenAll(tasks))
        {
            byte[] expected = SimulatedTransform.Apply(TensorDataType.Int32, sent);
            Assert.Equal(expected, Tensors.Output0(response));
            Assert.Single(response.RawOutputContents);
            Assert.Null(response.Outputs[0].Contents);
        }
    }

    private static async Task<(bool, byte[], ModelInferResponse)> Send(GRPCInferenceService.GRPCInferenceServiceClient client, bool typed, byte[] raw,
        ModelInferRequest request) => (typed, raw, await client.ModelInferAsync(request));
}
