using System.Net;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;

namespace DataPlane.Host.Tests.Http;

/// <summary>System shared memory through HTTP: registration and status in Triton's JSON, inputs read from a region and
/// outputs written into one, with client shared memory allowed.</summary>
public sealed class HttpSharedMemoryTests : IAsyncLifetime
{
    private readonly string _key = "dataplane-http-" + Guid.NewGuid().ToString("N");
    private DaemonHarness _harness = null!;

    private string File => Path.Combine("/dev/shm", _key);

    private HttpClient Http => _harness.Http;

    public async Task InitializeAsync()
    {
        await System.IO.File.WriteAllBytesAsync(File, new byte[128]);
        _harness = await DaemonHarness.StartAsync(new Dictionary<string, string?> { ["SharedMemory:AllowClient"] = "true" });
    }

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        System.IO.File.Delete(File);
    }

    [Fact]
    public async Task Inputs_and_outputs_go_through_registered_regions()
    {
        await RegisterAsync("in", 0, 64);
        await RegisterAsync("out", 64, 64);
        byte[] raw = Tensors.RandomRaw(new Random(5), TensorDataType.Int32, 4);
        await using (var stream = new FileStream(File, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.Position = 8;
            await stream.WriteAsync(raw);
        }

        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json("""
            {"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,4],
                        "parameters":{"shared_memory_region":"in","shared_memory_offset":8,"shared_memory_byte_size":16}}],
             "outputs":[{"name":"OUTPUT0","parameters":{"shared_memory_region":"out","shared_memory_offset":4,"shared_memory_byte_size":32}}]}
            """));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        var output = Assert.Single(answer.Node["outputs"]!.AsArray())!.AsObject();
        Assert.Equal(["name", "datatype", "shape"], output.Select(p => p.Key));
        Assert.Equal("[1,4]", output["shape"]!.ToJsonString());
        byte[] region = await System.IO.File.ReadAllBytesAsync(File);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int32, raw), region.AsSpan(64 + 4, 16).ToArray());
    }

    [Fact]
    public async Task Status_lists_regions_by_name_and_unregister_removes_them()
    {
        await RegisterAsync("b", 0, 32);
        await RegisterAsync("a", 32, 16);
        var status = await HttpInfer.GetAsync(Http, "/v2/systemsharedmemory/status");
        Assert.Equal(HttpStatusCode.OK, status.Status);
        Assert.Equal($$"""[{"name":"a","key":"/{{_key}}","offset":32,"byte_size":16},{"name":"b","key":"/{{_key}}","offset":0,"byte_size":32}]""", status.Json);

        var one = await HttpInfer.GetAsync(Http, "/v2/systemsharedmemory/region/a/status");
        Assert.Equal($$"""[{"name":"a","key":"/{{_key}}","offset":32,"byte_size":16}]""", one.Json);

        var unregister = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/a/unregister", null);
        Assert.Equal(HttpStatusCode.OK, unregister.Status);
        Assert.Empty(unregister.Body);
        Assert.Equal(HttpStatusCode.NotFound, (await HttpInfer.GetAsync(Http, "/v2/systemsharedmemory/region/a/status")).Status);

        var all = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/unregister", null);
        Assert.Equal(HttpStatusCode.OK, all.Status);
        Assert.Equal("[]", (await HttpInfer.GetAsync(Http, "/v2/systemsharedmemory/status")).Json);
    }

    [Fact]
    public async Task Registration_errors_have_triton_texts()
    {
        await RegisterAsync("dup", 0, 8);
        var duplicate = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/dup/register", $$"""{"key":"/{{_key}}","byte_size":8}""");
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.Status);
        Assert.Equal("shared memory region 'dup' already in manager", duplicate.Error);

        var noKey = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/r/register", """{"byte_size":8}""");
        Assert.Equal(HttpStatusCode.BadRequest, noKey.Status);
        Assert.Equal("Shared memory register request has no 'key' field", noKey.Error);

        var noSize = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/r/register", $$"""{"key":"/{{_key}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, noSize.Status);
        Assert.Equal("Shared memory register request has no 'byte_size' field", noSize.Error);

        var badOffset = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/r/register", $$"""{"key":"/{{_key}}","offset":"0","byte_size":8}""");
        Assert.Equal(HttpStatusCode.InternalServerError, badOffset.Status);
        Assert.Equal("attempt to access JSON non-unsigned-integer as unsigned-integer", badOffset.Error);

        var noRegion = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/register", $$"""{"key":"/{{_key}}","byte_size":8}""");
        Assert.Equal(HttpStatusCode.BadRequest, noRegion.Status);
        Assert.Equal("'region name' is necessary to register system shared memory region", noRegion.Error);

        var empty = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/r/register", null);
        Assert.Equal(HttpStatusCode.InternalServerError, empty.Status);
        Assert.Equal("failed to parse the request JSON buffer: The document is empty. at 0", empty.Error);

        var tooBig = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/r/register", $$"""{"key":"/{{_key}}","byte_size":4096}""");
        Assert.Equal(HttpStatusCode.BadRequest, tooBig.Status);
        Assert.Equal("failed to register shared memory region 'r': invalid args", tooBig.Error);

        var missing = await HttpInfer.PostAsync(Http, "/v2/systemsharedmemory/region/r/register", """{"key":"/no-such-object","byte_size":8}""");
        Assert.Equal(HttpStatusCode.InternalServerError, missing.Status);
        Assert.Equal("Unable to open shared memory region: '/no-such-object'", missing.Error);
    }

    [Fact]
    public async Task Http_shared_memory_byte_size_defaults_to_zero()
    {
        await RegisterAsync("z", 0, 64);
        var input = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,4],"parameters":{"shared_memory_region":"z"}}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, input.Status);
        Assert.StartsWith("[request id: <id_unknown>] input byte size mismatch for input 'INPUT0' for model 'echo_int32'. Expected 16, got 0", input.Error);

        var output = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,4],"data":[1,2,3,4]}],"outputs":[{"name":"OUTPUT0","parameters":{"shared_memory_region":"z"}}]}"""));
        Assert.Equal(HttpStatusCode.InternalServerError, output.Status);
        Assert.Equal("shared memory size specified with the request for output 'OUTPUT0' (0 bytes) should be at least 16 bytes to hold the results", output.Error);
    }

    [Fact]
    public async Task Cuda_registration_checks_its_body_before_the_upstream()
    {
        var noHandle = await HttpInfer.PostAsync(Http, "/v2/cudasharedmemory/region/c/register", """{"device_id":0,"byte_size":8}""");
        Assert.Equal(HttpStatusCode.BadRequest, noHandle.Status);
        Assert.Equal("Shared memory register request has no 'raw_handle' field", noHandle.Error);

        var shortHandle = await HttpInfer.PostAsync(Http, "/v2/cudasharedmemory/region/c/register", """{"raw_handle":{"b64":"AAAA"},"device_id":0,"byte_size":8}""");
        Assert.Equal(HttpStatusCode.BadRequest, shortHandle.Status);
        Assert.Equal("'raw_handle' must be a valid base64 encoded cudaIpcMemHandle_t", shortHandle.Error);

        var noDevice = await HttpInfer.PostAsync(Http, "/v2/cudasharedmemory/region/c/register", """{"raw_handle":{"b64":"AAAA"},"byte_size":8}""");
        Assert.Equal(HttpStatusCode.InternalServerError, noDevice.Status);
        Assert.Equal("attempt to access non-existing object member 'device_id'", noDevice.Error);

        var noRegion = await HttpInfer.PostAsync(Http, "/v2/cudasharedmemory/register", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, noRegion.Status);
        Assert.Equal("'region name' is necessary to register cuda shared memory region", noRegion.Error);
    }

    private async Task RegisterAsync(string region, int offset, int size)
    {
        var answer = await HttpInfer.PostAsync(Http, $"/v2/systemsharedmemory/region/{region}/register",
            $$"""{"key":"/{{_key}}","offset":{{offset}},"byte_size":{{size}}}""");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Empty(answer.Body);
    }
}
