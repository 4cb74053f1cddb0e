using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>System shared memory with client shared memory allowed: registration, status, unregistration, inputs read
/// from regions and outputs written into them, with Triton's texts; CUDA shared memory as a server without GPUs.</summary>
public sealed class SharedMemoryTests : IAsyncLifetime
{
    private const int Elements = 6;
    private const int Bytes = Elements * 4;

    private readonly SharedMemoryFile _file = new(4 * Bytes);
    private SimulatedTritonServer _server = null!;

    private GRPCInferenceService.GRPCInferenceServiceClient Client => _server.Client;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync(SimulationOptions.Default with { AllowClientShm = true });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _file.Dispose();
    }

    private Task RegisterAsync(string name, ulong offset, ulong byteSize, string? key = null) =>
        Client.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = name, Key = key ?? _file.Key, Offset = offset, ByteSize = byteSize }).ResponseAsync;

    private static void Place(MapField<string, InferParameter> parameters, string region, long byteSize, long? offset = null)
    {
        parameters[SharedMemoryLocation.RegionKey] = new InferParameter { StringParam = region };
        parameters[SharedMemoryLocation.ByteSizeKey] = new InferParameter { Int64Param = byteSize };
        if (offset is { } o)
        {
            parameters[SharedMemoryLocation.OffsetKey] = new InferParameter { Int64Param = o };
        }
    }

    /// <summary>An echo_int32 request of [1, 6] whose input is in region <paramref name="region"/>.</summary>
    private static ModelInferRequest InputInRegion(string region, long byteSize = Bytes, long? offset = null)
    {
        var request = new ModelInferRequest { ModelName = "echo_int32", Id = "shm" };
        var input = Requests.Input("INPUT0", TensorDataType.Int32, [1, Elements]);
        Place(input.Parameters, region, byteSize, offset);
        request.Inputs.Add(input);
        return request;
    }

    private static void OutputInRegion(ModelInferRequest request, string region, long byteSize = Bytes)
    {
        var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" };
        Place(output.Parameters, region, byteSize);
        request.Outputs.Add(output);
    }

    private async Task<string> FailsAsync(StatusCode code, ModelInferRequest request) =>
        (await Requests.FailsWith(code, () => Client.ModelInferAsync(request).ResponseAsync)).Status.Detail;

    [Fact]
    public async Task Regions_register_report_their_status_and_unregister_with_tritons_errors()
    {
        await RegisterAsync("r1", 0, 64);
        await RegisterAsync("r2", 32, 16);

        var all = await Client.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest());
        Assert.Equal(["r1", "r2"], all.Regions.Keys.Order());
        Assert.Equal(new SystemSharedMemoryStatusResponse.Types.RegionStatus { Name = "r2", Key = _file.Key, Offset = 32, ByteSize = 16 }, all.Regions["r2"]);
        Assert.Equal(64ul, (await Client.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest { Name = "r1" })).Regions["r1"].ByteSize);

        var e = await Requests.FailsWith(StatusCode.AlreadyExists, () => RegisterAsync("r1", 0, 8));
        Assert.Equal("shared memory region 'r1' already in manager", e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.Internal, () => RegisterAsync("r3", 0, 8, key: "/dataplane-sim-test-missing"));
        Assert.Equal("Unable to open shared memory region: '/dataplane-sim-test-missing'", e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.InvalidArgument, () => RegisterAsync("r3", 90, 8));
        Assert.Equal("failed to register shared memory region 'r3': invalid args", e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.InvalidArgument, () => RegisterAsync("r3", 0, 8, key: "//"));
        Assert.Equal("cannot register shared memory region 'r3' - invalid shm key '//'", e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.NotFound,
            () => Client.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest { Name = "r3" }).ResponseAsync);
        Assert.Equal("Unable to find system shared memory region: 'r3'", e.Status.Detail);

        // Unknown names unregister silently; an empty name unregisters every region.
        await Client.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = "r3" });
        await Client.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = "r1" });
        Assert.Equal(["r2"], (await Client.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions.Keys);
        await Client.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest());
        Assert.Empty((await Client.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions);
    }

    [Fact]
    public async Task An_input_read_from_a_region_and_an_output_written_into_one_match_the_raw_answer()
    {
        var values = Requests.Sample(TensorDataType.Int32, Elements);
        _file.Write(Bytes, values);
        await RegisterAsync("in", Bytes, Bytes);
        await RegisterAsync("out", 2 * Bytes, 2 * Bytes);
        var request = InputInRegion("in");
        OutputInRegion(request, "out");

        var response = await Client.ModelInferAsync(request);
        var raw = await Client.ModelInferAsync(Requests.Raw("echo_int32", TensorDataType.Int32, [1, Elements], values));

        var output = Assert.Single(response.Outputs);
        Assert.Equal(("OUTPUT0", "INT32"), (output.Name, output.Datatype));
        Assert.Equal([1L, Elements], output.Shape);
        Assert.Empty(output.Parameters);
        Assert.Null(output.Contents);
        Assert.Equal(ByteString.Empty, Assert.Single(response.RawOutputContents));
        Assert.Equal(raw.RawOutputContents[0].ToByteArray(), _file.Read(2 * Bytes, Bytes));
    }

    [Fact]
    public async Task An_input_from_a_region_with_an_output_returned_raw_gets_the_raw_answer()
    {
        var values = Requests.Sample(TensorDataType.Int32, Elements, seed: 3);
        _file.Write(8, values);
        await RegisterAsync("whole", 0, 4 * Bytes);

        var response = await Client.ModelInferAsync(InputInRegion("whole", offset: 8));

        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int32, values), response.RawOutputContents.Single().ToByteArray());
    }

    [Fact]
    public async Task Region_windows_and_parameters_are_checked_with_tritons_texts()
    {
        await RegisterAsync("in", 0, Bytes);

        Assert.Equal("Unable to find shared memory region: 'zz'", await FailsAsync(StatusCode.NotFound, InputInRegion("zz")));
        Assert.Equal("Invalid offset for shared memory region: 'in'", await FailsAsync(StatusCode.InvalidArgument, InputInRegion("in", offset: Bytes)));
        Assert.Equal("Invalid offset + byte size for shared memory region: 'in'",
            await FailsAsync(StatusCode.InvalidArgument, InputInRegion("in", offset: 4)));

        var noSize = InputInRegion("in");
        noSize.Inputs[0].Parameters.Remove(SharedMemoryLocation.ByteSizeKey);
        Assert.Equal("'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'INPUT0'",
            await FailsAsync(StatusCode.InvalidArgument, noSize));

        var withContents = InputInRegion("in");
        withContents.Inputs[0].Contents = new InferTensorContents();
        withContents.Inputs[0].Contents.IntContents.Add(new int[Elements]);
        Assert.Equal("unexpected 'content' provided when using shared memory for input tensor 'INPUT0' for model 'echo_int32'",
            await FailsAsync(StatusCode.InvalidArgument, withContents));

        var unknownOutput = Requests.Raw("echo_int32", TensorDataType.Int32, [1, Elements], new byte[Bytes]);
        OutputInRegion(unknownOutput, "zz");
        Assert.Equal("Unable to find shared memory region: 'zz'", await FailsAsync(StatusCode.NotFound, unknownOutput));
    }

    [Fact]
    public async Task Cuda_shared_memory_answers_as_a_server_without_gpus()
    {
        var e = await Requests.FailsWith(StatusCode.InvalidArgument, () => Client.CudaSharedMemoryRegisterAsync(
            new CudaSharedMemoryRegisterRequest { Name = "c1", RawHandle = ByteString.CopyFrom(new byte[64]), DeviceId = 0, ByteSize = 64 }).ResponseAsync);
        Assert.Equal("failed to register CUDA shared memory region: 'c1', GPUs not supported", e.Status.Detail);

        Assert.Empty((await Client.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest())).Regions);
        e = await Requests.FailsWith(StatusCode.NotFound, () => Client.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest { Name = "c1" }).ResponseAsync);
        Assert.Equal("Unable to find cuda shared memory region: 'c1'", e.Status.Detail);

        await RegisterAsync("sys", 0, 8);
        e = await Requests.FailsWith(StatusCode.NotFound, () => Client.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest { Name = "sys" }).ResponseAsync);
        Assert.Equal("The region named 'sys' is registered as system shared memory, not CUDA shared memory", e.Status.Detail);

        // perf_analyzer unregisters every region of both kinds before and after a run.
        await Client.CudaSharedMemoryUnregisterAsync(new CudaSharedMemoryUnregisterRequest());
        await Client.CudaSharedMemoryUnregisterAsync(new CudaSharedMemoryUnregisterRequest { Name = "c1" });
        await Client.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest());
    }
}

/// <summary>Client shared memory off (Triton's default since 2.68): register and unregister are refused, status answers.</summary>
public class SharedMemoryDisabledTests : IClassFixture<DefaultServerFixture>
{
    private const string Disabled = "Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable.";

    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;

    public SharedMemoryDisabledTests(DefaultServerFixture fixture) => _client = fixture.Client;

    [Fact]
    public async Task Register_and_unregister_are_unimplemented_and_status_is_served()
    {
        using var file = new SharedMemoryFile(64);

        var e = await Requests.FailsWith(StatusCode.Unimplemented, () => _client.SystemSharedMemoryRegisterAsync(
            new SystemSharedMemoryRegisterRequest { Name = "r", Key = file.Key, ByteSize = 64 }).ResponseAsync);
        Assert.Equal(Disabled, e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.Unimplemented, () => _client.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest()).ResponseAsync);
        Assert.Equal(Disabled, e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.Unimplemented, () => _client.CudaSharedMemoryUnregisterAsync(new CudaSharedMemoryUnregisterRequest()).ResponseAsync);
        Assert.Equal(Disabled, e.Status.Detail);

        Assert.Empty((await _client.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions);
        Assert.Empty((await _client.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest())).Regions);

        // A server built without GPUs refuses CUDA registration before looking at the switch.
        e = await Requests.FailsWith(StatusCode.InvalidArgument, () => _client.CudaSharedMemoryRegisterAsync(
            new CudaSharedMemoryRegisterRequest { Name = "c", ByteSize = 8 }).ResponseAsync);
        Assert.Equal("failed to register CUDA shared memory region: 'c', GPUs not supported", e.Status.Detail);
    }

    [Fact]
    public async Task An_input_naming_a_region_finds_none()
    {
        var request = Requests.Raw("echo_int32", TensorDataType.Int32, [1, 1], new byte[4]);
        request.RawInputContents.Clear();
        request.Inputs[0].Parameters[SharedMemoryLocation.RegionKey] = new InferParameter { StringParam = "r" };
        request.Inputs[0].Parameters[SharedMemoryLocation.ByteSizeKey] = new InferParameter { Int64Param = 4 };

        var e = await Requests.FailsWith(StatusCode.NotFound, () => _client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal("Unable to find shared memory region: 'r'", e.Status.Detail);
    }
}
