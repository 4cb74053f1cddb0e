using System.Net;
using System.Net.Http.Headers;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Serving;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>gRPC calls to what the daemon does not serve are UNIMPLEMENTED (the answer Grpc.AspNetCore's catch-all
/// endpoints gave, now from middleware after routing); other requests to unknown paths stay 404; served calls are
/// unaffected.</summary>
public class UnimplementedTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private DaemonHarness H => fixture.Harness;

    [Theory]
    [InlineData("inference.GRPCInferenceService", "NoSuchMethod", GrpcUnimplemented.MethodMessage)]
    [InlineData("grpc.health.v1.Health", "Watch2", GrpcUnimplemented.MethodMessage)]
    [InlineData("inference.NoSuchService", "ModelInfer", GrpcUnimplemented.ServiceMessage)]
    public async Task An_unknown_method_or_service_is_unimplemented(string service, string method, string message)
    {
        var call = new Method<byte[], byte[]>(MethodType.Unary, service, method, Bytes, Bytes);
        var e = await Assert.ThrowsAsync<RpcException>(() => H.Channel.CreateCallInvoker().AsyncUnaryCall(call, null, default, []).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
        Assert.Equal(message, e.Status.Detail);
        // The daemon still serves the methods it has after answering the unknown ones.
        Assert.True((await H.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
    }

    [Fact]
    public async Task A_request_that_is_not_grpc_to_an_unknown_path_of_the_grpc_listener_is_not_found()
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(H.Daemon.GrpcAddress, "inference.GRPCInferenceService/NoSuchMethod"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task The_http_listener_answers_every_path_with_tritons_routing()
    {
        // The KServe HTTP front end runs ahead of routing on its listener: a gRPC-looking path is Triton's HTTP answer
        // there, not a gRPC status.
        using var response = await H.Http.PostAsync("inference.GRPCInferenceService/ModelInfer", new ByteArrayContent([]));

        Assert.False(response.Headers.Contains("grpc-status"));
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync());
        Assert.True((await H.Http.GetAsync("v2/health/live")).IsSuccessStatusCode);
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("Application/GRPC", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Grpc_content_types_are_recognised(string? contentType, bool grpc) =>
        Assert.Equal(grpc, GrpcUnimplemented.IsGrpc(contentType));
}
