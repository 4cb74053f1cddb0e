using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using DataPlane.Protocol.Inference;
using Grpc.Net.Client;

namespace DataPlane.EndToEnd.Tests;

/// <summary>Finding 3 against the published NativeAOT binaries: each started under a small descriptor limit
/// (<c>ulimit -n</c>, soft and hard) and no configured caps, so the caps come from getrlimit. A flood of more
/// connections than the whole limit (from this process, whose own limit the .NET runtime raised to the hard one) holds a data listener at its derived cap; the rest are closed at once and counted,
/// and the process keeps its descriptors: the admin listener answers, an already-connected client is served, and
/// the flood's places come back when it goes.</summary>
public partial class ConnectionLimitProcessTests
{
    /// <summary>Nothing may idle out on a slow machine: the client connected before the flood must stay connected.</summary>
    private const string IdleLonger = "--Listen:Limits:IdleTimeoutSeconds=600";

    private static readonly byte[] Http2Preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    [Fact]
    public async Task Aot_daemon_under_a_512_descriptor_limit_survives_a_flood_of_600_h2c_connections()
    {
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        using var daemon = Limited(512, Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}",
            "--http", "127.0.0.1:0", IdleLonger);
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(60));
        // 512 descriptors: 256 + 512/16 headroom, 16 for admin, and 60% of the 208 left for gRPC.
        Assert.Contains("Connection limits (descriptor limit 512, 288 kept for files and outgoing connections): admin 16, grpc 124, http 62, transfer 20",
            daemon.Output);

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpc}");
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var flood = await FloodAsync(grpc, 600, Http2Preface);
        try
        {
            await WaitForMetricAsync(http, admin, "dataplane_connections_open{listener=\"grpc\"}", v => v == 124, "the gRPC listener at its cap");
            await WaitForMetricAsync(http, admin, "dataplane_connections_refused_total{listener=\"grpc\"}", v => v >= 600 - 123,
                "the connections over the cap refused");
            Assert.False(daemon.HasExited, daemon.Output);

            // The connected client gets a real inference; the operator's listener answers.
            var reply = await client.ModelInferAsync(Simple(), deadline: DateTime.UtcNow.AddSeconds(20));
            Assert.Equal(2, reply.Outputs[0].Shape[0]);
            Assert.Equal("ok\n", await http.GetStringAsync($"http://127.0.0.1:{admin}/healthz"));
            Assert.Contains("Listener grpc is at its limit of 124 connections", daemon.Output);
        }
        finally
        {
            Close(flood);
        }

        await WaitForMetricAsync(http, admin, "dataplane_connections_open{listener=\"grpc\"}", v => v == 1, "the flood's places released");
        using var after = GrpcChannel.ForAddress($"http://127.0.0.1:{grpc}");
        Assert.True((await new GRPCInferenceService.GRPCInferenceServiceClient(after).ServerLiveAsync(new ServerLiveRequest())).Live);

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Aot_agent_under_a_640_descriptor_limit_survives_a_flood_of_700_connections()
    {
        int api = Binaries.FreePort(), admin = Binaries.FreePort();
        using var agent = Limited(640, Binaries.Agent, "serve", "--api", $"127.0.0.1:{api}", "--admin", $"127.0.0.1:{admin}",
            "--Local:Simulation:TimeToFirstTokenMs=10", "--Local:Simulation:TokensPerSecond=1000", IdleLonger);
        await agent.WaitForHttpAsync($"http://127.0.0.1:{admin}/healthz", TimeSpan.FromSeconds(60));
        // 640 descriptors: 512 + 640/16 headroom, 16 for admin, the 72 left for the API.
        Assert.Contains("Connection limits (descriptor limit 640, 552 kept for files and outgoing connections): admin 16, api 72", agent.Output);

        // One keep-alive connection, established before the flood.
        using var established = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        await ChatAsync(established, api);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var flood = await FloodAsync(api, 700, null);
        try
        {
            await WaitForMetricAsync(http, admin, "dataplane_agent_connections_open{listener=\"api\"}", v => v == 72, "the API listener at its cap");
            await WaitForMetricAsync(http, admin, "dataplane_agent_connections_refused_total{listener=\"api\"}", v => v >= 700 - 71,
                "the connections over the cap refused");
            Assert.False(agent.HasExited, agent.Output);
            await ChatAsync(established, api);
            Assert.Equal("ok\n", await http.GetStringAsync($"http://127.0.0.1:{admin}/healthz"));
        }
        finally
        {
            Close(flood);
        }

        await WaitForMetricAsync(http, admin, "dataplane_agent_connections_open{listener=\"api\"}", v => v == 1, "the flood's places released");
        agent.Terminate();
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>Starts <paramref name="binary"/> with RLIMIT_NOFILE set to <paramref name="limit"/> (soft and hard, so the
    /// runtime cannot raise it).</summary>
    private static ChildProcess Limited(int limit, string binary, params string[] args) =>
        new("/bin/sh", ["-c", $"ulimit -n {limit} && exec \"$0\" \"$@\"", binary, .. args]);

    /// <summary>Opens <paramref name="count"/> connections to a loopback port, each sending <paramref name="first"/>.</summary>
    private static async Task<List<Socket>> FloodAsync(int port, int count, byte[]? first)
    {
        var sockets = new List<Socket>(count);
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        for (int i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            sockets.Add(socket);
            try
            {
                await socket.ConnectAsync(endPoint);
                if (first != null)
                {
                    await socket.SendAsync(first, SocketFlags.None);
                }
            }
            catch (SocketException)
            {
                // Refused ones may be reset before the preface is written; they still count on the server.
            }
        }

        return sockets;
    }

    private static void Close(List<Socket> sockets)
    {
        foreach (var s in sockets)
        {
            s.Dispose();
        }
    }

    private static async Task ChatAsync(HttpClient client, int port)
    {
        using var response = await client.PostAsync($"http://127.0.0.1:{port}/v1/chat/completions", new StringContent(
            """{"model":"local-small","messages":[{"role":"user","content":"hello"}],"max_tokens":2}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Two rows for the embedded simulation's <c>simple</c> model (INPUT0 FP32 [16]).</summary>
    private static ModelInferRequest Simple() => new()
    {
        ModelName = "simple",
        Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "FP32", Shape = { 2, 16 } } },
        RawInputContents = { Google.Protobuf.ByteString.CopyFrom(new byte[2 * 16 * 4]) },
    };

    /// <summary>Polls /metrics until the sample <paramref name="series"/> satisfies <paramref name="condition"/>.</summary>
    private static async Task WaitForMetricAsync(HttpClient http, int admin, string series, Func<double, bool> condition, string what)
    {
        await Eventually.SatisfiedAsync(async () =>
        {
            string text = await http.GetStringAsync($"http://127.0.0.1:{admin}/metrics");
            var match = Regex.Match(text, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
            if (!match.Success)
            {
                return $"{series} is absent";
            }

            double value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return condition(value) ? null : $"{series} is {value.ToString(CultureInfo.InvariantCulture)}";
        }, TimeSpan.FromSeconds(30), what, interval: TimeSpan.FromMilliseconds(50));
    }
}
