using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace DataPlane.Batching.Frontend.Authorization;

/// <summary>Maps client certificates to <see cref="Caller"/>s (what each may do) for every front end: the gRPC
/// interceptor (<see cref="AuthorizationInterceptor"/>), the HTTP/REST front end and the stream relay.
/// <para>A certificate's identity is the first of its names (subjectAltName URIs, then DNS names, then the subject's
/// common name; <see cref="CertificateNames"/>) that a rule in <c>Authorization:Clients</c> names; that rule's grant
/// applies. A certificate no rule names gets <c>Authorization:Default</c> under its first name. The caller is worked out
/// once per connection (cached against the connection's certificate object).</para>
/// <para>Denials are counted in <c>dataplane_authorization_denied_total{identity,operation}</c> and the first one per
/// identity and operation is logged; both are bounded (<see cref="MaxTrackedIdentities"/>), so a client cannot grow
/// them without limit.</para></summary>
public sealed partial class ClientAuthorizer
{
    /// <summary>Distinct identities given their own metric label and log line; later ones share the label "other".</summary>
    public const int MaxTrackedIdentities = 256;

    private readonly Dictionary<string, ClientRule> _rules;
    private readonly ConditionalWeakTable<X509Certificate2, Caller> _callers = [];
    private readonly ConcurrentDictionary<string, byte> _tracked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string, ClientOperations), byte> _logged = new();
    private readonly Counter _denied;
    private readonly ILogger _logger;

    public ClientAuthorizer(AuthorizationOptions options, CollectorRegistry? metrics, ILogger<ClientAuthorizer> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _logger = logger;
        _rules = options.Clients.ToDictionary(r => r.Identity, StringComparer.Ordinal);
        _denied = Prometheus.Metrics.WithCustomRegistry(metrics ?? Prometheus.Metrics.DefaultRegistry).CreateCounter(
            "dataplane_authorization_denied_total",
            "Requests refused PERMISSION_DENIED (HTTP 403) by per-client authorization, by client identity and operation group.",
            ["identity", "operation"]);
    }

    public AuthorizationOptions Options { get; }

    /// <summary>True when grants are enforced (client certificates are required).</summary>
    public bool Enabled => Options.Enabled;

    /// <summary>The caller of a request: from the client certificate of its connection.</summary>
    public Caller Identify(HttpContext? context) =>
        Enabled ? Identify(context?.Connection.ClientCertificate) : Caller.Anyone;

    /// <summary>The caller presenting <paramref name="certificate"/>; without one, a caller granted nothing (mutual TLS
    /// makes this impossible, but a missing certificate must not open anything).</summary>
    public Caller Identify(X509Certificate2? certificate)
    {
        if (!Enabled)
        {
            return Caller.Anyone;
        }

        if (certificate == null)
        {
            return new Caller("(no client certificate)", ClientGrant.Nothing, this);
        }

        return _callers.GetValue(certificate, Resolve);
    }

    private Caller Resolve(X509Certificate2 certificate)
    {
        var names = CertificateNames.Of(certificate);
        foreach (string name in names)
        {
            if (_rules.TryGetValue(name, out var rule))
            {
                return new Caller(rule.Identity, rule.Grant, this);
            }
        }

        return new Caller(names.Count > 0 ? names[0] : certificate.Subject, Options.Default, this);
    }

    internal void CountDenial(Caller caller, ClientOperations operation, string? model)
    {
        string identity = caller.Identity;
        bool tracked = _tracked.ContainsKey(identity) || (_tracked.Count < MaxTrackedIdentities && _tracked.TryAdd(identity, 0));
        string operationName = ClientOperationNames.Of(operation);
        _denied.WithLabels(tracked ? TritonErrors.Echo(identity) : "other", operationName).Inc();
        if (tracked && _logged.TryAdd((identity, operation), 0))
        {
            Log.Denied(_logger, TritonErrors.Echo(identity), operationName, model == null ? "(none)" : TritonErrors.Echo(model),
                caller.Grant.ToString());
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8510, Level = LogLevel.Warning,
            Message = "Denied client {Identity} {Operation} on model {Model} (granted: {Grant}); further denials of this identity and operation are counted in dataplane_authorization_denied_total, not logged")]
        public static partial void Denied(ILogger logger, string identity, string operation, string model, string grant);
    }
}
