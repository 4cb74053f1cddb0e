using System.Buffers.Binary;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Sequences;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary><c>simple_sequence</c> under Triton's direct sequence batcher: running sums per sequence, Triton's errors,
/// restarts, END, the idle timeout on a virtual clock, and the serial execution of one sequence's steps.</summary>
public sealed class SequenceTests : IAsyncLifetime
{
    private static readonly SimulationOptions Options = new()
    {
        Models =
        [
            .. SimulationOptions.DefaultModels.Where(m => m.Name == "simple_sequence"),

            // Four instances and a long step: steps of one sequence run side by side unless the batcher keeps them apart.
            SimulatedModelOptions.SequenceModel("wide_sequence") with
            {
                MaxBatchSize = 8,
                Instances = 4,
                BaseLatency = TimeSpan.FromMilliseconds(20),
                MaxSequenceIdle = TimeSpan.FromMinutes(10),
            },
        ],
    };

    private readonly ManualTimeProvider _time = new();
    private SimulatedTritonServer _server = null!;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync(Options, _time);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static ModelInferRequest Step(object id, int value, bool start = false, bool end = false, string model = "simple_sequence", int batch = 1)
    {
        var raw = new byte[4 * batch];
        for (int i = 0; i < batch; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(4 * i), value);
        }

        var request = Requests.Raw(model, TensorDataType.Int32, [batch, 1], raw, name: "INPUT");
        request.Id = $"{id}:{value}";
        request.Parameters["sequence_id"] = id is string s ? new InferParameter { StringParam = s } : new InferParameter { Int64Param = Convert.ToInt64(id, System.Globalization.CultureInfo.InvariantCulture) };
        if (start)
        {
            request.Parameters["sequence_start"] = new InferParameter { BoolParam = true };
        }

        if (end)
        {
            request.Parameters["sequence_end"] = new InferParameter { BoolParam = true };
        }

        return request;
    }

    private static int Output(ModelInferResponse response)
    {
        var output = response.Outputs.Single();
        Assert.Equal(("OUTPUT", "INT32"), (output.Name, output.Datatype));
        Assert.Equal([1L, 1L], output.Shape);
        return BinaryPrimitives.ReadInt32LittleEndian(response.RawOutputContents.Single().Span);
    }

    private async Task<int> SendAsync(ModelInferRequest request) => Output(await _server.Client.ModelInferAsync(request));

    private async Task<string> RefusedAsync(ModelInferRequest request)
    {
        var e = await Requests.FailsWith(StatusCode.InvalidArgument, () => _server.Client.ModelInferAsync(request).ResponseAsync);
        return e.Status.Detail;
    }

    [Fact]
    public async Task Concurrent_sequences_with_numeric_and_string_ids_each_keep_their_own_running_sum()
    {
        object[] ids = [7L, 8L, "alpha", "beta"];
        var sequences = ids.Select(async (id, k) =>
        {
            var sums = new List<int> { await SendAsync(Step(id, k + 1, start: true)) };
            for (int i = 1; i <= 4; i++)
            {
                sums.Add(await SendAsync(Step(id, (k + 1) * 10 * i, end: i == 4)));
            }

            return sums;
        });

        var results = await Task.WhenAll(sequences);

        for (int k = 0; k < ids.Length; k++)
        {
            int a = k + 1, b = (k + 1) * 10;
            Assert.Equal([a, a + b, a + (3 * b), a + (6 * b), a + (10 * b)], results[k]);
        }
    }

    [Fact]
    public async Task A_step_without_start_of_an_unknown_sequence_is_refused_with_tritons_text()
    {
        Assert.Equal("inference request for sequence 42 to model 'simple_sequence' must specify the START flag on the first request of the sequence",
            await RefusedAsync(Step(42L, 1)));
        Assert.Equal("inference request for sequence gamma to model 'simple_sequence' must specify the START flag on the first request of the sequence",
            await RefusedAsync(Step("gamma", 1)));
    }

    [Fact]
    public async Task A_batch_of_more_than_one_is_refused_before_the_sequence_is_looked_at()
    {
        Assert.Equal("inference request to model 'simple_sequence' must specify batch-size 1 due to requirements of sequence batcher",
            await RefusedAsync(Step(5L, 1, start: true, batch: 2)));
    }

    [Fact]
    public async Task A_request_without_a_correlation_id_is_refused()
    {
        var request = Requests.Raw("simple_sequence", TensorDataType.Int32, [1, 1], new byte[4], name: "INPUT");
        Assert.Equal("inference request to model 'simple_sequence' must specify a non-zero or non-empty correlation ID", await RefusedAsync(request));

        request.Parameters["sequence_id"] = new InferParameter { Int64Param = 0 };
        request.Parameters["sequence_start"] = new InferParameter { BoolParam = true };
        Assert.Equal("inference request to model 'simple_sequence' must specify a non-zero or non-empty correlation ID", await RefusedAsync(request));
    }

    [Fact]
    public async Task Start_on_an_active_sequence_restarts_its_sum()
    {
        Assert.Equal(5, await SendAsync(Step(9L, 5, start: true)));
        Assert.Equal(12, await SendAsync(Step(9L, 7)));

        Assert.Equal(100, await SendAsync(Step(9L, 100, start: true)));
        Assert.Equal(101, await SendAsync(Step(9L, 1)));
    }

    [Fact]
    public async Task End_frees_the_sequence_so_its_next_step_needs_start_again()
    {
        Assert.Equal(3, await SendAsync(Step("delta", 3, start: true)));
        Assert.Equal(7, await SendAsync(Step("delta", 4, end: true)));

        Assert.StartsWith("inference request for sequence delta to model 'simple_sequence' must specify the START flag", await RefusedAsync(Step("delta", 1)),
            StringComparison.Ordinal);
        Assert.Equal(2, await SendAsync(Step("delta", 2, start: true)));
    }

    [Fact]
    public async Task A_sequence_idle_longer_than_max_sequence_idle_is_dropped()
    {
        Assert.Equal(1, await SendAsync(Step(11L, 1, start: true)));
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(3, await SendAsync(Step(11L, 2)));

        // The clock restarts with each request: 999 ms after the last one the sequence is still there.
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(6, await SendAsync(Step(11L, 3)));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.StartsWith("inference request for sequence 11 to model 'simple_sequence' must specify the START flag", await RefusedAsync(Step(11L, 4)),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_steps_of_one_sequence_execute_one_at_a_time()
    {
        Assert.Equal(1, await SendAsync(Step(1L, 1, start: true, model: "wide_sequence")));

        // Eight steps sent at once to a model with four instances: the batcher runs them one after the other.
        var outputs = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SendAsync(Step(1L, 1, model: "wide_sequence"))));

        Assert.Equal(Enumerable.Range(2, 8), outputs.Order());
        var record = _server.Triton.SequenceRecord("wide_sequence");
        Assert.Equal(new SimulatedSequenceRecord(9, 1), record);
    }

    [Fact]
    public async Task Steps_on_one_stream_execute_and_answer_in_arrival_order()
    {
        using var call = _server.Client.ModelStreamInfer();
        int[] values = [11, 7, 5, 3, 2, 0, 1];
        for (int i = 0; i < values.Length; i++)
        {
            await call.RequestStream.WriteAsync(Step(2L, values[i], start: i == 0, end: i == values.Length - 1, model: "wide_sequence"));
        }

        var responses = await Requests.ReadUntilAsync(call.ResponseStream, r => r.Count == values.Length);
        await call.RequestStream.CompleteAsync();

        Assert.All(responses, r => Assert.Empty(r.ErrorMessage));
        Assert.Equal(values.Select((v, i) => $"2:{v}"), responses.Select(r => r.InferResponse.Id));
        Assert.Equal([11, 18, 23, 26, 28, 28, 29], responses.Select(r => Output(r.InferResponse)));
        Assert.Equal(1, _server.Triton.SequenceRecord("wide_sequence")!.Value.MaxConcurrentSteps);
    }

    [Fact]
    public async Task Different_sequences_run_side_by_side_on_the_models_instances()
    {
        var starts = Enumerable.Range(100, 4).Select(id => SendAsync(Step((long)id, id, start: true, model: "wide_sequence")));

        Assert.Equal([100, 101, 102, 103], (await Task.WhenAll(starts)).Order());
        Assert.Equal(1, _server.Triton.SequenceRecord("wide_sequence")!.Value.MaxConcurrentSteps);
        Assert.Null(_server.Triton.SequenceRecord("nope"));
    }
}
