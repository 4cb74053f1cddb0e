using DataPlane.Interop.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace DataPlane.Hosting.Listeners;

/// <summary>A listener added to Kestrel; its address is final once the server has started.</summary>
public sealed class BoundListener(ListenerOptions listener)
{
    public ListenerOptions Listener { get; } = listener;

    internal ListenOptions? Options { get; set; }

    /// <summary>The certificate this listener serves, when it speaks TLS.</summary>
    public CertificateReloader? Certificate { get; internal set; }

    /// <summary>The connection cap of this listener, when it has one.</summary>
    public ConnectionLimiter? Limiter { get; internal set; }
    /// <summary>The revocation list client certificates are checked against, when one is configured.</summary>
    public RevocationListReloader? Revocation { get; internal set; }

    /// <summary>The bound address, with the port Kestrel picked when 0 was asked for.</summary>
    public System.Net.IPEndPoint EndPoint => Options?.IPEndPoint ?? Listener.EndPoint;

    /// <summary>A URL clients on this machine can use (loopback when bound to every interface).</summary>
    public Uri Url
    {
        get
        {
            var ep = EndPoint;
            var address = ep.Address.Equals(System.Net.IPAddress.Any) ? System.Net.IPAddress.Loopback
                : ep.Address.Equals(System.Net.IPAddress.IPv6Any) ? System.Net.IPAddress.IPv6Loopback : ep.Address;
            string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
            return new Uri($"{(Listener.Tls != null ? "https" : "http")}://{host}:{ep.Port}");
        }
    }
}

/// <summary>Marks an endpoint as served only on the listener with this name.</summary>
public sealed record ListenerMetadata(string Name);

/// <summary>Sets up Kestrel listeners and keeps each endpoint on its own listener: every
/// connection is tagged with the name of the listener that accepted it, and a request whose
/// endpoint belongs to another listener gets 404. So metrics and admin pages never appear on the
/// public gRPC port, and inference never on the admin port.</summary>
public static class ListenerSetup
{
    private const string ItemKey = "dataplane.listener";

    /// <summary>Adds <paramref name="listener"/> to Kestrel. The returned handle tells the bound
    /// address once the server has started (port 0 picks a free port). With a <paramref name="limiter"/>, a
    /// connection beyond its cap is closed as soon as it is accepted, before TLS or any parsing, and counted.</summary>
    public static BoundListener Listen(KestrelServerOptions kestrel, ListenerOptions listener, ConnectionLimiter? limiter = null)
    {
        var bound = new BoundListener(listener) { Limiter = limiter };
        kestrel.Listen(listener.EndPoint, o =>
        {
            bound.Options = o;
            // HTTP/2 without TLS cannot be negotiated; such listeners speak HTTP/1.1 (or h2c when HTTP/2 only).
            o.Protocols = listener.Tls == null && listener.Protocols == HttpProtocols.Http1AndHttp2 ? HttpProtocols.Http1 : listener.Protocols;
            if (limiter is not null)
            {
                // First in the connection pipeline: a refused connection costs no handshake.
                o.Use(limiter.Middleware);
            }

            if (listener.Tls is { } tls)
            {
                bound.Certificate = new CertificateReloader(tls.CertificatePath, tls.KeyPath);
                if (tls.RequireClientCertificate && tls.CrlPath is { Length: > 0 } crl)
                {
                    var logger = (kestrel.ApplicationServices?.GetService(typeof(ILoggerFactory)) as ILoggerFactory)
                        ?.CreateLogger("DataPlane.Hosting.Revocation");
                    bound.Revocation = new RevocationListReloader(crl, LoadCa(tls.ClientCaPath!), listener.Name, logger);
                }

                o.UseHttps(Https(tls, bound.Certificate, bound.Revocation));
            }

            int? dscp = listener.Dscp;
            o.Use(next => connection =>
            {
                connection.Items[ItemKey] = listener.Name;
                if (dscp is int d && connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
                {
                    // Replies carry the class too: set on each accepted socket (refusals leave the default).
                    _ = SocketTraffic.TrySetTrafficClass(socket, d << 2);
                }

                return next(connection);
            });
        });
        return bound;
    }

    /// <summary>HTTPS settings for <paramref name="tls"/>: TLS 1.2+, the certificate served through
    /// <paramref name="reloader"/>, and with a client CA, required and verified client certificates, refused when
    /// <paramref name="revocation"/> lists them.</summary>
    public static HttpsConnectionAdapterOptions Https(TlsOptions tls, CertificateReloader reloader, RevocationListReloader? revocation = null)
    {
        ArgumentNullException.ThrowIfNull(tls);
        var https = new HttpsConnectionAdapterOptions
        {
            SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
            ServerCertificateSelector = (_, _) => reloader.Current,
        };
        if (tls.RequireClientCertificate)
        {
            var roots = LoadCa(tls.ClientCaPath!);
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = revocation == null
                ? (certificate, _, _) => IsIssuedBy(certificate, roots)
                : (certificate, _, _) => IsIssuedBy(certificate, roots) && !revocation.Refuses(certificate);
        }

        return https;
    }

    /// <summary>The CA certificates of a PEM file; throws <see cref="CryptographicException"/> when it holds none.</summary>
    public static X509Certificate2Collection LoadCa(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
        {
            throw new CryptographicException($"'{path}' holds no PEM certificate");
        }

        return roots;
    }

    /// <summary>True when <paramref name="certificate"/> chains to one of the <paramref name="ca"/> roots alone (not the
    /// system store; a CA file may hold several during a rotation), is within its validity period and allows client authentication (or, with
    /// <paramref name="serverAuth"/>, server authentication). Used for both ends of mutual TLS.</summary>
    public static bool IsIssuedBy(X509Certificate2 certificate, X509Certificate2Collection ca, bool serverAuth = false)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        // Never online: revocation is the configured CRL file's job (RevocationListReloader), checked by the caller.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // id-kp-serverAuth or id-kp-clientAuth
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2"));
        return chain.Build(certificate);
    }

    /// <summary>Name of the listener that accepted the request's connection.</summary>
    public static string? ListenerOf(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ItemKey, out var v) == true ? v as string : null;

    /// <summary>Restricts endpoints to their listeners (<see cref="ListenerMetadata"/>); endpoints without
    /// the metadata belong to <paramref name="defaultListener"/>. A matcher policy drops the candidates of
    /// other listeners during routing, so two listeners may serve the same path (e.g. /healthz) and a path
    /// of another listener is a plain 404.</summary>
    public static IServiceCollection AddListenerIsolation(this IServiceCollection services, string defaultListener)
    {
        services.AddSingleton<MatcherPolicy>(new ListenerMatcherPolicy(defaultListener));
        return services;
    }

    private sealed class ListenerMatcherPolicy(string defaultListener) : MatcherPolicy, IEndpointSelectorPolicy
    {
        public override int Order => 0;

        public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => true;

        public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
        {
            string? listener = ListenerOf(httpContext);
            for (int i = 0; i < candidates.Count; i++)
            {
                if (candidates.IsValidCandidate(i))
                {
                    string owner = candidates[i].Endpoint.Metadata.GetMetadata<ListenerMetadata>()?.Name ?? defaultListener;
                    if (!string.Equals(owner, listener, StringComparison.Ordinal))
                    {
                        candidates.SetValidity(i, false);
                    }
                }
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>Serves the endpoint only on <paramref name="listener"/>.</summary>
    public static TBuilder OnListener<TBuilder>(this TBuilder builder, string listener)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ListenerMetadata(listener));
}
