using DataPlane.Host.Configuration;
using DataPlane.Hosting.Configuration;
using DataPlane.Spillover;
using DataPlane.Transfer.Security;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Tests;

/// <summary>The Transfer section's security settings: mutual TLS is required once the engine runs, peers are named by
/// certificate, and every mistake is a configuration error naming its key.</summary>
public sealed class TransferConfigurationTests : IDisposable
{
    private readonly PeerPki _pki = PeerPki.Create();
    private readonly PeerIdentity _host;

    public TransferConfigurationTests() => _host = _pki.Issue("gpu-a.test", uri: "spiffe://dataplane.test/gpu-a");

    public void Dispose() => _pki.Dispose();

    private (string, string)[] Tls(PeerIdentity? host = null) =>
    [
        ("Transfer:Tls:Certificate", (host ?? _host).CertificatePath),
        ("Transfer:Tls:Key", (host ?? _host).KeyPath),
        ("Transfer:Tls:ClientCa", _pki.CaPath),
    ];

    private static DaemonOptions Bind(params (string Key, string Value)[] values) =>
        DaemonConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    private static IReadOnlyList<string> Errors(params (string Key, string Value)[] values) =>
        Assert.Throws<ConfigurationException>(() => Bind(values)).Errors;

    [Fact]
    public void A_listener_without_certificates_is_one_error_naming_the_missing_keys()
    {
        var errors = Errors(("Transfer:Listen", "127.0.0.1:0"), ("Transfer:AllowedPeers:0", "gpu-b.test"));

        var error = Assert.Single(errors);
        Assert.StartsWith("Transfer:Tls:Certificate, Transfer:Tls:Key, Transfer:Tls:ClientCa: required", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Peers_without_certificates_name_only_the_keys_that_are_missing()
    {
        var errors = Errors(("Transfer:Peers:0", "gpu-b.test@10.0.0.2:18520"), ("Transfer:Tls:Certificate", _host.CertificatePath));

        Assert.StartsWith("Transfer:Tls:Key, Transfer:Tls:ClientCa: required", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Peers_are_named_and_the_node_name_comes_from_the_certificate()
    {
        var o = Bind([.. Tls(), ("Transfer:Peers:0", "gpu-b.test@10.0.0.2:18520"), ("Transfer:Peers:1", "gpu-c.test:18520"),
            ("Transfer:Listen", "127.0.0.1:0"), ("Transfer:Encryption", "none")]);

        Assert.Equal([new TransferPeer("gpu-b.test", "10.0.0.2", 18520), new TransferPeer("gpu-c.test", "gpu-c.test", 18520)], o.Transfer.Peers);
        Assert.Equal("gpu-a.test", o.Transfer.Engine.NodeName);
        Assert.Equal(TransferEncryption.None, o.Transfer.Encryption);
        // Without AllowedPeers, the peers it spills to may spill to it.
        Assert.True(o.Transfer.AllowedPeers.Allows("gpu-c.test"));
        Assert.False(o.Transfer.AllowedPeers.Allows("gpu-d.test"));
    }

    [Fact]
    public void The_node_name_may_be_any_name_of_the_certificate_but_no_other()
    {
        Assert.Equal("spiffe://dataplane.test/gpu-a",
            Bind([.. Tls(), ("Transfer:Listen", "127.0.0.1:0"), ("Transfer:AllowedPeers", "*"), ("Transfer:NodeName", "spiffe://dataplane.test/gpu-a")]).Transfer.Engine.NodeName);

        var error = Assert.Single(Errors([.. Tls(), ("Transfer:Listen", "127.0.0.1:0"), ("Transfer:AllowedPeers", "*"), ("Transfer:NodeName", "gpu-z.test")]));
        Assert.StartsWith("Transfer:NodeName: 'gpu-z.test' is not a name of Transfer:Tls:Certificate", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.2:18520", "gives only an address")]
    [InlineData("gpu_b@10.0.0.2:18520", "is not a DNS name or URI")]
    [InlineData("gpu-b@10.0.0.2", "is not NAME@HOST:PORT")]
    public void Peers_named_by_address_or_malformed_are_refused(string peer, string reason)
    {
        var error = Assert.Single(Errors([.. Tls(), ("Transfer:Peers:0", peer)]));
        Assert.StartsWith("Transfer:Peers: ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.9.9.9", "is an address")]
    [InlineData("gpu b", "is not a DNS name or URI")]
    public void Allowed_peers_are_certificate_names(string allowed, string reason)
    {
        var error = Assert.Single(Errors([.. Tls(), ("Transfer:Listen", "127.0.0.1:0"), ("Transfer:AllowedPeers:0", allowed)]));
        Assert.StartsWith("Transfer:AllowedPeers: ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_listener_must_say_who_may_spill_to_it()
    {
        var error = Assert.Single(Errors([.. Tls(), ("Transfer:Listen", "127.0.0.1:0")]));
        Assert.StartsWith("Transfer:AllowedPeers: name the peers", error, StringComparison.Ordinal);
        Assert.True(Bind([.. Tls(), ("Transfer:Listen", "127.0.0.1:0"), ("Transfer:AllowedPeers", "*")]).Transfer.AllowedPeers.AllowsAny);
    }

    [Fact]
    public void Unusable_tls_files_are_named()
    {
        var other = _pki.Issue("gpu-b.test");
        var foreign = _pki.Issue("gpu-c.test", foreign: true);
        var serverOnly = _pki.Issue("gpu-d.test", clientAuth: false);
        (string, string)[] peers = [("Transfer:Peers:0", "gpu-b.test@10.0.0.2:18520")];

        Assert.StartsWith("Transfer:Tls:Certificate: ", Assert.Single(Errors([.. peers, ("Transfer:Tls:Certificate", _host.CertificatePath),
            ("Transfer:Tls:Key", other.KeyPath), ("Transfer:Tls:ClientCa", _pki.CaPath)])), StringComparison.Ordinal);
        Assert.StartsWith("Transfer:Tls:ClientCa: ", Assert.Single(Errors([.. peers, ("Transfer:Tls:Certificate", _host.CertificatePath),
            ("Transfer:Tls:Key", _host.KeyPath), ("Transfer:Tls:ClientCa", _host.KeyPath)])), StringComparison.Ordinal);
        Assert.Contains("not valid for clientAuth", Assert.Single(Errors([.. peers, .. Tls(foreign)])), StringComparison.Ordinal);
        Assert.Contains("not valid for clientAuth", Assert.Single(Errors([.. peers, .. Tls(serverOnly)])), StringComparison.Ordinal);
        Assert.Contains("does not exist", string.Join("\n", Errors([.. peers, ("Transfer:Tls:Certificate", "/nonexistent.pem"),
            ("Transfer:Tls:Key", _host.KeyPath), ("Transfer:Tls:ClientCa", _pki.CaPath)])), StringComparison.Ordinal);
    }

    [Fact]
    public void Rpc_limits_are_bound_and_checked()
    {
        var o = Bind([.. Tls(), ("Transfer:Peers:0", "gpu-b.test@10.0.0.2:1"), ("Transfer:Rpc:MaxMessageBytes", "1048576"),
            ("Transfer:Rpc:BytesPerConnection", "4194304"), ("Transfer:Rpc:PartialMessagesPerConnection", "2")]);
        Assert.Equal((1 << 20, 4L << 20, 2), (o.Transfer.Rpc.MaxMessageBytes, o.Transfer.Rpc.BytesPerConnection, o.Transfer.Rpc.PartialMessagesPerConnection));

        var error = Assert.Single(Errors([.. Tls(), ("Transfer:Peers:0", "gpu-b.test@10.0.0.2:1"), ("Transfer:Rpc:MaxMessageBytes", "8388608"),
            ("Transfer:Rpc:BytesPerConnection", "4194304")]));
        Assert.StartsWith("Transfer:Rpc:BytesPerConnection: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_listen_or_peers_nothing_about_tls_is_required()
    {
        Assert.False(Bind().Transfer.Enabled);
        Assert.Equal(PeerAllowList.None.ToString(), Bind().Transfer.AllowedPeers.ToString());
    }
}
