using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>What NVIDIA's clients depend on, through the daemon in front of the simulated Triton: sequences never
/// merged and kept in order, system shared memory kept by the daemon, model control forwarded, messages of
/// Triton's size.</summary>
public class TritonFidelityTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private const string Sequence = "simple_sequence";

    private static ModelInferRequest Step(object id, int value, bool start = false, bool end = false, string requestId = "")
    {
        var r = Tensors.Raw(Sequence, TensorDataType.Int32, [1, 1], BitConverter.GetBytes(value), requestId);
        r.Inputs[0].Name = "INPUT";
        r.Parameters["sequence_id"] = id is string s ? new InferParameter { StringParam = s } : new InferParameter { Int64Param = Convert.ToInt64(id, System.Globalization.CultureInfo.InvariantCulture) };
        r.Parameters["sequence_start"] = new InferParameter { BoolParam = start };
        r.Parameters["sequence_end"] = new InferParameter { BoolParam = end };
        return r;
    }

    private static int Output(ModelInferResponse response) => BitConverter.ToInt32(Assert.Single(response.RawOutputContents).Span);

    private async Task<ModelStatistics> SequenceStatisticsAsync(DaemonHarness h)
    {
        using var direct = Grpc.Net.Client.GrpcChannel.ForAddress(h.Simulator.Address);
        var upstream = new GRPCInferenceService.GRPCInferenceServiceClient(direct);
        return (await upstream.ModelStatisticsAsync(new ModelStatisticsRequest { Name = Sequence })).ModelStats.Single();
    }

    [Fact]
    public async Task Concurrent_steps_of_one_sequence_reach_triton_one_at_a_time_unmerged_and_sum_correctly()
    {
        var h = fixture.Harness;
        var before = await SequenceStatisticsAsync(h);
        var record = h.Triton.SequenceRecord(Sequence)!.Value;

        Assert.Equal(1, Output(await h.Client.ModelInferAsync(Step(1000, 1, start: true))));
        int[] values = [.. Enumerable.Range(2, 62)];
        var answers = await Task.WhenAll(values.Select(async v => (Value: v, Sum: Output(await h.Client.ModelInferAsync(Step(1000, v))))));
        int total = 1 + values.Sum();
        Assert.Equal(total + 64, Output(await h.Client.ModelInferAsync(Step(1000, 64, end: true))));

        // Each step saw every step before it exactly once: in the order Triton received them, the running sums
        // grow by that step's own value.
        var ordered = answers.OrderBy(a => a.Sum).ToArray();
        int previous = 1;
        foreach (var (value, sum) in ordered)
        {
            Assert.Equal(previous + value, sum);
            previous = sum;
        }

        Assert.Equal(total, previous);
        var after = await SequenceStatisticsAsync(h);
        Assert.Equal(before.ExecutionCount + 64, after.ExecutionCount);
        Assert.Equal(before.InferenceCount + 64, after.InferenceCount);
        Assert.All(after.BatchStats, b => Assert.Equal(1UL, b.BatchSize));
        var now = h.Triton.SequenceRecord(Sequence)!.Value;
        Assert.Equal(record.Requests + 64, now.Requests);
        Assert.Equal(1, now.MaxConcurrentSteps);
    }

    [Fact]
    public async Task Eight_concurrent_sequences_keep_their_own_state()
    {
        var h = fixture.Harness;
        object[] ids = [2001L, 2002L, 2003L, 2004L, "alpha", "beta", "gamma", "delta"];
        var runs = ids.Select(async (id, n) =>
        {
            int sum = 0;
            for (int step = 0; step < 10; step++)
            {
                int value = (n * 100) + step;
                sum += value;
                var answer = await h.Client.ModelInferAsync(Step(id, value, start: step == 0, end: step == 9));
                Assert.Equal(sum, Output(answer));
            }
        });
        await Task.WhenAll(runs);
    }

    [Fact]
    public async Task Steps_on_a_stream_stay_in_order_and_sequence_errors_are_tritons()
    {
        var h = fixture.Harness;
        using (var call = h.Client.ModelStreamInfer())
        {
            for (int i = 1; i <= 6; i++)
            {
                await call.RequestStream.WriteAsync(Step(3003, i, start: i == 1, end: i == 6, requestId: $"s{i}"));
            }

            await call.RequestStream.CompleteAsync();
            var sums = new List<(string Id, int Sum)>();
            await foreach (var r in call.ResponseStream.ReadAllAsync())
            {
                Assert.Equal("", r.ErrorMessage);
                sums.Add((r.InferResponse.Id, Output(r.InferResponse)));
            }

            Assert.Equal([("s1", 1), ("s2", 3), ("s3", 6), ("s4", 10), ("s5", 15), ("s6", 21)], sums);
        }

        var orphan = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(Step(4242, 5)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, orphan.StatusCode);
        Assert.Equal("inference request for sequence 4242 to model 'simple_sequence' must specify the START flag on the first request of the sequence",
            orphan.Status.Detail);

        var wide = Step(4243, 1, start: true);
        wide.Inputs[0].Shape[0] = 2;
        wide.RawInputContents[0] = ByteString.CopyFrom(new byte[8]);
        var batch = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(wide).ResponseAsync);
        Assert.Equal("inference request to model 'simple_sequence' must specify batch-size 1 due to requirements of sequence batcher", batch.Status.Detail);
    }

    [Fact]
    public async Task The_effective_config_of_a_sequence_model_is_tritons_sequence_batching()
    {
        var config = (await fixture.Harness.Client.ModelConfigAsync(new ModelConfigRequest { Name = Sequence })).Config;
        Assert.NotNull(config.SequenceBatching);
        Assert.Null(config.DynamicBatching);
    }

    [Fact]
    public async Task A_200_mib_request_is_accepted_and_answered_whole()
    {
        const int size = 200 << 20;
        var raw = new byte[size];
        raw[0] = 1;
        raw[size - 1] = 254;
        var response = await fixture.Harness.Client.ModelInferAsync(Tensors.Raw("echo_uint8", TensorDataType.UInt8, [1, size], raw));
        var output = Assert.Single(response.RawOutputContents);
        Assert.Equal(size, output.Length);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.UInt8, raw.AsSpan(0, 4).ToArray()), output.Span[..4].ToArray());
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.UInt8, [254])[0], output.Span[size - 1]);
    }
}

/// <summary>System shared memory through the daemon with client shared memory allowed: the daemon keeps the regions,
/// reads the inputs and writes the outputs, and batches shared-memory requests like raw ones. The simulated Triton
/// behind it has client shared memory off, so a request that reached it with shared-memory parameters would fail.</summary>
public sealed class DaemonSharedMemoryTests : IAsyncLifetime
{
    private readonly string _key = "dp-daemon-" + Guid.NewGuid().ToString("N");
    private DaemonHarness _h = null!;

    public async Task InitializeAsync()
    {
        using (var f = File.Create(Path.Combine("/dev/shm", _key)))
        {
            f.SetLength(4096);
        }

        _h = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["SharedMemory:AllowClient"] = "true",
            ["Batching:Models:echo_int32:Policy"] = "fixed",
            ["Batching:Models:echo_int32:MaxQueueDelayMs"] = "200",
        });
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        File.Delete(Path.Combine("/dev/shm", _key));
    }

    private static ModelInferRequest InShm(int slot, bool outputToo)
    {
        var r = new ModelInferRequest { ModelName = "echo_int32", Id = $"r{slot}" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT32", Shape = { 1, 4 } };
        input.Parameters["shared_memory_region"] = new InferParameter { StringParam = "in" };
        input.Parameters["shared_memory_offset"] = new InferParameter { Int64Param = slot * 16 };
        input.Parameters["shared_memory_byte_size"] = new InferParameter { Int64Param = 16 };
        r.Inputs.Add(input);
        if (outputToo)
        {
            var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" };
            output.Parameters["shared_memory_region"] = new InferParameter { StringParam = "out" };
            output.Parameters["shared_memory_offset"] = new InferParameter { Int64Param = slot * 16 };
            output.Parameters["shared_memory_byte_size"] = new InferParameter { Int64Param = 16 };
            r.Outputs.Add(output);
        }

        return r;
    }

    [Fact]
    public async Task Shared_memory_inputs_and_outputs_give_the_bytes_of_raw_ones_and_are_batched()
    {
        var c = _h.Client;
        var inputs = new byte[64];
        new Random(5).NextBytes(inputs);
        await File.WriteAllBytesAsync(Path.Combine("/dev/shm", _key), [.. inputs, .. new byte[4096 - 64]]);
        await c.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = "in", Key = "/" + _key, Offset = 0, ByteSize = 64 });
        await c.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = "out", Key = "/" + _key, Offset = 1024, ByteSize = 64 });
        var status = await c.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest());
        Assert.Equal(["in", "out"], status.Regions.Keys.Order());
        Assert.Equal(1024UL, status.Regions["out"].Offset);

        var before = (await c.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" })).ModelStats.Single();
        // Two answered in raw, two written into the output region; one batch.
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i => await c.ModelInferAsync(InShm(i, outputToo: i >= 2))));
        for (int i = 0; i < 4; i++)
        {
            byte[] expected = SimulatedTransform.Apply(TensorDataType.Int32, inputs[(i * 16)..((i + 1) * 16)]);
            var output = Assert.Single(answers[i].Outputs);
            Assert.Equal([1L, 4], output.Shape);
            if (i < 2)
            {
                Assert.Equal(expected, answers[i].RawOutputContents[0].ToByteArray());
            }
            else
            {
                // As Triton: the output's bytes are in the region, its raw entry is empty and it has no parameters.
                Assert.Empty(answers[i].RawOutputContents[0]);
                Assert.Empty(output.Parameters);
                var region = (await File.ReadAllBytesAsync(Path.Combine("/dev/shm", _key)))[(1024 + (i * 16))..(1024 + ((i + 1) * 16))];
                Assert.Equal(expected, region);
            }
        }

        var after = (await c.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" })).ModelStats.Single();
        Assert.Contains(after.BatchStats, b => b.BatchSize >= 2 && b.ComputeInfer.Count > (before.BatchStats.FirstOrDefault(x => x.BatchSize == b.BatchSize)?.ComputeInfer.Count ?? 0));

        var tooSmall = InShm(0, outputToo: true);
        tooSmall.Outputs[0].Parameters["shared_memory_byte_size"] = new InferParameter { Int64Param = 8 };
        var e = await Assert.ThrowsAsync<RpcException>(() => c.ModelInferAsync(tooSmall).ResponseAsync);
        Assert.Equal(StatusCode.Internal, e.StatusCode);
        Assert.Equal("shared memory size specified with the request for output 'OUTPUT0' (8 bytes) should be at least 16 bytes to hold the results", e.Status.Detail);

        await c.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest());
        Assert.Empty((await c.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions);
        var gone = await Assert.ThrowsAsync<RpcException>(() => c.ModelInferAsync(InShm(0, outputToo: false)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.Equal("Unable to find shared memory region: 'in'", gone.Status.Detail);
    }
}

/// <summary>Explicit model control through the daemon: load and unload are forwarded, and the daemon follows at once.</summary>
public sealed class DaemonModelControlTests : IAsyncLifetime
{
    private DaemonHarness _h = null!;

    public async Task InitializeAsync() => _h = await DaemonHarness.StartAsync(simulation: SimulationOptions.Default with
    {
        ModelControl = SimulatedModelControl.Explicit,
        LoadModels = [SimulationOptions.AllModels],
    });

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Unload_retires_the_models_batcher_and_load_serves_it_again()
    {
        var c = _h.Client;
        Assert.Single((await c.ModelInferAsync(Tensors.Simple(1, 1))).Outputs);

        await c.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "simple" });
        Assert.False((await c.ModelReadyAsync(new ModelReadyRequest { Name = "simple" })).Ready);
        var e = await Assert.ThrowsAsync<RpcException>(() => c.ModelInferAsync(Tensors.Simple(1, 2)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("Request for unknown model: 'simple' has no available versions", e.Status.Detail);
        var index = await c.RepositoryIndexAsync(new RepositoryIndexRequest());
        var entry = index.Models.Single(m => m.Name == "simple");
        Assert.Equal("UNAVAILABLE", entry.State);
        Assert.Equal("unloaded", entry.Reason);

        await c.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "simple" });
        Assert.True((await c.ModelReadyAsync(new ModelReadyRequest { Name = "simple" })).Ready);
        Assert.Single((await c.ModelInferAsync(Tensors.Simple(1, 3))).Outputs);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => c.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "resnet" }).ResponseAsync);
        Assert.Equal(StatusCode.Internal, unknown.StatusCode);
        Assert.Equal("failed to load 'resnet', failed to poll from model repository", unknown.Status.Detail);
    }
}
