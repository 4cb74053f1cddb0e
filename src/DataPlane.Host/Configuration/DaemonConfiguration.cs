using DataPlane.Batching.Frontend;
using DataPlane.Batching.Options;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Configuration;

/// <summary>Builds the daemon's configuration (JSON file, DATAPLANE_ environment variables,
/// command line, in that order of precedence) and binds it to <see cref="DaemonOptions"/> by hand.
/// Every invalid or unknown key is reported with its full name; see docs/CONFIGURATION.md.</summary>
public static class DaemonConfiguration
{
    /// <summary>Short command-line switches and the keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--upstream"] = "Upstream:Address",
        ["--grpc"] = "Listen:Grpc",
        ["--http"] = "Listen:Http",
        ["--allow-client-shm"] = "SharedMemory:AllowClient",
        ["--admin"] = "Listen:Admin",
        ["--policy"] = "Batching:Defaults:Policy",
        ["--max-queue-delay-ms"] = "Batching:Defaults:MaxQueueDelayMs",
        ["--min-window-ms"] = "Batching:Defaults:MinWindowMs",
        ["--max-window-ms"] = "Batching:Defaults:MaxWindowMs",
        ["--slo-ms"] = "Batching:Defaults:SloMs",
    };

    /// <summary>Layers the configuration sources (see <see cref="ConfigurationLayers"/>). <c>--allow-client-shm</c>
    /// alone means <c>--allow-client-shm=true</c>, as Triton's flag may be given.</summary>
    public static IConfigurationRoot Build(string[] args)
    {
        var expanded = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            bool bare = args[i] == "--allow-client-shm" &&
                (i + 1 == args.Length || !bool.TryParse(args[i + 1], out _));
            expanded.Add(bare ? "--allow-client-shm=true" : args[i]);
        }

        return ConfigurationLayers.Build([.. expanded], "DATAPLANE_", Switches);
    }

    /// <summary>Binds and validates; throws <see cref="ConfigurationException"/> listing every problem.</summary>
    public static DaemonOptions Bind(IConfiguration config)
    {
        var b = new ConfigBinder(config);
        var grpc = ReadListener(b, "grpc", "Listen:Grpc", "0.0.0.0:9001", HttpProtocols.Http2, TlsBinding.Read(b, "Listen:Tls"));
        int grpcDscp = b.Int("Listen:GrpcDscp", -1, -1, 63);
        if (grpc is not null && grpcDscp >= 0)
        {
            grpc = grpc with { Dscp = grpcDscp };
        }

        var http = ReadListener(b, "http", "Listen:Http", "0.0.0.0:9000", HttpProtocols.Http1AndHttp2, TlsBinding.Read(b, "Listen:Tls"));
        var admin = ReadListener(b, "admin", "Listen:Admin", "127.0.0.1:9002", HttpProtocols.Http1AndHttp2, null);
        var connections = ConnectionLimitOptions.Read(b, "Listen:Limits",
            [("Grpc", "grpc"), ("Http", "http"), ("Admin", "admin"), ("Transfer", "transfer")]);
        var frontend = new FrontendOptions
        {
            AllowClientSharedMemory = b.Bool("SharedMemory:AllowClient", false),
            HttpMaxInputBytes = b.Long("Limits:HttpMaxInputBytes", 64L << 20, 1, int.MaxValue),
        };

        var upstream = new UpstreamOptions
        {
            Address = b.String("Upstream:Address", ""),
            HealthInterval = b.Milliseconds("Upstream:HealthIntervalMs", TimeSpan.FromSeconds(1), 10, 600_000),
            ProbeTimeout = b.Milliseconds("Upstream:ProbeTimeoutMs", TimeSpan.FromSeconds(2), 10, 600_000),
            RequestTimeout = b.Seconds("Upstream:RequestTimeoutSeconds", TimeSpan.FromSeconds(30), 0.001, 86_400),
            KeepAlivePingDelay = b.Seconds("Upstream:KeepAliveSeconds", TimeSpan.FromSeconds(20), 1, 86_400),
            KeepAlivePingTimeout = b.Seconds("Upstream:KeepAliveTimeoutSeconds", TimeSpan.FromSeconds(10), 1, 86_400),
            MaxResponseBytes = b.Int("Upstream:MaxResponseBytes", int.MaxValue, 1024, int.MaxValue),
        };
        if (upstream.Address.Length > 0 &&
            (!Uri.TryCreate(upstream.Address, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https")))
        {
            b.Error("Upstream:Address", $"'{upstream.Address}' is not an http:// or https:// URL (Triton's gRPC port, e.g. http://127.0.0.1:8001)");
        }

        var limits = new TensorLimits
        {
            MaxTensors = b.Int("Limits:MaxTensors", TensorLimits.Default.MaxTensors, 1, 4096),
            MaxElementsPerTensor = b.Long("Limits:MaxTensorElements", TensorLimits.Default.MaxElementsPerTensor, 1, int.MaxValue),
            MaxBytesPerTensor = b.Long("Limits:MaxTensorBytes", TensorLimits.Default.MaxBytesPerTensor, 1, int.MaxValue),
            MaxBytesElementLength = b.Long("Limits:MaxBytesElement", TensorLimits.Default.MaxBytesElementLength, 0, int.MaxValue),
        };
        int maxMessage = b.Int("Limits:MaxMessageBytes", int.MaxValue, 1024, int.MaxValue);

        var defaults = ReadModel(b, "Batching:Defaults", new ModelBatchingOptions());
        var models = new Dictionary<string, ModelBatchingOptions>(StringComparer.Ordinal);
        foreach (var model in b.Children("Batching:Models"))
        {
            models[model.Key] = ReadModel(b, model.Path, defaults);
        }

        var shutdown = b.Seconds("Shutdown:TimeoutSeconds", TimeSpan.FromSeconds(30), 0, 3600);

        var simulation = SimulationOptions.Default;
        try
        {
            simulation = SimulationOptions.Bind(b.Section("Simulation"));
        }
        catch (SimulationConfigException e)
        {
            b.Error(e.Key, e.Reason);
        }

        var hostControl = HostControlBinding.Bind(b);
        var transfer = TransferBinding.Bind(b);
        var authorization = AuthorizationSettings.Bind(b, config, grpc?.Tls?.RequireClientCertificate == true);

        LoggingBinding.Read(b);
        var tracing = DataPlane.Hosting.Tracing.TracingOptions.Read(b);
        CheckDistinct(b, ("Listen:Grpc", grpc?.EndPoint), ("Listen:Http", http?.EndPoint), ("Listen:Admin", admin?.EndPoint), ("Transfer:Listen", transfer.Listen));
        b.RejectUnknownKeys();
        b.ThrowIfInvalid();

        return new DaemonOptions
        {
            Grpc = grpc!,
            Http = http!,
            Admin = admin!,
            Connections = connections,
            Frontend = frontend,
            Upstream = upstream,
            Batching = new BatchingOptions { Defaults = defaults, Models = models, Limits = limits },
            Simulation = simulation,
            MaxMessageBytes = maxMessage,
            ShutdownTimeout = shutdown,
            HostControl = hostControl,
            Transfer = transfer,
            Authorization = authorization,
            Tracing = tracing,
        };
    }

    /// <summary>Two listeners on one address would fail at start with "address in use"; name both keys instead.</summary>
    private static void CheckDistinct(ConfigBinder b, params (string Key, System.Net.IPEndPoint? EndPoint)[] listeners)
    {
        for (int i = 0; i < listeners.Length; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (listeners[i].EndPoint is { Port: > 0 } a && listeners[j].EndPoint is { } other && a.Port == other.Port
                    && (a.Address.Equals(other.Address) || IsAny(a.Address) || IsAny(other.Address)))
                {
                    b.Error(listeners[i].Key, $"{a} overlaps {listeners[j].Key} ({other}); each listener needs its own port");
                }
            }
        }

        static bool IsAny(System.Net.IPAddress address) =>
            address.Equals(System.Net.IPAddress.Any) || address.Equals(System.Net.IPAddress.IPv6Any);
    }

    private static ListenerOptions? ReadListener(ConfigBinder b, string name, string key, string fallback, HttpProtocols protocols, TlsOptions? tls)
    {
        var endpoint = EndPoints.Parse(b.String(key, fallback), key, b);
        return endpoint == null ? null : new ListenerOptions(name, endpoint, protocols, tls);
    }

    private static ModelBatchingOptions ReadModel(ConfigBinder b, string key, ModelBatchingOptions d)
    {
        var o = new ModelBatchingOptions
        {
            Policy = b.Enum(key + ":Policy", d.Policy),
            MinWindow = b.Milliseconds(key + ":MinWindowMs", d.MinWindow, 0, 1000),
            MaxWindow = b.Milliseconds(key + ":MaxWindowMs", d.MaxWindow, 0, 1000),
            MaxQueueDelay = b.Milliseconds(key + ":MaxQueueDelayMs", d.MaxQueueDelay, 0, 60_000),
            PreferredBatchSizes = b.IntList(key + ":PreferredBatchSizes", d.PreferredBatchSizes, 1, 1 << 20),
            MaxQueueSize = b.Int(key + ":MaxQueueSize", d.MaxQueueSize, 1, 1 << 24),
            MaxQueueBytes = b.Long(key + ":MaxQueueBytes", d.MaxQueueBytes, 1, long.MaxValue),
            PriorityLevels = b.Int(key + ":PriorityLevels", d.PriorityLevels, 1, 16),
            DefaultPriorityLevel = b.Int(key + ":DefaultPriorityLevel", d.DefaultPriorityLevel, 1, 16),
            Slo = b.Milliseconds(key + ":SloMs", d.Slo, 0, 3_600_000),
            MaxQueueTime = b.Milliseconds(key + ":MaxQueueTimeMs", d.MaxQueueTime, 0, 3_600_000),
            MaxConcurrentBatches = b.Int(key + ":MaxConcurrentBatches", d.MaxConcurrentBatches, 0, 1024),
            MaxBatchSize = b.Int(key + ":MaxBatchSize", d.MaxBatchSize, 0, 1 << 20),
            SpillQueueThreshold = b.Int(key + ":SpillQueueThreshold", d.SpillQueueThreshold, 0, 1 << 24),
            PipelineDepth = b.Int(key + ":PipelineDepth", d.PipelineDepth, 0, 16),
            PipelineLead = b.Milliseconds(key + ":PipelineLeadMs", d.PipelineLead, 0, 1000),
            InitialLatencyIntercept = b.Milliseconds(key + ":InitialLatencyMs", d.InitialLatencyIntercept, 0, 60_000),
            InitialLatencyPerItem = b.Milliseconds(key + ":InitialLatencyPerItemMs", d.InitialLatencyPerItem, 0, 60_000),
        };
        if (o.MinWindow > o.MaxWindow)
        {
            b.Error(key + ":MinWindowMs", $"{o.MinWindow.TotalMilliseconds} ms is more than MaxWindowMs ({o.MaxWindow.TotalMilliseconds} ms)");
        }

        if (o.DefaultPriorityLevel > o.PriorityLevels)
        {
            b.Error(key + ":DefaultPriorityLevel", $"{o.DefaultPriorityLevel} is more than PriorityLevels ({o.PriorityLevels})");
        }

        return o;
    }
}
