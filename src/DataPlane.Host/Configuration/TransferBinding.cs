using System.Net;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using DataPlane.Spillover;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Messaging;
using DataPlane.Transfer.Rdma;
using DataPlane.Transfer.Security;

namespace DataPlane.Host.Configuration;

/// <summary>Binds the <c>Transfer</c> section to <see cref="TransferSettings"/>, naming every bad key, and checks now what
/// would otherwise fail at the first handshake (the TLS files, the peers' names).</summary>
internal static class TransferBinding
{
    /// <summary>Binds and checks the <c>Transfer</c> section.</summary>
    public static TransferSettings Bind(ConfigBinder b)
    {
        IPEndPoint? listen = null;
        string listenText = b.String("Transfer:Listen", "");
        if (listenText.Length > 0 && EndPoints.Parse(listenText, "Transfer:Listen", b) is IPEndPoint endpoint)
        {
            listen = endpoint;
        }

        var peers = new List<TransferPeer>();
        foreach (string peer in b.StringList("Transfer:Peers", []))
        {
            if (ParsePeer(peer, b) is { } p)
            {
                peers.Add(p);
            }
        }

        bool enabled = listen is not null || peers.Count > 0;
        var allowed = BindAllowedPeers(b, peers, listen is not null);
        var (certificatePath, keyPath, caPath, nodeDefault) = BindTls(b, enabled, listen is not null, peers.Count > 0);
        var encryption = b.Enum("Transfer:Encryption", TransferEncryption.Tls);

        var mode = b.Enum("Transfer:Transport", TransportMode.Auto);
        var flow = new FlowClass
        {
            Name = "spill",
            Dscp = b.Int("Transfer:Dscp", 0, 0, 63),
            SocketPriority = b.Int("Transfer:SocketPriority", -1, -1, 6) is int prio and >= 0 ? prio : null,
            ServiceLevel = b.Int("Transfer:ServiceLevel", 0, 0, 15),
        };
        string nodeName = b.String("Transfer:NodeName", "");
        if (nodeName.Length > 0 && nodeDefault is { Names: { } names } && !CertificateNames.Contains(names, nodeName))
        {
            b.Error("Transfer:NodeName", $"'{nodeName}' is not a name of Transfer:Tls:Certificate ({string.Join(", ", names)}): peers check it against the certificate");
        }

        var engine = new TransferOptions
        {
            ListenEndPoint = listen ?? new IPEndPoint(IPAddress.Any, TransferOptions.DefaultPort),
            Transport = mode,
            NodeName = nodeName.Length > 0 ? nodeName : nodeDefault?.Names[0] ?? Environment.MachineName,
            FlowClasses = new Dictionary<string, FlowClass>(StringComparer.Ordinal) { [flow.Name] = flow },
            DefaultFlowClass = flow.Name,
            OperationTimeout = b.Seconds("Transfer:OperationTimeoutSeconds", TimeSpan.FromSeconds(30), 0.01, 3600),
            MaxMessageBytes = b.Int("Transfer:MaxMessageBytes", 1 << 20, 4096, ConnectionSettings.MaxMessageLimit),
            MaxPendingHandshakes = b.Int("Transfer:MaxPendingHandshakes", 64, 1, 65536),
        };
        foreach (string error in engine.Validate())
        {
            b.Error("Transfer", error);
        }

        int port = b.Int("Transfer:Rdma:Port", 0, 0, 255), gid = b.Int("Transfer:Rdma:GidIndex", -1, -1, 255);
        string device = b.String("Transfer:Rdma:Device", ""), subnet = b.String("Transfer:Rdma:Subnet", ""), library = b.String("Transfer:Rdma:LibraryPath", "");
        var rdma = new RdmaOptions
        {
            Device = device.Length > 0 ? device : null,
            Port = port > 0 ? port : null,
            GidIndex = gid >= 0 ? gid : null,
            Subnet = subnet.Length > 0 ? subnet : null,
            LibraryPath = library.Length > 0 ? library : null,
        };
        foreach (string error in rdma.Validate())
        {
            b.Error("Transfer:Rdma", error);
        }

        return new TransferSettings
        {
            Rdma = rdma,
            AllowedPeers = allowed,
            CertificatePath = certificatePath,
            KeyPath = keyPath,
            CaPath = caPath,
            CrlPath = BindCrl(b, caPath),
            Encryption = encryption,
            Rpc = BindRpcLimits(b),
            NearGpu = b.Int("Transfer:Rdma:NearGpu", 0, -1, 1023),
            Listen = listen,
            Peers = peers,
            MaxBatchesPerPeer = b.Int("Transfer:MaxBatchesPerPeer", 2, 1, 64),
            PeerCooldown = b.Seconds("Transfer:PeerCooldownSeconds", TimeSpan.FromSeconds(5), 0, 3600),
            Engine = engine,
        };
    }

    /// <summary>NAME@HOST:PORT, or HOST:PORT with a DNS name as HOST (that name is the identity). An address alone is
    /// refused: the name is what the peer's certificate is checked against.</summary>
    internal static TransferPeer? ParsePeer(string text, ConfigBinder b)
    {
        const string key = "Transfer:Peers";
        int at = text.IndexOf('@', StringComparison.Ordinal);
        string? name = at >= 0 ? text[..at] : null;
        if (EndPoints.ParseHostPort(text[(at + 1)..]) is not { } hostPort)
        {
            b.Error(key, $"'{text}' is not NAME@HOST:PORT (e.g. gpu-02@10.0.0.2:18520; port 1..65535)");
            return null;
        }

        var (host, port) = hostPort;

        if (name is null)
        {
            if (IPAddress.TryParse(host, out _))
            {
                b.Error(key, $"'{text}' gives only an address; name the peer by its certificate: NAME@{text} (NAME: the DNS name or URI in the peer's certificate)");
                return null;
            }

            name = host;
        }

        if (!CertificateNames.IsValidIdentity(name))
        {
            b.Error(key, $"'{name}' in '{text}' is not a DNS name or URI of at most 64 bytes (the name in the peer's certificate)");
            return null;
        }

        return new TransferPeer(name, host, port);
    }

    private static PeerAllowList BindAllowedPeers(ConfigBinder b, List<TransferPeer> peers, bool listening)
    {
        var names = b.StringList("Transfer:AllowedPeers", []);
        if (names.Count == 0)
        {
            if (listening && peers.Count == 0)
            {
                b.Error("Transfer:AllowedPeers",
                    "name the peers that may spill here (the DNS names or URIs in their certificates), or '*' for any certificate from Transfer:Tls:ClientCa");
            }

            // A pool where every host lists the others as peers lets the same hosts in.
            return PeerAllowList.Of(peers.Select(p => p.Name));
        }

        if (names.Contains("*"))
        {
            if (names.Count > 1)
            {
                b.Error("Transfer:AllowedPeers", "'*' (any certificate from the CA) cannot be combined with names");
            }

            return PeerAllowList.Any;
        }

        foreach (string name in names)
        {
            if (IPAddress.TryParse(name, out _))
            {
                b.Error("Transfer:AllowedPeers", $"'{name}' is an address; peers are allowed by the DNS name or URI in their certificate, never by address");
            }
            else if (!CertificateNames.IsValidIdentity(name))
            {
                b.Error("Transfer:AllowedPeers", $"'{name}' is not a DNS name or URI of at most 64 bytes");
            }
        }

        return PeerAllowList.Of(names);
    }

    /// <summary>Reads Transfer:Tls:Certificate, Key and ClientCa, required when the engine runs, and checks now what
    /// would otherwise fail at the first handshake: readable files, a key that matches, a CA that is one, a certificate
    /// the CA issued with the uses needed (serverAuth to listen, clientAuth to connect) and a name in subjectAltName.</summary>
    private static (string? Certificate, string? Key, string? Ca, OwnNames? Names) BindTls(ConfigBinder b, bool enabled, bool listening, bool connecting)
    {
        string certificate = b.String("Transfer:Tls:Certificate", ""), key = b.String("Transfer:Tls:Key", ""), ca = b.String("Transfer:Tls:ClientCa", "");
        if (!enabled)
        {
            return (null, null, null, null);
        }

        var missing = new[] { ("Transfer:Tls:Certificate", certificate), ("Transfer:Tls:Key", key), ("Transfer:Tls:ClientCa", ca) }
            .Where(k => k.Item2.Length == 0).Select(k => k.Item1).ToArray();
        if (missing.Length > 0)
        {
            b.Error(string.Join(", ", missing),
                "required when Transfer:Listen or Transfer:Peers is set: the spill path runs mutual TLS (a host certificate and key from scripts/pki.sh issue-server, and the CA)");
            return (null, null, null, null);
        }

        var absent = new[] { ("Transfer:Tls:Certificate", certificate), ("Transfer:Tls:Key", key), ("Transfer:Tls:ClientCa", ca) }
            .Where(k => !File.Exists(k.Item2)).ToArray();
        foreach (var (name, path) in absent)
        {
            b.Error(name, $"file '{path}' does not exist");
        }

        if (absent.Length > 0)
        {
            return (certificate, key, ca, null);
        }

        X509Certificate2? own = null;
        try
        {
            try
            {
                own = PemFiles.LoadCertificate(certificate, key);
            }
            catch (TransferSecurityException e)
            {
                b.Error("Transfer:Tls:Certificate", e.Message);
                return (certificate, key, ca, null);
            }

            X509Certificate2Collection trusted;
            try
            {
                trusted = PemFiles.LoadCa(ca);
            }
            catch (TransferSecurityException e)
            {
                b.Error("Transfer:Tls:ClientCa", e.Message);
                return (certificate, key, ca, null);
            }

            if (PemFiles.CheckOwnCertificate(own, trusted, serverAuth: listening, clientAuth: connecting) is { } problem)
            {
                b.Error("Transfer:Tls:Certificate", $"'{certificate}': {problem}");
                return (certificate, key, ca, null);
            }

            return (certificate, key, ca, new OwnNames(CertificateNames.Of(own)));
        }
        finally
        {
            own?.Dispose();
        }
    }

    /// <summary>Transfer:Tls:Crl, optional: a revocation list that loads and verifies against Transfer:Tls:ClientCa.</summary>
    private static string? BindCrl(ConfigBinder b, string? caPath)
    {
        string crl = b.String("Transfer:Tls:Crl", "");
        if (crl.Length == 0)
        {
            return null;
        }

        if (caPath is null)
        {
            b.Error("Transfer:Tls:Crl", "needs the transfer engine (Transfer:Listen or Transfer:Peers) and Transfer:Tls:ClientCa: it revokes peer certificates of that CA");
            return null;
        }

        TlsBinding.CheckCrl(b, "Transfer:Tls:Crl", crl, caPath);
        return crl;
    }

    private static RpcLimits BindRpcLimits(ConfigBinder b)
    {
        int maxMessage = b.Int("Transfer:Rpc:MaxMessageBytes", 256 << 20, 4096, 1 << 30);
        long perConnection = b.Long("Transfer:Rpc:BytesPerConnection", 512L << 20, 8192, 1L << 40);
        long perProcess = b.Long("Transfer:Rpc:BytesPerProcess", 1L << 30, 8192, 1L << 42);
        int partial = b.Int("Transfer:Rpc:PartialMessagesPerConnection", 4, 1, 1024);
        int requests = b.Int("Transfer:Rpc:RequestsPerConnection", 128, 1, 65536);
        if (perConnection < maxMessage + (long)RpcLimits.MessageOverhead)
        {
            b.Error("Transfer:Rpc:BytesPerConnection", $"{perConnection} cannot hold one message of Transfer:Rpc:MaxMessageBytes ({maxMessage})");
            return RpcLimits.Shared;
        }

        if (perProcess < perConnection)
        {
            b.Error("Transfer:Rpc:BytesPerProcess", $"{perProcess} is below Transfer:Rpc:BytesPerConnection ({perConnection})");
            return RpcLimits.Shared;
        }

        return new RpcLimits(maxMessage, perConnection, perProcess, partial, requests);
    }

    private sealed record OwnNames(IReadOnlyList<string> Names);
}
