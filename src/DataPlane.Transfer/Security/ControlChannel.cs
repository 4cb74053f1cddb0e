using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Handshake;

namespace DataPlane.Transfer.Security;

/// <summary>The control connection of a transfer connection while it is set up: the socket, and the stream the
/// handshake messages travel on — the mutual TLS session when <see cref="ConnectionSettings.Security"/> is set, the
/// socket itself otherwise. After the handshake, <see cref="OpenData"/> gives the stream data travels on. Whoever ends
/// up owning the connection disposes the channel (never the socket: that is the connection's).</summary>
internal sealed class ControlChannel : IDisposable
{
    /// <summary>The first byte of a TLS handshake record (a ClientHello).</summary>
    private const byte TlsHandshakeRecord = 0x16;

    private readonly NetworkStream _network;
    private readonly TlsRecordStream? _records;
    private readonly SslStream? _tls;

    private ControlChannel(Socket socket, NetworkStream network, TlsRecordStream? records, SslStream? tls, IReadOnlyList<string> identities)
    {
        Socket = socket;
        _network = network;
        _records = records;
        _tls = tls;
        PeerIdentities = identities;
    }

    /// <summary>The control socket.</summary>
    public Socket Socket { get; }

    /// <summary>Where handshake messages go: the TLS session, or the socket.</summary>
    public Stream Stream => _tls ?? (Stream)_network;

    /// <summary>True when the peer was authenticated by mutual TLS.</summary>
    public bool Secure => _tls is not null;

    /// <summary>The DNS names and URIs of the peer's certificate (empty without TLS).</summary>
    public IReadOnlyList<string> PeerIdentities { get; }

    /// <summary>The protection of the data that follows the handshake.</summary>
    public ConnectionProtection Protection(bool clear) => _tls is null ? ConnectionProtection.None : clear ? ConnectionProtection.Authenticated : ConnectionProtection.Encrypted;

    /// <summary>The stream data travels on after the handshake: the TLS session, or with <paramref name="clear"/> (or
    /// without TLS) the socket itself. Nothing of the clear data has been read by the TLS stack (records were read one at
    /// a time). With <paramref name="coalesce"/>, TLS records are gathered into larger socket writes until the writer
    /// flushes the returned stream (see <see cref="TlsRecordStream.Coalesce"/>).</summary>
    public Stream OpenData(bool clear, bool coalesce = false)
    {
        if (_tls is null || clear)
        {
            return _network;
        }

        _records!.Coalesce = coalesce;
        _records.Passthrough = true;
        return _tls;
    }

    /// <summary>The connection cap's place this connection holds (<see cref="ConnectionSettings.AdmitConnection"/>),
    /// given back when the channel is disposed.</summary>
    public IDisposable? Lease { get; set; }

    public void Dispose()
    {
        Lease?.Dispose();
        _tls?.Dispose();
        _records?.Dispose();
        _network.Dispose();
    }

    /// <summary>Listening side: with security, refuses a peer that speaks in clear (answering it with a rejection it can
    /// read), then runs the TLS handshake requiring a client certificate from the CA that names at least one identity.
    /// Without security, the socket as it is. <paramref name="refused"/> hears of a refusal before the peer does (so it
    /// is counted by the time the peer learns of it).</summary>
    /// <exception cref="TransferException">Stage <see cref="HandshakeStage.Tls"/> with an <see cref="TransferException.AuthFailure"/>,
    /// or <see cref="HandshakeStage.Receive"/> for a peer that said nothing.</exception>
    public static async Task<ControlChannel> AcceptAsync(Socket socket, ConnectionSettings settings, Action<PeerRefusal>? refused, CancellationToken cancellationToken)
    {
        var network = new NetworkStream(socket, ownsSocket: false);
        if (settings.Security is not { } security)
        {
            return new ControlChannel(socket, network, null, null, []);
        }

        try
        {
            using var timer = Deadline(settings.HandshakeTimeout, cancellationToken);
            await RefuseCleartextAsync(socket, network, settings, refused, timer.Token, cancellationToken).ConfigureAwait(false);
            var records = new TlsRecordStream(network);
            var tls = new SslStream(records, leaveInnerStreamOpen: true);
            PeerRefusal? refusal = null;
            IReadOnlyList<string> identities = [];
            var options = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = security.CertificateContext(),
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                AllowTlsResume = false,
                CertificateChainPolicy = PeerValidation.Policy(security.TrustedCa(), PeerValidation.ClientAuth),
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    (refusal, identities) = Judge(certificate, chain, errors, expected: null, security.IsRevoked);
                    if (refusal is { } r)
                    {
                        refused?.Invoke(r);
                    }

                    return refusal is null;
                },
            };
            await AuthenticateAsync(tls, () => tls.AuthenticateAsServerAsync(options, timer.Token), () => refusal, settings, cancellationToken).ConfigureAwait(false);
            return new ControlChannel(socket, network, records, tls, identities);
        }
        catch
        {
            await network.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Connecting side: with security, the TLS handshake presenting this node's certificate and requiring the
    /// listener's to chain to the CA and name <see cref="ConnectionSettings.ExpectedPeerName"/>.</summary>
    public static async Task<ControlChannel> ConnectAsync(Socket socket, ConnectionSettings settings, CancellationToken cancellationToken)
    {
        var network = new NetworkStream(socket, ownsSocket: false);
        if (settings.Security is not { } security)
        {
            return new ControlChannel(socket, network, null, null, []);
        }

        try
        {
            string expected = settings.ExpectedPeerName
                ?? throw new ArgumentException("connecting with TLS needs the peer's name (ExpectedPeerName): a peer is identified by its certificate, not its address", nameof(settings));
            using var timer = Deadline(settings.HandshakeTimeout, cancellationToken);
            var records = new TlsRecordStream(network);
            var tls = new SslStream(records, leaveInnerStreamOpen: true);
            PeerRefusal? refusal = null;
            IReadOnlyList<string> identities = [];
            var options = new SslClientAuthenticationOptions
            {
                // SNI carries DNS names only; a URI identity is checked below all the same.
                TargetHost = CertificateNames.IsUri(expected) ? "" : expected,
                ClientCertificateContext = security.CertificateContext(),
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                AllowTlsResume = false,
                CertificateChainPolicy = PeerValidation.Policy(security.TrustedCa(), PeerValidation.ServerAuth),
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    (refusal, identities) = Judge(certificate, chain, errors, expected, security.IsRevoked);
                    return refusal is null;
                },
            };
            await AuthenticateAsync(tls, () => tls.AuthenticateAsClientAsync(options, timer.Token), () => refusal, settings, cancellationToken).ConfigureAwait(false);
            return new ControlChannel(socket, network, records, tls, identities);
        }
        catch
        {
            await network.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A refusal as the exception the handshake code throws.</summary>
    public static TransferException Refused(string reason, string detail) => new(HandshakeStage.Tls, $"{detail} ({reason})") { AuthFailure = reason };

    private static async Task AuthenticateAsync(SslStream tls, Func<Task> authenticate, Func<PeerRefusal?> refusal, ConnectionSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            await authenticate().ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new TransferException(HandshakeStage.Tls, $"the TLS handshake did not finish within {Seconds(settings.HandshakeTimeout)}", e) { AuthFailure = AuthFailures.TlsFailed };
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or System.ComponentModel.Win32Exception or ObjectDisposedException)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            if (refusal() is { } refused)
            {
                throw new TransferException(HandshakeStage.Tls, $"{refused.Detail} ({refused.Reason})", e) { AuthFailure = refused.Reason };
            }

            throw new TransferException(HandshakeStage.Tls, $"TLS handshake failed: {Innermost(e)}", e) { AuthFailure = AuthFailures.TlsFailed };
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Peeks at the first byte: a TLS handshake goes on; the transfer handshake in clear is read and answered
    /// with a rejection the peer can read; anything else is refused.</summary>
    private static async Task RefuseCleartextAsync(Socket socket, NetworkStream network, ConnectionSettings settings, Action<PeerRefusal>? refused,
        CancellationToken timer, CancellationToken cancellationToken)
    {
        byte[] first = new byte[1];
        int n;
        try
        {
            n = await socket.ReceiveAsync(first, SocketFlags.Peek, timer).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransferException(HandshakeStage.Receive, $"the peer sent nothing within {Seconds(settings.HandshakeTimeout)}", e);
        }

        if (n == 0)
        {
            throw new TransferException(HandshakeStage.Receive, "the peer closed the connection before the TLS handshake");
        }

        if (first[0] == TlsHandshakeRecord)
        {
            return;
        }

        HandshakeMessage? offer = null;
        try
        {
            offer = await HandshakeExchange.ReceiveAsync(network, settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TransferException)
        {
            // Neither TLS nor a readable handshake message.
        }

        if (offer is null)
        {
            throw Refused(AuthFailures.NotTls, "the peer's first bytes are neither a TLS handshake nor a transfer handshake");
        }

        var refusal = new PeerRefusal(AuthFailures.Plaintext,
            $"peer '{Printable(offer.NodeName)}' sent the transfer handshake without TLS; this listener requires mutual TLS");
        refused?.Invoke(refusal);
        await HandshakeExchange.TryRejectAsync(network, offer.Transport, HandshakeRejectReason.AuthenticationRequired, settings.HandshakeTimeout, cancellationToken)
            .ConfigureAwait(false);
        throw Refused(refusal.Reason, refusal.Detail);
    }

    /// <summary>Judges the peer's certificate after the TLS stack built its chain with our policy: no certificate, an
    /// untrusted one, one without identities, or (connecting side) one that does not name <paramref name="expected"/>.</summary>
    private static (PeerRefusal? Refusal, IReadOnlyList<string> Identities) Judge(X509Certificate? presented, X509Chain? chain, SslPolicyErrors errors, string? expected,
        Func<X509Certificate2, bool>? isRevoked)
    {
        if (presented is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return (new PeerRefusal(AuthFailures.NoCertificate, "the peer presented no certificate"), []);
        }

        var certificate = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            string detail = chain is null ? $"certificate '{certificate.Subject}' is not trusted" : PeerValidation.Describe(certificate, chain);
            return (new PeerRefusal(AuthFailures.UntrustedCertificate, detail), []);
        }

        if (isRevoked?.Invoke(certificate) == true)
        {
            return (new PeerRefusal(AuthFailures.Revoked, $"certificate '{certificate.Subject}' (serial {certificate.SerialNumber}) is revoked"), []);
        }

        var identities = CertificateNames.Of(certificate);
        if (identities.Count == 0)
        {
            return (new PeerRefusal(AuthFailures.NoIdentity, $"certificate '{certificate.Subject}' names no DNS name or URI in subjectAltName"), []);
        }

        // The TLS stack's own host-name check is not used: identities may be URIs, and we compare them here.
        if (expected is not null && !CertificateNames.Contains(identities, expected))
        {
            return (new PeerRefusal(AuthFailures.NameMismatch,
                $"the peer's certificate names {string.Join(", ", identities)}, not the expected peer '{expected}'"), identities);
        }

        return (null, identities);
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    /// <summary>A client-supplied name made safe for a log line (printable ASCII, at most 64 characters).</summary>
    public static string Printable(string text)
    {
        var chars = text.Take(64).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray();
        return new string(chars);
    }

    private static CancellationTokenSource Deadline(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            cts.CancelAfter(timeout);
        }

        return cts;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
