using DataPlane.Batching.Frontend.Authorization;
using DataPlane.Host.Configuration;
using DataPlane.Hosting.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Host.Tests.Authorization;

/// <summary>The Authorization section is validated at start, and identities come from certificates as documented.</summary>
public sealed class AuthorizationConfigurationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-authz-config-").FullName;
    private readonly TestCa _ca = TestCa.Create();

    public AuthorizationConfigurationTests()
    {
        File.WriteAllText(Path.Combine(_dir, "ca.pem"), _ca.Pem);
        using var server = _ca.IssueServer();
        TestCa.Write(server, _dir, "server");
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private AuthorizationOptions Bind(Dictionary<string, string?> settings, bool mutualTls = true)
    {
        var values = new Dictionary<string, string?>(settings);
        if (mutualTls)
        {
            values["Listen:Tls:Certificate"] = Path.Combine(_dir, "server.pem");
            values["Listen:Tls:Key"] = Path.Combine(_dir, "server.key");
            values["Listen:Tls:ClientCa"] = Path.Combine(_dir, "ca.pem");
        }

        return DaemonConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values).Build()).Authorization;
    }

    private IReadOnlyList<string> Errors(Dictionary<string, string?> settings, bool mutualTls = true) =>
        Assert.Throws<ConfigurationException>(() => Bind(settings, mutualTls)).Errors;

    [Fact]
    public void Defaults_are_inference_and_metadata_on_every_model_and_on_only_with_client_certificates()
    {
        var off = Bind([], mutualTls: false);
        Assert.False(off.Enabled);
        var on = Bind([]);
        Assert.True(on.Enabled);
        Assert.Equal(ClientOperations.Inference | ClientOperations.Metadata, on.Default.Operations);
        Assert.True(on.Default.Models.MatchesAll);
        Assert.Empty(on.Clients);

        var rules = Bind(new()
        {
            ["Authorization:Default:Models:0"] = "public-*",
            ["Authorization:Default:Operations:0"] = "inference",
            ["Authorization:Clients:pi-01:Models:0"] = "llm",
            ["Authorization:Clients:admin:Identity"] = "spiffe://dataplane/admin",
            ["Authorization:Clients:admin:Operations"] = "all",
            ["Authorization:Clients:quiet:Operations"] = "none",
        });
        Assert.False(rules.Default.Models.Matches("llm"));
        Assert.True(rules.Default.Models.Matches("public-llm"));
        var pi = rules.Clients.Single(c => c.Name == "pi-01");
        Assert.Equal("pi-01", pi.Identity);
        Assert.Equal(ClientOperations.Inference, pi.Grant.Operations); // from Default
        Assert.True(pi.Grant.Models.Matches("llm"));
        var admin = rules.Clients.Single(c => c.Name == "admin");
        Assert.Equal("spiffe://dataplane/admin", admin.Identity);
        Assert.Equal(ClientOperations.All, admin.Grant.Operations);
        Assert.False(admin.Grant.Models.Matches("llm")); // Models from Default: public-*
        Assert.Equal(ClientOperations.None, rules.Clients.Single(c => c.Name == "quiet").Grant.Operations);
    }

    [Fact]
    public void Every_mistake_is_named_with_its_key()
    {
        Assert.Equal(["Authorization: needs Listen:Tls:ClientCa (mutual TLS): client identities come from client certificates"],
            Errors(new() { ["Authorization:Clients:pi-01:Models:0"] = "llm" }, mutualTls: false));
        Assert.Equal(["Authorization:Clients:pi-01:Operations:0: 'infer' is not one of inference, metadata, control, shared-memory, settings, statistics, all, none"],
            Errors(new() { ["Authorization:Clients:pi-01:Operations:0"] = "infer" }));
        Assert.Equal(["Authorization:Default:Models:0: 'l*m' has '*' before its end; a pattern is a name, a prefix ending in '*', or '*'"],
            Errors(new() { ["Authorization:Default:Models:0"] = "l*m" }));
        Assert.Equal(["Authorization:Clients:b:Identity: 'pi-01' is also the identity of Authorization:Clients:a; an identity has one rule"],
            Errors(new() { ["Authorization:Clients:a:Identity"] = "pi-01", ["Authorization:Clients:b:Identity"] = "pi-01" }));
        Assert.Equal(["Authorization:Clients:pi-01:Model: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(new() { ["Authorization:Clients:pi-01:Model"] = "llm" }));
        Assert.Equal(["Authorization:Admins: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(new() { ["Authorization:Admins"] = "ops" }));
    }

    [Fact]
    public void An_identity_is_the_first_configured_name_of_uris_dns_names_and_common_name()
    {
        using var certificate = _ca.IssueClient("cn-name", dns: ["dns-one", "dns-two"], uris: ["spiffe://dataplane/uri"]);
        Assert.Equal(["spiffe://dataplane/uri", "dns-one", "dns-two", "cn-name"], CertificateNames.Of(certificate));

        ClientAuthorizer Authorizer(params string[] identities) => new(new AuthorizationOptions
        {
            Enabled = true,
            Clients = identities.Select(i => new ClientRule(i, i, new ClientGrant(ModelPatterns.Create([i]), ClientOperations.Inference))).ToList(),
        }, Prometheus.Metrics.NewCustomRegistry(), NullLogger<ClientAuthorizer>.Instance);

        Assert.Equal("dns-two", Authorizer("cn-name", "dns-two").Identify(certificate).Identity);
        Assert.Equal("spiffe://dataplane/uri", Authorizer("cn-name", "spiffe://dataplane/uri").Identify(certificate).Identity);
        var named = Authorizer("cn-name").Identify(certificate);
        Assert.Equal("cn-name", named.Identity);
        Assert.True(named.Allows(ClientOperations.Inference, "cn-name"));
        Assert.False(named.Allows(ClientOperations.Inference, "llm"));

        // No rule: the default grant, under the certificate's first name.
        var unnamed = Authorizer("someone-else").Identify(certificate);
        Assert.Equal("spiffe://dataplane/uri", unnamed.Identity);
        Assert.True(unnamed.Allows(ClientOperations.Metadata, "llm"));
        Assert.False(unnamed.Allows(ClientOperations.Control, "llm"));
        var authorizer = Authorizer("someone-else");
        Assert.Same(authorizer.Identify(certificate), authorizer.Identify(certificate)); // worked out once per certificate

        // Without a certificate nothing is granted but liveness.
        var nobody = Authorizer().Identify((System.Security.Cryptography.X509Certificates.X509Certificate2?)null);
        Assert.False(nobody.Allows(ClientOperations.Inference, "llm"));
        Assert.True(nobody.Allows(ClientOperations.None, null));
    }

    [Fact]
    public void Patterns_match_names_prefixes_and_everything()
    {
        var patterns = ModelPatterns.Create(["llm", "resnet*"]);
        Assert.True(patterns.Matches("llm"));
        Assert.False(patterns.Matches("llm2"));
        Assert.True(patterns.Matches("resnet50"));
        Assert.True(patterns.Matches("resnet"));
        Assert.False(patterns.Matches("Resnet50"));
        Assert.True(ModelPatterns.All.Matches("anything"));
        Assert.False(ModelPatterns.None.Matches("anything"));
    }
}
