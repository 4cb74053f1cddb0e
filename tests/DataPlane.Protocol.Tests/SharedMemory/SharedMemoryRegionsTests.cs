using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Protocol.Tests.SharedMemory;

/// <summary>Regions over real POSIX shared-memory objects in /dev/shm, with Triton's checks and texts.</summary>
public sealed class SharedMemoryRegionsTests : IDisposable
{
    private readonly string _key = "dp-test-" + Guid.NewGuid().ToString("N");
    private readonly SharedMemoryRegions _regions = new();

    public SharedMemoryRegionsTests()
    {
        using var f = File.Create(Path.Combine("/dev/shm", _key));
        f.SetLength(64);
    }

    public void Dispose()
    {
        _regions.Dispose();
        File.Delete(Path.Combine("/dev/shm", _key));
    }

    [Fact]
    public void Register_status_and_unregister_follow_triton()
    {
        _regions.Register("in", "/" + _key, 0, 32);
        _regions.Register("out", _key, 32, 32);
        var all = _regions.Status("");
        Assert.Equal(2, all.Regions.Count);
        Assert.Equal(32UL, all.Regions["out"].Offset);
        Assert.Equal("/" + _key, all.Regions["in"].Key);

        var e = Assert.Throws<RpcException>(() => _regions.Register("in", _key, 0, 8));
        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Equal("shared memory region 'in' already in manager", e.Status.Detail);

        e = Assert.Throws<RpcException>(() => _regions.Status("nope"));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("Unable to find system shared memory region: 'nope'", e.Status.Detail);

        _regions.Unregister("nope"); // unknown: silent success
        _regions.Unregister("in");
        Assert.Single(_regions.Status("").Regions);
        _regions.Unregister("");
        Assert.Empty(_regions.Status("").Regions);
    }

    [Theory]
    [InlineData("///", 0UL, 8UL, StatusCode.InvalidArgument, "cannot register shared memory region 'r' - invalid shm key '///'")]
    [InlineData("/no-such-object-here", 0UL, 8UL, StatusCode.Internal, "Unable to open shared memory region: '/no-such-object-here'")]
    [InlineData("/../etc/passwd", 0UL, 8UL, StatusCode.Internal, "Unable to open shared memory region: '/../etc/passwd'")]
    [InlineData("..", 0UL, 8UL, StatusCode.Internal, "Unable to open shared memory region: '..'")]
    [InlineData("/triton_python_backend_shm_region_1", 0UL, 8UL, StatusCode.InvalidArgument,
        "cannot register shared memory region 'r' with key '/triton_python_backend_shm_region_1' as the key contains the reserved prefix 'triton_python_backend_shm_region_'")]
    public void Bad_keys_are_refused_with_tritons_codes(string key, ulong offset, ulong size, StatusCode code, string message)
    {
        var e = Assert.Throws<RpcException>(() => _regions.Register("r", key, offset, size));
        Assert.Equal(code, e.StatusCode);
        Assert.Equal(message, e.Status.Detail);
        Assert.Equal(0, _regions.Count);
    }

    [Theory]
    [InlineData(0UL, 65UL)]
    [InlineData(60UL, 8UL)]
    [InlineData(65UL, 1UL)]
    public void A_window_outside_the_object_is_invalid(ulong offset, ulong size)
    {
        var e = Assert.Throws<RpcException>(() => _regions.Register("r", _key, offset, size));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("failed to register shared memory region 'r': invalid args", e.Status.Detail);
    }

    [Fact]
    public void Inputs_are_read_and_outputs_written_with_window_checks()
    {
        File.WriteAllBytes(Path.Combine("/dev/shm", _key), Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());
        _regions.Register("r", _key, 16, 32);
        Assert.Null(_regions.TryRead(new SharedMemoryLocation("r", 4, 8), 1 << 20, out var bytes));
        Assert.Equal(Enumerable.Range(20, 8).Select(i => (byte)i), bytes);

        Assert.Equal(new RequestError(StatusCode.NotFound, "Unable to find shared memory region: 'x'"),
            _regions.TryRead(new SharedMemoryLocation("x", 0, 4), 1 << 20, out _));
        Assert.Equal(RequestError.Invalid("Invalid offset for shared memory region: 'r'"),
            _regions.TryRead(new SharedMemoryLocation("r", 32, 1), 1 << 20, out _));
        Assert.Equal(RequestError.Invalid("Invalid offset + byte size for shared memory region: 'r'"),
            _regions.TryRead(new SharedMemoryLocation("r", 30, 4), 1 << 20, out _));
        Assert.Contains("more than the limit of 4 bytes", _regions.TryRead(new SharedMemoryLocation("r", 0, 8), 4, out _)!.Value.Message);

        Assert.Null(_regions.TryLease(new SharedMemoryLocation("r", 8, 4), out var lease));
        using (lease)
        {
            Assert.Null(lease!.TryWrite("o", [0xAA, 0xBB, 0xCC]));
            var tooBig = lease.TryWrite("o", new byte[5]);
            Assert.Equal(new RequestError(StatusCode.Internal,
                "shared memory size specified with the request for output 'o' (4 bytes) should be at least 5 bytes to hold the results"), tooBig);
        }

        var file = File.ReadAllBytes(Path.Combine("/dev/shm", _key));
        Assert.Equal(new byte[] { 0xAA, 0xBB, 0xCC, 27 }, file[24..28]);
    }

    [Fact]
    public void A_region_unregistered_while_leased_stays_mapped_until_the_lease_ends()
    {
        _regions.Register("r", _key, 0, 64);
        Assert.Null(_regions.TryLease(new SharedMemoryLocation("r", 0, 8), out var lease));
        _regions.Unregister("r");
        Assert.Equal(StatusCode.NotFound, _regions.TryRead(new SharedMemoryLocation("r", 0, 8), 64, out _)!.Value.Code);
        Assert.Null(lease!.TryWrite("o", [1, 2, 3]));
        lease.Dispose();
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine("/dev/shm", _key))[..3]);
    }

    [Fact]
    public void The_tensor_reader_takes_inputs_from_regions_and_raw_entries_in_triton_order()
    {
        File.WriteAllBytes(Path.Combine("/dev/shm", _key), Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());
        _regions.Register("r", _key, 0, 64);
        var request = new ModelInferRequest { ModelName = "m" };
        var a = new ModelInferRequest.Types.InferInputTensor { Name = "a", Datatype = "UINT8", Shape = { 4 } };
        a.Parameters[SharedMemoryLocation.RegionKey] = new InferParameter { StringParam = "r" };
        a.Parameters[SharedMemoryLocation.OffsetKey] = new InferParameter { Int64Param = 8 };
        a.Parameters[SharedMemoryLocation.ByteSizeKey] = new InferParameter { Int64Param = 4 };
        request.Inputs.Add(a);
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "b", Datatype = "UINT8", Shape = { 2 } });
        request.RawInputContents.Add(ByteString.CopyFrom(7, 9));

        Assert.Null(TensorReader.TryReadInputs(request, TensorLimits.Default, _regions, out var inputs, out bool typed));
        Assert.False(typed);
        Assert.Equal(new byte[] { 8, 9, 10, 11 }, inputs[0].Raw.ToArray());
        Assert.Equal(new byte[] { 7, 9 }, inputs[1].Raw.ToArray());

        a.Contents = new InferTensorContents();
        Assert.Equal("unexpected 'content' provided when using shared memory for input tensor 'a' for model 'm'",
            TensorReader.TryReadInputs(request, TensorLimits.Default, _regions, out _, out _)!.Value.Message);
        a.Contents = null;
        a.Parameters.Remove(SharedMemoryLocation.ByteSizeKey);
        Assert.Equal("'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'a'",
            TensorReader.TryReadInputs(request, TensorLimits.Default, _regions, out _, out _)!.Value.Message);
        a.Parameters[SharedMemoryLocation.ByteSizeKey] = new InferParameter { Int64Param = 3 };
        Assert.StartsWith("[request id: <id_unknown>] input byte size mismatch for input 'a' for model 'm'. Expected 4, got 3",
            TensorReader.TryReadInputs(request, TensorLimits.Default, _regions, out _, out _)!.Value.Message);
        a.Parameters[SharedMemoryLocation.RegionKey] = new InferParameter { Int64Param = 1 };
        Assert.Equal("invalid value type for 'shared_memory_region' parameter for tensor 'a', expected string_param.",
            TensorReader.TryReadInputs(request, TensorLimits.Default, _regions, out _, out _)!.Value.Message);
    }
}
