using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace DataPlane.Hosting.Listeners;

/// <summary>TLS for a listener: a PEM certificate and key, and optionally the PEM CA whose
/// client certificates are required (mutual TLS).</summary>
public sealed record TlsOptions(string CertificatePath, string KeyPath, string? ClientCaPath)
{
    /// <summary>True when clients must present a certificate issued by <see cref="ClientCaPath"/>.</summary>
    public bool RequireClientCertificate => !string.IsNullOrEmpty(ClientCaPath);

    /// <summary>A certificate revocation list (PEM or DER) signed by the client CA: client certificates it names are
    /// refused at the handshake. Re-read when it changes. Null: no revocation checking.</summary>
    public string? CrlPath { get; init; }
}

/// <summary>One listening socket of an executable: its role name (e.g. "grpc", "admin"), address,
/// HTTP versions and TLS.</summary>
public sealed record ListenerOptions(string Name, IPEndPoint EndPoint, HttpProtocols Protocols, TlsOptions? Tls = null)
{
    /// <summary>DSCP (0..63) of the connections this listener accepts, so switches can give them their own traffic
    /// class; null leaves the kernel's default (0).</summary>
    public int? Dscp { get; init; }
}
