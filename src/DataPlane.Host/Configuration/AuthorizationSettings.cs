using DataPlane.Batching.Frontend.Authorization;
using DataPlane.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Configuration;

/// <summary>Binds the <c>Authorization</c> section: <c>Default:Models</c> and <c>Default:Operations</c>, and per client
/// <c>Clients:&lt;Name&gt;:Identity</c> (default: the name), <c>:Models</c> and <c>:Operations</c> (default: those of
/// <c>Default</c>). Identities come from client certificates, so the section needs <c>Listen:Tls:ClientCa</c>.</summary>
internal static class AuthorizationSettings
{
    private const string Section = "Authorization";

    /// <param name="b">The binder (marks what is read, reports errors).</param>
    /// <param name="configuration">The same configuration, walked without marking whole sections as read, so that unknown
    /// keys inside a client's rule are reported.</param>
    /// <param name="clientCertificates">True when Listen:Tls:ClientCa is set.</param>
    public static AuthorizationOptions Bind(ConfigBinder b, IConfiguration configuration, bool clientCertificates)
    {
        bool configured = configuration.GetSection(Section).GetChildren().Any();
        if (configured && !clientCertificates)
        {
            b.Error(Section, "needs Listen:Tls:ClientCa (mutual TLS): client identities come from client certificates");
        }

        var defaults = ReadGrant(b, Section + ":Default", ClientGrant.DefaultGrant);
        var clients = new List<ClientRule>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var client in configuration.GetSection(Section + ":Clients").GetChildren())
        {
            string key = client.Path;
            string identity = b.String(key + ":Identity", client.Key);
            var grant = ReadGrant(b, key, defaults);
            if (identity.Length == 0)
            {
                b.Error(key + ":Identity", "is empty");
                continue;
            }

            if (seen.TryGetValue(identity, out string? other))
            {
                b.Error(key + ":Identity", $"'{identity}' is also the identity of {other}; an identity has one rule");
                continue;
            }

            seen[identity] = key;
            clients.Add(new ClientRule(client.Key, identity, grant));
        }

        return new AuthorizationOptions { Enabled = clientCertificates, Default = defaults, Clients = clients };
    }

    private static ClientGrant ReadGrant(ConfigBinder b, string key, ClientGrant fallback)
    {
        var patterns = b.StringList(key + ":Models", fallback.Models.Patterns);
        bool valid = true;
        for (int i = 0; i < patterns.Count; i++)
        {
            if (ModelPatterns.Problem(patterns[i]) is { } problem)
            {
                b.Error($"{key}:Models:{i}", problem);
                valid = false;
            }
        }

        var operations = ClientOperations.None;
        var names = b.StringList(key + ":Operations", []);
        if (names.Count == 0)
        {
            operations = fallback.Operations;
        }

        for (int i = 0; i < names.Count; i++)
        {
            if (ClientOperationNames.TryParse(names[i], out var operation))
            {
                operations |= operation;
            }
            else
            {
                b.Error($"{key}:Operations:{i}", $"'{names[i]}' is not one of {ClientOperationNames.Known}");
            }
        }

        return new ClientGrant(valid ? ModelPatterns.Create(patterns) : ModelPatterns.None, operations);
    }
}
