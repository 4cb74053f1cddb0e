namespace DataPlane.Batching.Frontend.Authorization;

/// <summary>What a client may do: operation groups on the models its patterns match (server-wide groups such as shared
/// memory and log settings ignore the models).</summary>
public sealed record ClientGrant(ModelPatterns Models, ClientOperations Operations)
{
    /// <summary>For authenticated clients without a rule of their own: inference and metadata on every model.</summary>
    public static ClientGrant DefaultGrant { get; } = new(ModelPatterns.All, ClientOperations.Inference | ClientOperations.Metadata);

    /// <summary>Everything (authorization off).</summary>
    public static ClientGrant Everything { get; } = new(ModelPatterns.All, ClientOperations.All);

    /// <summary>Nothing but liveness and readiness.</summary>
    public static ClientGrant Nothing { get; } = new(ModelPatterns.None, ClientOperations.None);

    public override string ToString() => $"{ClientOperationNames.Describe(Operations)} on {Models}";
}

/// <summary>The grant of the client whose certificate carries <paramref name="Identity"/> (a subjectAltName URI or DNS
/// name, or the subject's common name), configured as <c>Authorization:Clients:&lt;Name&gt;</c>.</summary>
public sealed record ClientRule(string Name, string Identity, ClientGrant Grant);

/// <summary>Per-client authorization of the daemon's front ends (gRPC, HTTP/REST, streams). Identities come from
/// client certificates, so authorization is on exactly when mutual TLS is (<c>Listen:Tls:ClientCa</c>); without it
/// every client may do everything, as before.</summary>
public sealed record AuthorizationOptions
{
    /// <summary>True when clients present certificates and grants are enforced.</summary>
    public bool Enabled { get; init; }

    /// <summary>The grant of an authenticated client that no rule names. Default: inference and metadata on every model
    /// (<see cref="ClientGrant.DefaultGrant"/>); no control, shared memory, settings or statistics.</summary>
    public ClientGrant Default { get; init; } = ClientGrant.DefaultGrant;

    /// <summary>Rules by identity.</summary>
    public IReadOnlyList<ClientRule> Clients { get; init; } = [];

    /// <summary>Authorization off: every client may do everything.</summary>
    public static AuthorizationOptions Off { get; } = new();
}
