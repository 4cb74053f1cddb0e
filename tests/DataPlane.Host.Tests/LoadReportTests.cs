using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>The daemon's per-call load report (ORCA text form, <c>endpoint-load-metrics</c>) over real gRPC and HTTP.</summary>
public partial class LoadReportTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private const string Name = "endpoint-load-metrics";

    [GeneratedRegex(@"^TEXT named_metrics\.queue_depth=\d+, named_metrics\.inflight_batches=\d+, named_metrics\.inflight_streams=\d+, named_metrics\.predicted_wait_ms=[0-9.]+$")]
    private static partial Regex Report();

    private GRPCInferenceService.GRPCInferenceServiceClient Client => fixture.Harness.Client;

    [Fact]
    public async Task ModelInfer_answers_carry_the_report_in_their_trailers()
    {
        using var call = Client.ModelInferAsync(Tensors.Simple(1, 1f));
        await call.ResponseAsync;
        Assert.Matches(Report(), call.GetTrailers().GetValue(Name));
    }

    [Fact]
    public async Task A_refused_ModelInfer_still_carries_the_report()
    {
        var request = Tensors.Simple(1, 1f);
        request.Parameters["priority"] = new InferParameter { StringParam = "high" };
        using var call = Client.ModelInferAsync(request);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Matches(Report(), e.Trailers.GetValue(Name));
    }

    [Fact]
    public async Task ModelReady_is_the_probe_and_carries_the_report()
    {
        using var call = Client.ModelReadyAsync(new ModelReadyRequest { Name = "llm" });
        Assert.True((await call.ResponseAsync).Ready);
        Assert.Matches(Report(), call.GetTrailers().GetValue(Name));
    }

    [Fact]
    public async Task An_unknown_model_gets_no_report()
    {
        using var call = Client.ModelReadyAsync(new ModelReadyRequest { Name = "no-such-model" });
        try
        {
            await call.ResponseAsync;
        }
        catch (RpcException)
        {
        }

        Assert.Null(call.GetTrailers().GetValue(Name));
    }

    [Fact]
    public async Task A_stream_ends_with_the_report_of_its_model()
    {
        using var call = Client.ModelStreamInfer();
        var r = new ModelInferRequest { ModelName = "llm", Id = "p" };
        r.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "text_input", Datatype = "BYTES", Shape = { 1 } });
        r.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "max_tokens", Datatype = "INT32", Shape = { 1 } });
        r.RawInputContents.Add(ByteString.CopyFrom(BytesTensor.Encode("load report please")));
        r.RawInputContents.Add(ByteString.CopyFrom(BitConverter.GetBytes(2)));
        await call.RequestStream.WriteAsync(r);
        await call.RequestStream.CompleteAsync();
        int responses = 0;
        await foreach (var _ in call.ResponseStream.ReadAllAsync())
        {
            responses++;
        }

        Assert.Equal(2, responses);
        Assert.Matches(Report(), call.GetTrailers().GetValue(Name));
    }

    [Fact]
    public async Task Http_infer_and_ready_answers_carry_the_report_as_a_header()
    {
        var body = """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}]}""";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var infer = await fixture.Harness.Http.PostAsync("/v2/models/simple/infer", content);
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.Matches(Report(), Assert.Single(infer.Headers.GetValues(Name)));

        using var ready = await fixture.Harness.Http.GetAsync("/v2/models/llm/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Matches(Report(), Assert.Single(ready.Headers.GetValues(Name)));
    }
}
