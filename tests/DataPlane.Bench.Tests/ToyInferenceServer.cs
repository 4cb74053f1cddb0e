using System.Collections.Concurrent;
using System.Net;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DataPlane.Bench.Tests;

/// <summary>A small KServe v2 server on Kestrel, loopback, cleartext HTTP/2, a free port.
/// Models: "toy" (FP32 INPUT0 [-1,16] and BYTES INPUT1 [-1,2], max_batch_size > 0), "fixed"
/// (INT32 IN [2,-1], no batching), "busy" (like toy, but every inference is refused with
/// RESOURCE_EXHAUSTED) and "odd" (an input of a datatype the protocol does not have).</summary>
public sealed class ToyInferenceServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ToyInferenceServer(WebApplication app, ToyInferenceService service, Uri address)
    {
        _app = app;
        Service = service;
        Address = address;
    }

    public ToyInferenceService Service { get; }

    public Uri Address { get; }

    /// <summary>The HTTP/1.1 listener's /metrics: this process's CPU time and managed allocations.</summary>
    public Uri MetricsAddress { get; private init; } = null!;

    public static async Task<ToyInferenceServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
            // HTTP/1.1, as Prometheus scrapes: the process's own counters at /metrics (bench --server-metrics).
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1);
        });
        var service = new ToyInferenceService();
        builder.Services.AddSingleton(service);
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<ToyInferenceService>();
        app.MapGet("/metrics", () => Microsoft.AspNetCore.Http.Results.Text(
            "# TYPE process_cpu_seconds_total counter\n" +
            FormattableString.Invariant($"process_cpu_seconds_total {Environment.CpuUsage.TotalTime.TotalSeconds}\n") +
            "# TYPE dotnet_gc_heap_total_allocated_bytes_total counter\n" +
            FormattableString.Invariant($"dotnet_gc_heap_total_allocated_bytes_total {GC.GetTotalAllocatedBytes()}\n")));
        await app.StartAsync();
        string[] bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        return new ToyInferenceServer(app, service, new Uri(bound[0])) { MetricsAddress = new Uri(new Uri(bound[1]), "/metrics") };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed class ToyInferenceService : GRPCInferenceService.GRPCInferenceServiceBase
{
    private long _infers;
    private long _lives;

    public long Infers => Interlocked.Read(ref _infers);

    public long Lives => Interlocked.Read(ref _lives);

    /// <summary>Shapes of the inputs of accepted requests, "NAME[d0,d1]", for the tests to check.</summary>
    public ConcurrentDictionary<string, int> SeenShapes { get; } = new();

    public static ModelMetadataResponse Metadata(string name)
    {
        var md = new ModelMetadataResponse { Name = name, Platform = "toy", Versions = { "1" } };
        switch (name)
        {
            case "toy" or "busy":
                md.Inputs.Add(Tensor("INPUT0", "FP32", -1, 16));
                md.Inputs.Add(Tensor("INPUT1", "BYTES", -1, 2));
                md.Outputs.Add(Tensor("OUTPUT0", "FP32", -1, 16));
                return md;
            case "odd":
                md.Inputs.Add(Tensor("Q", "FP8", -1, 4));
                return md;
            case "fixed":
                md.Inputs.Add(Tensor("IN", "INT32", 2, -1));
                md.Outputs.Add(Tensor("OUT", "INT32", 2, -1));
                return md;
            default:
                throw new RpcException(new Status(StatusCode.NotFound, $"model '{name}' is not known"));
        }
    }

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref _lives);
        return Task.FromResult(new ServerLiveResponse { Live = true });
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(Metadata(request.Name));

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref _infers);
        var md = Metadata(request.ModelName);
        if (request.ModelName == "busy")
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "queue full"));
        }

        if (request.Inputs.Count != md.Inputs.Count || request.RawInputContents.Count != request.Inputs.Count)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "wrong number of inputs"));
        }

        var response = new ModelInferResponse { ModelName = request.ModelName, Id = request.Id };
        for (int i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            if (!TensorDataTypes.TryParse(input.Datatype, out var type) || input.Datatype != md.Inputs[i].Datatype)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"bad datatype {input.Datatype}"));
            }

            if (TensorShape.TryElementCount(input.Name, input.Shape, 1 << 20, out long count) is { } error)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, error));
            }

            var raw = request.RawInputContents[i];
            string? bad = type == TensorDataType.Bytes
                ? BytesTensor.Validate(input.Name, raw.Span, count, 1024)
                : raw.Length == count * type.ElementSize() ? null : $"{input.Name}: {raw.Length} bytes for {count} elements";
            if (bad is not null)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, bad));
            }

            SeenShapes.AddOrUpdate(input.Name + TensorShape.Format(input.Shape), 1, (_, n) => n + 1);
            if (i == 0)
            {
                response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor
                {
                    Name = md.Outputs[0].Name,
                    Datatype = input.Datatype,
                    Shape = { input.Shape },
                });
                response.RawOutputContents.Add(raw);
            }
        }

        return Task.FromResult(response);
    }

    private static ModelMetadataResponse.Types.TensorMetadata Tensor(string name, string datatype, params long[] shape) =>
        new() { Name = name, Datatype = datatype, Shape = { shape } };
}
