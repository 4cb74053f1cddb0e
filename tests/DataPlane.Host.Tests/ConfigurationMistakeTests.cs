using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Host.Configuration;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Tests;

/// <summary>Every configuration mistake is one line naming the key, switch or file, found before anything starts.</summary>
public sealed class ConfigurationMistakeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlyList<string> Errors(params (string Key, string Value)[] values) =>
        Assert.Throws<ConfigurationException>(() => DaemonConfiguration.Bind(
            new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build())).Errors;

    private static IReadOnlyList<string> BuildErrors(params string[] args) =>
        Assert.Throws<ConfigurationException>(() => DaemonConfiguration.Bind(DaemonConfiguration.Build(args))).Errors;

    private string File(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void An_unknown_key_is_reported_at_any_depth()
    {
        Assert.Equal(["Batching:Models:simple:MaxQueueSise: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(("Batching:Models:simple:MaxQueueSise", "8")));
        Assert.Equal(["Upstraem:Address: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(("Upstraem:Address", "http://127.0.0.1:8001")));
        Assert.Equal(["Frobnicate: unknown setting (check its spelling and docs/CONFIGURATION.md)"], Errors(("Frobnicate", "1")));
        Assert.Equal(["Listen:Tls:Certficate: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(("Listen:Tls:Certficate", "/etc/x.pem")));
        // What is read is accepted, however deep.
        var o = DaemonConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Batching:Models:simple:MaxQueueSize"] = "8",
            ["Batching:Models:simple:PreferredBatchSizes:0"] = "4",
            ["Simulation:ServerVersion"] = "2.70.0",
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:Console:LogLevel:Microsoft"] = "warning",
        }).Build());
        Assert.Equal(8, o.Batching.For("simple").MaxQueueSize);
    }

    [Fact]
    public void A_value_given_as_an_object_or_a_list_is_the_wrong_type()
    {
        Assert.Equal(["Listen:Grpc: expected a single value, not an object or a list"], Errors(("Listen:Grpc:Port", "9001")));
        Assert.Equal(["Batching:Models:simple:MaxQueueSize: expected a single value, not an object or a list"],
            Errors(("Batching:Models:simple:MaxQueueSize:0", "8")));
        Assert.Equal(["Batching:Defaults:MaxQueueSize: 'many' is not a whole number from 1 to 16777216"],
            Errors(("Batching:Defaults:MaxQueueSize", "many")));
    }

    [Theory]
    [InlineData("Verbose")]
    [InlineData("")]
    [InlineData("3")]
    [InlineData("Informational")]
    public void A_log_level_dotnet_does_not_know_is_reported(string level)
    {
        Assert.Equal([$"Logging:LogLevel:Default: '{level}' is not a log level ({LoggingBinding.LevelNames})"],
            Errors(("Logging:LogLevel:Default", level)));
        Assert.Equal([$"Logging:Console:LogLevel:Grpc: '{level}' is not a log level ({LoggingBinding.LevelNames})"],
            Errors(("Logging:Console:LogLevel:Grpc", level)));
        Assert.Equal(["Logging:Levels:Default: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(("Logging:Levels:Default", "Debug")));
    }

    [Fact]
    public void Environment_variables_of_other_programs_are_left_alone_but_typos_under_our_sections_are_not()
    {
        string prefix = $"DPTEST{Environment.ProcessId}X{Guid.NewGuid():N}_";
        try
        {
            Environment.SetEnvironmentVariable(prefix + "BIN", "/usr/bin/dataplane");
            Environment.SetEnvironmentVariable(prefix + "AGENT_Gpu__Hosts", "10.0.0.1:9001");
            var config = ConfigurationLayers.Build([], prefix, DaemonConfiguration.Switches);
            _ = DaemonConfiguration.Bind(config);

            Environment.SetEnvironmentVariable(prefix + "Upstream__Adress", "http://127.0.0.1:8001");
            config = ConfigurationLayers.Build([], prefix, DaemonConfiguration.Switches);
            var errors = Assert.Throws<ConfigurationException>(() => DaemonConfiguration.Bind(config)).Errors;
            Assert.Equal(["Upstream:Adress: unknown setting (check its spelling and docs/CONFIGURATION.md)"], errors);
        }
        finally
        {
            foreach (string name in new[] { "BIN", "AGENT_Gpu__Hosts", "Upstream__Adress" })
            {
                Environment.SetEnvironmentVariable(prefix + name, null);
            }
        }
    }

    [Fact]
    public void Command_line_mistakes_name_the_argument()
    {
        Assert.Equal(["unknown switch '--frobnicate' (--help lists the switches; any configuration key works as --Section:Key=value)"],
            BuildErrors("--frobnicate"));
        Assert.Equal(["--grpc needs a value (it sets Listen:Grpc)"], BuildErrors("--grpc"));
        Assert.Equal(["--grpc needs a value (it sets Listen:Grpc)"], BuildErrors("--grpc", "--http", "127.0.0.1:9000"));
        Assert.Equal(["--config needs a value: the JSON configuration file"], BuildErrors("--config"));
        Assert.Equal(["--Batching:Defaults:SloMs needs a value (--Section:Key=value)"], BuildErrors("--Batching:Defaults:SloMs"));
        Assert.Equal(["unexpected argument 'extra' (--help lists the switches)"], BuildErrors("--grpc", "127.0.0.1:9001", "extra"));
        Assert.Equal(["unknown switch '-v' (--help lists the switches; any configuration key works as --Section:Key=value)"], BuildErrors("-v"));
        Assert.Equal(["Frobnicate:Level: unknown setting (check its spelling and docs/CONFIGURATION.md)"], BuildErrors("--Frobnicate:Level=3"));

        // The valid forms still work: short switches with a value or '=', keys with '=' or a value, a bare flag.
        var o = DaemonConfiguration.Bind(DaemonConfiguration.Build(
            ["--grpc=127.0.0.1:7001", "--http", "127.0.0.1:7000", "--Batching:Defaults:SloMs", "25", "--Upstream:Address=", "--allow-client-shm"]));
        Assert.Equal(7001, o.Grpc.EndPoint.Port);
        Assert.Equal(7000, o.Http.EndPoint.Port);
        Assert.Equal(TimeSpan.FromMilliseconds(25), o.Batching.Defaults.Slo);
        Assert.True(o.Frontend.AllowClientSharedMemory);
    }

    [Fact]
    public void A_bad_configuration_file_is_one_line_naming_the_file()
    {
        string malformed = File("malformed.json", "{ \"Listen\": { \"Grpc\": \"0.0.0.0:9001\", } \n \"Upstream\" }");
        string line = Assert.Single(BuildErrors("--config", malformed));
        Assert.StartsWith($"--config {malformed}: not valid JSON: ", line, StringComparison.Ordinal);
        Assert.Contains("LineNumber: 1", line);

        string empty = File("empty.json", "  \n");
        Assert.Equal([$"--config {empty}: is empty; expected a JSON object such as {{\"Listen\": {{…}}}}"], BuildErrors("--config", empty));
        string array = File("array.json", "[1, 2]");
        Assert.Equal([$"--config {array}: holds a JSON array; expected an object at the top"], BuildErrors("--config", array));
        string missing = Path.Combine(_dir, "missing.json");
        Assert.Equal([$"--config {missing}: file does not exist"], BuildErrors("--config", missing));
        Assert.Equal([$"--config {_dir}: is a directory, not a JSON file"], BuildErrors("--config", _dir));

        string duplicate = File("duplicate.json", "{ \"Shutdown\": { \"TimeoutSeconds\": 1, \"TimeoutSeconds\": 2 } }");
        line = Assert.Single(BuildErrors("--config", duplicate));
        Assert.StartsWith($"--config {duplicate}: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);

        string typo = File("typo.json", "{ \"Batching\": { \"Models\": { \"simple\": { \"MaxQueueSise\": 8 } } } }");
        Assert.Equal(["Batching:Models:simple:MaxQueueSise: unknown setting (check its spelling and docs/CONFIGURATION.md)"], BuildErrors("--config", typo));
        string wrongType = File("type.json", "{ \"Listen\": { \"Grpc\": { \"Port\": 9001 } }, \"Shutdown\": { \"TimeoutSeconds\": true } }");
        Assert.Equal(["Shutdown:TimeoutSeconds: 'True' is not a number from 0 to 3600", "Listen:Grpc: expected a single value, not an object or a list"],
            BuildErrors("--config", wrongType));
    }

    [Fact]
    public void Certificates_that_do_not_load_are_named_by_their_key()
    {
        using var key = RSA.Create(2048);
        using var other = RSA.Create(2048);
        var request = new CertificateRequest("CN=gpu-host", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        string cert = File("host.pem", certificate.ExportCertificatePem());
        string privateKey = File("host.key", key.ExportPkcs8PrivateKeyPem());
        string wrongKey = File("other.key", other.ExportPkcs8PrivateKeyPem());
        string notPem = File("notes.txt", "this is not a certificate\n");

        // A correct pair with a CA loads.
        _ = Bind(("Listen:Tls:Certificate", cert), ("Listen:Tls:Key", privateKey), ("Listen:Tls:ClientCa", cert));

        var mismatch = Errors(("Listen:Tls:Certificate", cert), ("Listen:Tls:Key", wrongKey));
        Assert.True(mismatch.Count == 1 && mismatch[0].StartsWith($"Listen:Tls:Key: the private key in '{wrongKey}' does not match the certificate in '{cert}'",
            StringComparison.Ordinal), string.Join("\n", mismatch));
        var line = Assert.Single(Errors(("Listen:Tls:Certificate", notPem), ("Listen:Tls:Key", privateKey)));
        Assert.StartsWith($"Listen:Tls:Certificate: file '{notPem}' holds no PEM certificate", line, StringComparison.Ordinal);
        line = Assert.Single(Errors(("Listen:Tls:Certificate", cert), ("Listen:Tls:Key", notPem)));
        Assert.Equal($"Listen:Tls:Key: file '{notPem}' holds no PEM private key (RSA or ECDSA, unencrypted)", line);
        Assert.Equal([$"Listen:Tls:ClientCa: file '{notPem}' holds no PEM certificate"],
            Errors(("Listen:Tls:Certificate", cert), ("Listen:Tls:Key", privateKey), ("Listen:Tls:ClientCa", notPem)));
        Assert.Equal(["Listen:Tls:ClientCa: file '/nonexistent/ca.pem' does not exist"],
            Errors(("Listen:Tls:Certificate", cert), ("Listen:Tls:Key", privateKey), ("Listen:Tls:ClientCa", "/nonexistent/ca.pem")));
    }

    [Fact]
    public void Two_listeners_on_one_port_are_a_configuration_error()
    {
        Assert.Equal(["Listen:Http: 0.0.0.0:9001 overlaps Listen:Grpc (127.0.0.1:9001); each listener needs its own port"],
            Errors(("Listen:Grpc", "127.0.0.1:9001"), ("Listen:Http", "0.0.0.0:9001")));
        _ = Bind(("Listen:Grpc", "127.0.0.1:0"), ("Listen:Http", "127.0.0.1:0"), ("Listen:Admin", "127.0.0.1:0"));
    }

    [Fact]
    public void A_port_in_use_names_the_listener_and_the_address()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var taken = (IPEndPoint)holder.LocalEndPoint!;
        var listeners = new List<(string, IPEndPoint)> { ("Listen:Grpc", new IPEndPoint(IPAddress.Loopback, 0)), ("Listen:Admin", taken) };

        // Kestrel's form names the address; a bare SocketException is matched by trying the addresses again.
        var kestrel = new IOException($"Failed to bind to address http://{taken}: address already in use.",
            new Microsoft.AspNetCore.Connections.AddressInUseException("Address already in use"));
        Assert.Equal([$"Listen:Admin: cannot listen on {taken}: the address is already in use (another process, or another listener of this one, holds it)"],
            ListenFailure.Describe(kestrel, listeners)!.Errors);
        Assert.Equal([$"Listen:Admin: cannot listen on {taken}: the address is already in use (another process, or another listener of this one, holds it)"],
            ListenFailure.Describe(new SocketException((int)SocketError.AddressAlreadyInUse), listeners)!.Errors);
        Assert.Null(ListenFailure.Describe(new IOException("disk full"), listeners));

        // Checked before anything starts, so the host never logs a failed start.
        var e = Assert.Throws<ConfigurationException>(() => ListenFailure.Check(listeners));
        Assert.Equal([$"Listen:Admin: cannot listen on {taken}: the address is already in use (another process, or another listener of this one, holds it)"],
            e.Errors);
        ListenFailure.Check([("Listen:Grpc", new IPEndPoint(IPAddress.Loopback, 0))]);
    }

    private static DaemonOptions Bind(params (string Key, string Value)[] values) =>
        DaemonConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());
}
