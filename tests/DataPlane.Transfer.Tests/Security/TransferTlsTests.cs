using System.Net;
using System.Net.Sockets;
using System.Text;
using DataPlane.Testing;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Security;
using DataPlane.Transfer.Tcp;
using Prometheus;

namespace DataPlane.Transfer.Tests.Security;

/// <summary>Mutual TLS on the TCP transport, over real loopback sockets: who gets in, who is refused and why, and what
/// a listener on the wire sees (through <see cref="WireTap"/>).</summary>
public sealed class TransferTlsTests : IDisposable
{
    private static readonly byte[] s_secret = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("SECRET-TENSOR-BYTES-", 400)));

    private readonly PeerPki _pki = PeerPki.Create();
    private readonly PeerIdentity _server;
    private readonly PeerIdentity _client;

    public TransferTlsTests()
    {
        _server = _pki.Issue("gpu-a.test");
        _client = _pki.Issue("gpu-b.test");
    }

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task A_peer_with_a_certificate_from_the_ca_is_known_by_its_name_and_its_data_travels_encrypted()
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["gpu-b.test"]), "gpu-a.test");
        await using var tap = new WireTap(server.EndPoint);
        await using var transport = new TcpTransport();
        await using var client = await transport.ConnectAsync(tap.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-a.test")).Within();
        await using var accepted = await server.Accept.Within();

        await Exchange(transport, client, accepted, server);

        Assert.Equal(("gpu-a.test", "gpu-b.test"), (client.PeerName, accepted.PeerName));
        Assert.Equal(ConnectionProtection.Encrypted, client.Protection);
        Assert.Equal(ConnectionProtection.Encrypted, accepted.Protection);
        Assert.True(tap.Bytes > 2 * s_secret.Length, "nothing went through the tap");
        Assert.False(tap.Saw(s_secret.AsSpan(0, 64)), "the payload crossed the wire in clear");
    }

    [Fact]
    public async Task With_encryption_off_on_both_sides_the_handshake_is_authenticated_and_the_data_goes_in_clear()
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, encrypt: false, allowed: ["gpu-b.test"]), "gpu-a.test");
        await using var tap = new WireTap(server.EndPoint);
        await using var transport = new TcpTransport();
        await using var client = await transport.ConnectAsync(tap.EndPoint, ClientSettings(Tls.For(_pki, _client, encrypt: false), "gpu-a.test")).Within();
        await using var accepted = await server.Accept.Within();

        await Exchange(transport, client, accepted, server);

        Assert.Equal(ConnectionProtection.Authenticated, client.Protection);
        Assert.Equal(ConnectionProtection.Authenticated, accepted.Protection);
        Assert.Equal("gpu-b.test", accepted.PeerName);
        Assert.True(tap.Saw(s_secret.AsSpan(0, 64)), "the payload should travel in clear with Encryption=none");
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Data_stays_encrypted_unless_both_sides_turn_encryption_off(bool clientEncrypts, bool serverEncrypts)
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, encrypt: serverEncrypts, allowed: ["gpu-b.test"]), "gpu-a.test");
        await using var tap = new WireTap(server.EndPoint);
        await using var transport = new TcpTransport();
        await using var client = await transport.ConnectAsync(tap.EndPoint, ClientSettings(Tls.For(_pki, _client, encrypt: clientEncrypts), "gpu-a.test")).Within();
        await using var accepted = await server.Accept.Within();

        await Exchange(transport, client, accepted, server);

        Assert.Equal(ConnectionProtection.Encrypted, client.Protection);
        Assert.False(tap.Saw(s_secret.AsSpan(0, 64)));
    }

    [Fact]
    public async Task A_plaintext_peer_is_refused_told_why_and_counted()
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["*"]), "gpu-a.test");
        await using var transport = new TcpTransport();

        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, new ConnectionSettings { LocalName = "gpu-b.test" })).Within();

        Assert.Equal(HandshakeStage.Negotiate, e.Stage);
        Assert.Equal(AuthFailures.Plaintext, e.AuthFailure);
        Assert.Contains("mutual TLS is required", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, await server.AuthFailures(AuthFailures.Plaintext));
        Assert.False(server.Accept.IsCompleted);
        await server.Logger.WaitForAsync(l => l.Contains("(plaintext)", StringComparison.Ordinal)).Within();
    }

    [Fact]
    public async Task Bytes_that_are_neither_tls_nor_the_handshake_are_refused_as_not_tls()
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["*"]), "gpu-a.test");
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(server.EndPoint);

        await raw.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None);

        // Closed without a word (a reset, since the listener left the rest unread).
        await Record.ExceptionAsync(async () => Assert.Equal(0, await raw.ReceiveAsync(new byte[16], SocketFlags.None).Within()));
        await server.Logger.WaitForAsync(l => l.Contains("(not_tls)", StringComparison.Ordinal)).Within();
        Assert.Equal(1, await server.AuthFailures(AuthFailures.NotTls));
    }

    [Fact]
    public async Task A_peer_with_a_certificate_from_another_ca_is_refused()
    {
        var intruder = _pki.Issue("gpu-b.test", foreign: true);
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["gpu-b.test"]), "gpu-a.test");
        await using var transport = new TcpTransport();

        // The intruder trusts our CA (it knows the server), but its own certificate is from elsewhere.
        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, intruder), "gpu-a.test"))).Within();

        Assert.Equal(TransferStatus.HandshakeFailed, e.Status);
        Assert.Equal(1, await server.AuthFailures(AuthFailures.UntrustedCertificate));
        Assert.False(server.Accept.IsCompleted);
    }

    [Fact]
    public async Task A_peer_without_a_certificate_is_refused()
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["*"]), "gpu-a.test");
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(server.EndPoint);
        await using var tls = new System.Net.Security.SslStream(new NetworkStream(raw), leaveInnerStreamOpen: false);

        await Record.ExceptionAsync(async () =>
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "gpu-a.test",
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            await tls.WriteAsync(new byte[8]);
            _ = await tls.ReadAsync(new byte[8]);
        }).Within();

        Assert.Equal(1, await server.AuthFailures(AuthFailures.NoCertificate));
    }

    [Fact]
    public async Task A_valid_certificate_with_a_name_that_is_not_allowed_is_refused_inside_tls()
    {
        var other = _pki.Issue("gpu-c.test");
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["gpu-b.test"]), "gpu-a.test");
        await using var transport = new TcpTransport();

        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, other), "gpu-a.test", "gpu-c.test"))).Within();

        Assert.Equal(HandshakeStage.Negotiate, e.Stage);
        Assert.Contains("not authorized", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, await server.AuthFailures(AuthFailures.PeerNotAllowed));
        var line = await server.Logger.WaitForAsync(l => l.Contains("(peer_not_allowed)", StringComparison.Ordinal)).Within();
        Assert.Contains("gpu-c.test", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_that_claims_a_node_name_its_certificate_does_not_carry_is_refused()
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["gpu-b.test", "gpu-c.test"]), "gpu-a.test");
        await using var transport = new TcpTransport();

        // gpu-b's certificate, pretending to be gpu-c (which is allowed).
        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-a.test", "gpu-c.test"))).Within();

        Assert.Equal(HandshakeStage.Negotiate, e.Stage);
        Assert.Equal(1, await server.AuthFailures(AuthFailures.NameMismatch));
    }

    [Fact]
    public async Task A_listener_whose_certificate_does_not_name_the_expected_peer_is_refused_by_the_connecting_side()
    {
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["*"]), "gpu-a.test");
        var registry = Metrics.NewCustomRegistry();
        await using var transport = new TcpTransport(metrics: new TransferMetrics(registry));

        // The address is gpu-a's; the configuration expected gpu-z there.
        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-z.test"))).Within();

        Assert.Equal(HandshakeStage.Tls, e.Stage);
        Assert.Equal(AuthFailures.NameMismatch, e.AuthFailure);
        Assert.Contains("gpu-a.test", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_auth_failures_total", ("direction", "out"), ("reason", "name_mismatch")));
    }

    [Fact]
    public async Task A_connecting_side_refuses_a_listener_from_another_ca()
    {
        var impostor = _pki.Issue("gpu-a.test", foreign: true);
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, impostor, allowed: ["*"]), "gpu-a.test");
        await using var transport = new TcpTransport();

        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-a.test"))).Within();

        Assert.Equal(AuthFailures.UntrustedCertificate, e.AuthFailure);
    }

    [Fact]
    public async Task A_revoked_certificate_is_refused_though_it_chains_to_the_ca()
    {
        string revoked = _client.Certificate.SerialNumber;
        var security = new TransferSecurity(() => _server.Certificate, () => _pki.Ca)
        {
            AllowedPeers = PeerAllowList.Any,
            IsRevoked = c => c.SerialNumber == revoked,
        };
        await using var server = await SecureServer.StartAsync(security, "gpu-a.test");
        await using var transport = new TcpTransport();
        var fresh = _pki.Issue("gpu-b.test"); // re-issued after the revocation: a new serial

        await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-a.test"))).Within();
        await using var client = await transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, fresh), "gpu-a.test")).Within();

        Assert.Equal(1, await server.AuthFailures(AuthFailures.Revoked));
        Assert.Equal("gpu-b.test", (await server.Accept.Within()).PeerName);
    }

    [Fact]
    public async Task The_connection_cap_holds_established_connections_and_a_closed_one_gives_its_place_back()
    {
        var cap = new OnePlace();
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["gpu-b.test"]), "gpu-a.test", admit: cap.TryTake);
        await using var transport = new TcpTransport();

        var first = await transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-a.test")).Within();
        var accepted = await server.Accept.Within();
        Assert.Equal("gpu-b.test", accepted.PeerName);

        // Established, the first connection still holds the only place: the next is closed before TLS.
        await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-a.test"))).Within();
        Assert.Equal(1, cap.Refused);
        Assert.Contains(server.Logger.Lines, l => l.Contains("connection_limit", StringComparison.Ordinal));

        var released = cap.Released;
        await first.DisposeAsync();
        await accepted.DisposeAsync();
        await released.Within();

        var next = server.Listener.AcceptAsync().AsTask();
        await using var again = await transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, _client), "gpu-a.test")).Within();
        await using var acceptedAgain = await next.Within();
        Assert.Equal("gpu-b.test", acceptedAgain.PeerName);
    }

    [Fact]
    public async Task Uri_identities_are_names_too()
    {
        var uriServer = _pki.Issue("gpu-u", uri: "spiffe://dataplane.test/gpu/u", dnsName: false);
        var uriClient = _pki.Issue("gpu-v", uri: "spiffe://dataplane.test/gpu/v", dnsName: false);
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, uriServer, allowed: [uriClient.Name]), uriServer.Name);
        await using var transport = new TcpTransport();

        await using var client = await transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, uriClient), uriServer.Name, uriClient.Name)).Within();
        await using var accepted = await server.Accept.Within();

        Assert.Equal(("spiffe://dataplane.test/gpu/u", "spiffe://dataplane.test/gpu/v"), (client.PeerName, accepted.PeerName));
    }

    [Fact]
    public async Task A_certificate_without_client_authentication_use_is_refused_as_a_connecting_peer()
    {
        var serverOnly = _pki.Issue("gpu-b.test", clientAuth: false);
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["gpu-b.test"]), "gpu-a.test");
        await using var transport = new TcpTransport();

        await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, ClientSettings(Tls.For(_pki, serverOnly), "gpu-a.test"))).Within();

        Assert.Equal(1, await server.AuthFailures(AuthFailures.UntrustedCertificate));
    }

    [Fact]
    public async Task Refusals_are_all_counted_but_logged_once_per_address_and_reason_per_interval()
    {
        var clock = new ManualClock();
        await using var server = await SecureServer.StartAsync(Tls.For(_pki, _server, allowed: ["*"]), "gpu-a.test", clock);
        await using var transport = new TcpTransport();
        var plain = new ConnectionSettings { LocalName = "gpu-b.test" };

        for (int i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, plain)).Within();
        }

        clock.Advance(TimeSpan.FromMinutes(1));
        await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(server.EndPoint, plain)).Within();

        Assert.Equal(4, await server.AuthFailures(AuthFailures.Plaintext));
        await server.Logger.WaitForAsync(l => l.Contains("(plaintext)", StringComparison.Ordinal) && l.Contains("[2 more", StringComparison.Ordinal)).Within();
        Assert.Equal(2, server.Logger.Lines.Count(l => l.Contains("(plaintext)", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Connecting_with_tls_needs_the_peer_name()
    {
        await using var transport = new TcpTransport();

        await Assert.ThrowsAsync<ArgumentException>(() => transport.ConnectAsync(new IPEndPoint(IPAddress.Loopback, 1),
            new ConnectionSettings { Security = Tls.For(_pki, _client), LocalName = "gpu-b.test" })).Within();
    }

    private static ConnectionSettings ClientSettings(TransferSecurity security, string expected, string localName = "gpu-b.test") =>
        new() { Security = security, ExpectedPeerName = expected, LocalName = localName };

    /// <summary>A WRITE of the secret into the server's region, a SEND each way, and a READ back.</summary>
    private static async Task Exchange(TcpTransport transport, ITransferConnection client, ITransferConnection accepted, SecureServer server)
    {
        using var local = TestSupport.Region(transport, 64 << 10);
        s_secret.CopyTo(local.Span);
        await client.WriteAsync(local.Slice(0, s_secret.Length), client.PeerRegion!.Value, 0).Within();
        Assert.True(server.Region.Span[..s_secret.Length].SequenceEqual(s_secret));

        await client.SendAsync(s_secret).Within();
        using (var message = await accepted.ReceiveAsync().AsTask().Within())
        {
            Assert.True(message.Payload.Span.SequenceEqual(s_secret));
        }

        // The listener's side speaks first right after its answer too.
        await accepted.SendAsync(s_secret.AsMemory(0, 1000)).Within();
        using (var reply = await client.ReceiveAsync().AsTask().Within())
        {
            Assert.Equal(1000, reply.Payload.Length);
        }

        local.Span.Clear();
        await client.ReadAsync(local.Slice(0, s_secret.Length), client.PeerRegion!.Value, 0).Within();
        Assert.True(local.Span[..s_secret.Length].SequenceEqual(s_secret));
    }

    /// <summary>A connection cap of one place; says when the place is given back.</summary>
    private sealed class OnePlace
    {
        private int _taken;
        private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Refused { get; private set; }

        public Task Released => Volatile.Read(ref _released).Task;

        public IDisposable? TryTake()
        {
            if (Interlocked.CompareExchange(ref _taken, 1, 0) != 0)
            {
                Refused++;
                return null;
            }

            return new Place(this);
        }

        private sealed class Place(OnePlace owner) : IDisposable
        {
            private int _disposed;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    var released = Interlocked.Exchange(ref owner._released, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    Volatile.Write(ref owner._taken, 0);
                    released.TrySetResult();
                }
            }
        }
    }

    /// <summary>A TLS listener on loopback with a region, its metrics and log.</summary>
    private sealed class SecureServer : IAsyncDisposable
    {
        private SecureServer(TcpTransport transport, ITransferListener listener, RegisteredBuffer region, CollectorRegistry registry, RecordingLogger logger)
        {
            Transport = transport;
            Listener = listener;
            Region = region;
            Registry = registry;
            Logger = logger;
            Accept = listener.AcceptAsync().AsTask();
        }

        public TcpTransport Transport { get; }

        public ITransferListener Listener { get; }

        public RegisteredBuffer Region { get; }

        public CollectorRegistry Registry { get; }

        public RecordingLogger Logger { get; }

        public Task<ITransferConnection> Accept { get; }

        public IPEndPoint EndPoint => Listener.LocalEndPoint;

        public static Task<SecureServer> StartAsync(TransferSecurity security, string name, TimeProvider? clock = null, Func<IDisposable?>? admit = null)
        {
            var registry = Metrics.NewCustomRegistry();
            var logger = new RecordingLogger();
            var transport = new TcpTransport(logger, new TransferMetrics(registry), clock);
            var region = TestSupport.Region(transport, 64 << 10);
            var listener = transport.Listen(new IPEndPoint(IPAddress.Loopback, 0),
                new ConnectionSettings { Security = security, LocalName = name, ExposedRegion = region, AdmitConnection = admit });
            return Task.FromResult(new SecureServer(transport, listener, region, registry, logger));
        }

        public Task<double> AuthFailures(string reason) =>
            TestSupport.SampleAsync(Registry, "dataplane_transfer_auth_failures_total", ("direction", "in"), ("reason", reason));

        public async ValueTask DisposeAsync()
        {
            await Listener.DisposeAsync();
            if (Accept.IsCompletedSuccessfully)
            {
                await Accept.Result.DisposeAsync();
            }

            Region.Dispose();
            await Transport.DisposeAsync();
        }
    }
}
