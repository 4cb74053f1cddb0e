using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Grpc.Net.Client;
using static DataPlane.Testing.HybridPrompts;

namespace DataPlane.EndToEnd.Tests;

/// <summary>The whole hybrid path as real NativeAOT processes over loopback and mutual TLS:
/// `dataplane-agent` (embedded simulated Pi runtime) → `dataplane serve` → `dataplane sim`.</summary>
public class HybridProcessTests(GpuSide gpu) : IClassFixture<GpuSide>
{
    [Fact]
    public async Task Local_and_escalated_paths_answer_over_mutual_tls_with_metrics_per_path()
    {
        var agent = await gpu.StartAgentAsync(gpu.GrpcPort, GpuSide.Fast, localTtftMs: 30, localTokensPerSecond: 200);

        var local = await agent.AskAsync(AgentProcess.Chat(Short));
        Assert.Equal(200, local.Status);
        Assert.Equal("local", local.PathHeader);
        Assert.Equal("local", local.Path);
        Assert.Equal(LocalText(Short, 6), local.Text);

        var escalated = await agent.AskAsync(AgentProcess.Chat(Hard, stream: true));
        Assert.Equal("gpu", escalated.PathHeader);
        Assert.Equal("classifier_escalate", escalated.Reason);
        Assert.Equal(GpuText(Hard, 6), escalated.Text);
        Assert.Equal("[DONE]", escalated.Events[^1]);

        var gpuOnly = await agent.AskAsync(AgentProcess.Chat(Short, model: "big-70b"));
        Assert.Equal("gpu", gpuOnly.Path);
        Assert.Equal("gpu_only_model", gpuOnly.Reason);

        string metrics = await agent.MetricsAsync();
        Assert.Contains("dataplane_agent_requests_total{path=\"local\",outcome=\"ok\"} 1\n", metrics);
        Assert.Contains("dataplane_agent_requests_total{path=\"gpu\",outcome=\"ok\"} 2\n", metrics);
        Assert.Contains("dataplane_agent_hop_seconds_count{hop=\"host_triton\"} 2\n", metrics);
        Assert.Contains("dataplane_agent_time_to_first_token_seconds_count{path=\"local\"} 1\n", metrics);
        using var client = X509CertificateLoader.LoadCertificateFromFile(gpu.Pki.ClientCertificate);
        long notAfter = new DateTimeOffset(client.NotAfter.ToUniversalTime()).ToUnixTimeSeconds();
        Assert.Contains($"dataplane_agent_tls_certificate_expiry_timestamp_seconds{{certificate=\"gpu_client\"}} {notAfter}\n", metrics);
    }

    [Fact]
    public async Task Speculative_append_only_and_replace_modes()
    {
        // Append-only, GPU finished (about 40 ms, plus its first connection on a busy machine) before the first local
        // token (3 s): the GPU answers.
        var slowLocal = await gpu.StartAgentAsync(gpu.GrpcPort, GpuSide.Fast, localTtftMs: 3000, localTokensPerSecond: 50);
        var gpuFirst = await slowLocal.AskAsync(AgentProcess.Chat(Short, maxTokens: 4, stream: true), ("X-DataPlane-Mode", "speculative"));
        Assert.Equal("speculative", gpuFirst.PathHeader);
        Assert.Equal("gpu", gpuFirst.AnsweredBy);
        Assert.Equal(GpuText(Short, 4), gpuFirst.Text);
        Assert.False(gpuFirst.Replaced);

        // Append-only, GPU needs 3 s: the local answer streams and the GPU request is cancelled.
        var fastLocal = await gpu.StartAgentAsync(gpu.GrpcPort, GpuSide.Slow, localTtftMs: 50, localTokensPerSecond: 100);
        var localFirst = await fastLocal.AskAsync(AgentProcess.Chat(Short, maxTokens: 4, stream: true), ("X-DataPlane-Mode", "speculative"));
        Assert.Equal("local", localFirst.AnsweredBy);
        Assert.Equal(LocalText(Short, 4), localFirst.Text);
        Assert.False(localFirst.Replaced);
        Assert.Contains("dataplane_agent_cancelled_total{side=\"gpu\"} 1\n", await fastLocal.MetricsAsync());

        // Replace: local tokens stream from 50 ms for 1.6 s; the GPU answer is complete at about 230 ms.
        var replacing = await gpu.StartAgentAsync(gpu.GrpcPort, GpuSide.Mid, localTtftMs: 50, localTokensPerSecond: 5);
        var replaced = await replacing.AskAsync(AgentProcess.Chat(Short, maxTokens: 8, stream: true),
            ("X-DataPlane-Mode", "speculative"), ("X-DataPlane-Replace", "true"));
        Assert.True(replaced.Replaced, replaced.Raw);
        Assert.Contains("event: replace\ndata: {", replaced.Raw);
        Assert.Contains("\"dataplane\":{\"replace\":true,\"path\":\"gpu\"}", replaced.Raw);
        Assert.Equal(GpuText(Short, 8), replaced.Text);
        Assert.Equal("gpu", replaced.AnsweredBy);
    }

    [Fact]
    public async Task A_slow_gpu_is_answered_locally_within_the_latency_budget()
    {
        var agent = await gpu.StartAgentAsync(gpu.GrpcPort, GpuSide.Slow, localTtftMs: 100, localTokensPerSecond: 100);
        var watch = Stopwatch.StartNew();
        var answer = await agent.AskAsync(AgentProcess.Chat(Hard, maxTokens: 3, stream: true), ("X-DataPlane-SLO-Ms", "600"));
        watch.Stop();
        Assert.Equal("local", answer.Path);
        Assert.Equal("hedge", answer.Reason);
        Assert.Equal(LocalText(Hard, 3), answer.Text);
        double ttft = answer.Dataplane!.Value.GetProperty("ttft_ms").GetDouble();
        Assert.True(ttft < 1500, $"first token after {ttft} ms; the GPU needed 3000");
        Assert.True(watch.ElapsedMilliseconds < 2900, $"answered after {watch.ElapsedMilliseconds} ms; it must not wait for the GPU");
        Assert.Contains("dataplane_agent_hedges_total{winner=\"local\"} 1\n", await agent.MetricsAsync());
    }

    [Fact]
    public async Task Gpu_host_down_every_one_of_200_requests_is_answered_degraded()
    {
        var (daemon, port) = await gpu.StartDaemonAsync();
        var agent = await gpu.StartAgentAsync(port, GpuSide.Fast, localTtftMs: 5, localTokensPerSecond: 1000, extra: ["--Breaker:CooldownSeconds=60", "--Local:Simulation:Parallelism=32"]);
        // The GPU path works before the host goes. The first call also opens the TLS connection, which on a busy
        // machine can take longer than the hedge delay (the local answer then wins), so ask until the GPU answers.
        var first = await agent.AskAsync(AgentProcess.Chat(Hard, maxTokens: 2));
        for (int attempt = 1; attempt < 10 && first.Path != "gpu"; attempt++)
        {
            first = await agent.AskAsync(AgentProcess.Chat(Hard, maxTokens: 2));
        }

        Assert.True(first.Path == "gpu", first.Raw);

        daemon.Dispose(); // killed, not drained: the host is gone
        var answers = new List<Answer>();
        for (int i = 0; i < 5; i++)
        {
            answers.Add(await agent.AskAsync(AgentProcess.Chat($"{Hard} ({i})", maxTokens: 2)));
        }

        using var gate = new SemaphoreSlim(32);
        answers.AddRange(await Task.WhenAll(Enumerable.Range(5, 195).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await agent.AskAsync(AgentProcess.Chat($"{Hard} ({i})", maxTokens: 2, stream: i % 2 == 0));
            }
            finally
            {
                gate.Release();
            }
        })));

        Assert.Equal(200, answers.Count);
        Assert.All(answers, a =>
        {
            Assert.Equal(200, a.Status);
            Assert.Equal("degraded", a.PathHeader);
            Assert.Equal("local", a.AnsweredBy);
            Assert.NotEmpty(a.Text);
        });
        string metrics = await agent.MetricsAsync();
        Assert.Contains("dataplane_agent_requests_total{path=\"degraded\",outcome=\"ok\"} 200\n", metrics);
        Assert.Contains("dataplane_agent_gpu_breaker_state 2\n", metrics);
    }

    [Fact]
    public async Task The_host_rejects_clients_without_a_certificate_from_its_ca()
    {
        var address = new Uri($"https://127.0.0.1:{gpu.GrpcPort}");
        using var valid = X509Certificate2.CreateFromPemFile(gpu.Pki.ClientCertificate, gpu.Pki.ClientKey);
        using var foreign = X509Certificate2.CreateFromPemFile(gpu.Pki.ForeignCertificate, gpu.Pki.ForeignKey);

        using (var trusted = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = gpu.Handler(X509CertificateLoader.LoadPkcs12(valid.Export(X509ContentType.Pkcs12), null)) }))
        {
            Assert.True((await new GRPCInferenceService.GRPCInferenceServiceClient(trusted).ServerLiveAsync(new ServerLiveRequest())).Live);
        }

        foreach (var client in new[] { null, X509CertificateLoader.LoadPkcs12(foreign.Export(X509ContentType.Pkcs12), null) })
        {
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = gpu.Handler(client) });
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ServerLiveAsync(new ServerLiveRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
            TlsRefusal.AssertRefused(e);
        }

        // An agent holding a foreign certificate never reaches the pool: its escalations degrade to local answers —
        // after a failed GPU call, at once when its readiness probe has already marked the pool unavailable, or from the
        // local hedge when a busy machine makes the refused handshake slower than the hedge delay.
        var intruder = await gpu.StartAgentAsync(gpu.GrpcPort, GpuSide.Fast, localTtftMs: 10, localTokensPerSecond: 500, certificate: "foreign");
        var answer = await intruder.AskAsync(AgentProcess.Chat(Hard));
        Assert.Contains((answer.Path, answer.Reason), new[] { ("degraded", "gpu_failed"), ("local", "gpu_unavailable"), ("local", "hedge") });
        Assert.Equal("local", answer.AnsweredBy);
    }

    [Fact]
    public async Task Malformed_and_broken_requests_get_errors_and_the_agent_keeps_serving()
    {
        var agent = await gpu.StartAgentAsync(gpu.GrpcPort, GpuSide.Fast, localTtftMs: 10, localTokensPerSecond: 500);
        (string Body, int Status, string Message)[] cases =
        [
            ("{\"model\": ", 400, "request body is not valid JSON"),
            ("""{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""", 404, "The model 'gpt-9' does not exist"),
            ("""{"model":"local-small","messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}""", 400, "max_tokens"),
            ("{\"model\":\"local-small\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 2 << 20) + "\"}]}", 413, "larger than the limit"),
        ];
        foreach (var (body, status, message) in cases)
        {
            using var response = await agent.Api.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(status, (int)response.StatusCode);
            using var error = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Contains(message, error.RootElement.GetProperty("error").GetProperty("message").GetString());
        }

        // A client that promises a body and hangs up halfway, and one that sends garbage instead of HTTP.
        foreach (string raw in new[]
        {
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"model\":\"local",
            "\u0016\u0003\u0001 not http at all\r\n\r\n",
        })
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync("127.0.0.1", agent.ApiPort);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(raw));
            socket.Client.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            try
            {
                while (await stream.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (IOException)
            {
                // the agent may reset the connection
            }
        }

        var ok = await agent.AskAsync(AgentProcess.Chat(Short));
        Assert.Equal(200, ok.Status);
        Assert.Equal("local", ok.Path);
        Assert.False(agent.Process.HasExited);
    }
}
