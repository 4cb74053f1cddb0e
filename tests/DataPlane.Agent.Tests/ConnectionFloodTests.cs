using System.Net;
using System.Net.Sockets;

namespace DataPlane.Agent.Tests;

/// <summary>The agent's API listener under a connection flood at its cap (Listen:Limits:MaxConnections:Api): a
/// connection over the cap is closed at once and counted, a client that was already connected keeps getting
/// answers, and the admin listener keeps answering /healthz and /metrics.</summary>
public class ConnectionFloodTests
{
    private const int Cap = 12;

    [Fact]
    public async Task A_flood_at_the_api_cap_leaves_the_admin_listener_and_connected_clients_served()
    {
        await using var h = await HybridHarness.StartAsync(agentSettings: new Dictionary<string, string?>
        {
            ["Listen:Limits:MaxConnections:Api"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Nothing here may idle out on a slow machine: the client connected before the flood must stay connected.
            ["Listen:Limits:IdleTimeoutSeconds"] = "600",
        });
        var api = h.Agent.Connections["api"];
        Assert.Equal(Cap, api.Limit);

        // A client with one keep-alive connection, connected before the flood.
        using var established = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = h.Agent.ApiAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        using (var first = await established.PostAsync("/v1/chat/completions", HybridHarness.Json(HybridHarness.Chat("hello there"))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        Assert.Equal(1, api.Open);
        var endPoint = new IPEndPoint(IPAddress.Loopback, h.Agent.ApiAddress.Port);
        var flood = new List<Socket>();
        try
        {
            for (int i = 1; i < Cap; i++)
            {
                flood.Add(await ConnectAsync(endPoint));
            }

            await Eventually.TrueAsync(() => api.Open == Cap, TimeSpan.FromSeconds(20), $"{Cap} connections held");

            // One more: closed at once, without an answer, and counted.
            var extra = await ConnectAsync(endPoint);
            flood.Add(extra);
            await extra.SendAsync("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None);
            Assert.Equal(0, await ReadToEndAsync(extra, TimeSpan.FromSeconds(10)));
            Assert.Equal(1, api.Refused);

            // The connected client is answered; the admin listener answers too.
            using (var again = await established.PostAsync("/v1/chat/completions", HybridHarness.Json(HybridHarness.Chat("hello again"))))
            {
                Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            }

            Assert.Equal("ok\n", await h.Admin.GetStringAsync("/healthz"));
            string metrics = await h.MetricsAsync();
            Assert.Contains($"dataplane_agent_connections_open{{listener=\"api\"}} {Cap}\n", metrics);
            Assert.Contains($"dataplane_agent_connections_limit{{listener=\"api\"}} {Cap}\n", metrics);
            Assert.Contains("dataplane_agent_connections_refused_total{listener=\"api\"} 1\n", metrics);
            Assert.Contains("dataplane_agent_connections_refused_total{listener=\"admin\"} 0\n", metrics);
            Assert.Matches("dataplane_agent_connections_accepted_total\\{listener=\"api\"\\} 1[2-9]\n", metrics);
            Assert.Matches("process_max_fds [1-9]", metrics);
        }
        finally
        {
            foreach (var s in flood)
            {
                s.Dispose();
            }
        }

        // The flood's places come back.
        await Eventually.TrueAsync(() => api.Open == 1, TimeSpan.FromSeconds(20), "the flood's places released");
        using var response = await h.PostAsync("/v1/chat/completions", HybridHarness.Chat("after the flood"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    /// <summary>Bytes the server sent before closing the connection (reset counts as closed); fails if it stays open.</summary>
    private static async Task<int> ReadToEndAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        int total = 0;
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                total += n;
            }
        }
        catch (SocketException)
        {
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the server kept a connection over the cap open for {timeout}");
        }

        return total;
    }
}
