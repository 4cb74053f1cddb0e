using DataPlane.Edge.Api;
using DataPlane.Edge.Gpu;
using DataPlane.Edge.Routing;
using DataPlane.Edge.Runtimes;
using DataPlane.Edge.Runtimes.Simulation;
using DataPlane.Edge.Serving;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Agent;

/// <summary>The local runtime the agent talks to.</summary>
/// <param name="Kind">llama.cpp, ollama, hailo-ollama or simulated.</param>
/// <param name="Url">Its address; null = the kind's default, and for simulated: start the simulation in-process.</param>
/// <param name="Timeout">Longest a local answer may take.</param>
/// <param name="Simulation">Speed of the simulated runtime.</param>
public sealed record LocalRuntimeOptions(string Kind, Uri? Url, TimeSpan Timeout, SimulatedLocalOptions Simulation)
{
    /// <summary>Generations at once and the local queue (<c>Local:Parallelism</c>, <c>Local:QueueLength</c>).</summary>
    public LocalCapacityOptions Capacity { get; init; } = new();
}

/// <summary>Configuration of the edge agent, validated at start (docs/CONFIGURATION.md).</summary>
public sealed record AgentOptions
{
    public required ListenerOptions Api { get; init; }

    public required ListenerOptions Admin { get; init; }

    /// <summary>Connection caps of the API and admin listeners and idle timeouts (<c>Listen:Limits</c>); caps not given
    /// are derived from the descriptor limit at start.</summary>
    public ConnectionLimitOptions Connections { get; init; } = new();

    public required LocalRuntimeOptions Local { get; init; }

    public GpuOptions Gpu { get; init; } = new();

    public RoutingOptions Routing { get; init; } = new();

    /// <summary>A classifier weights file; null = the model embedded in the binary.</summary>
    public string? ClassifierPath { get; init; }

    public EdgeOptions Serving { get; init; } = new();

    public CircuitBreakerOptions Breaker { get; init; } = new();

    public HedgeDelayOptions Hedge { get; init; } = new();

    /// <summary>Traces over OTLP (Tracing section): off unless an endpoint is set.</summary>
    public DataPlane.Hosting.Tracing.TracingOptions Tracing { get; init; } = DataPlane.Hosting.Tracing.TracingOptions.Off;

    /// <summary>Short switches and the keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--api"] = "Listen:Api",
        ["--admin"] = "Listen:Admin",
        ["--local"] = "Local:Runtime",
        ["--local-url"] = "Local:Url",
        ["--gpu"] = "Gpu:Hosts",
        ["--threshold"] = "Routing:Threshold",
    };

    /// <summary>JSON file (--config), DATAPLANE_AGENT_ environment variables, then the command line.</summary>
    public static IConfigurationRoot Build(string[] args) => ConfigurationLayers.Build(args, "DATAPLANE_AGENT_", Switches);

    public static AgentOptions Bind(IConfiguration configuration)
    {
        var b = new ConfigBinder(configuration);
        var api = EndPoints.Parse(b.String("Listen:Api", "0.0.0.0:8090"), "Listen:Api", b);
        var admin = EndPoints.Parse(b.String("Listen:Admin", "127.0.0.1:9091"), "Listen:Admin", b);
        var apiTls = TlsBinding.Read(b, "Listen:Tls");
        var connections = ConnectionLimitOptions.Read(b, "Listen:Limits", [("Api", "api"), ("Admin", "admin")]);

        var local = ReadLocal(b);
        var localModels = b.StringList("Local:Models", ["local-small"]);
        var gpu = ReadGpu(b);
        var gpuModels = b.StringList("Gpu:Models", []);

        var d = new RoutingOptions();
        var routing = new RoutingOptions
        {
            Threshold = b.Double("Routing:Threshold", d.Threshold, 0, 1),
            UncertaintyBand = b.Double("Routing:UncertaintyBand", d.UncertaintyBand, 0, 1),
            LocalContextTokens = b.Int("Routing:LocalContextTokens", d.LocalContextTokens, 1, 1 << 20),
            LocalMaxTokens = b.Int("Routing:LocalMaxTokens", d.LocalMaxTokens, 1, 1 << 20),
            TokenConfidenceK = b.Int("Routing:TokenConfidenceK", d.TokenConfidenceK, 1, 256),
            TokenConfidenceQuantile = b.Double("Routing:TokenConfidenceQuantile", d.TokenConfidenceQuantile, 0, 1),
            TokenConfidenceThreshold = b.Double("Routing:TokenConfidenceThreshold", d.TokenConfidenceThreshold, 0, 1),
            GpuOnlyModels = gpuModels,
            LocalModels = localModels,
        };
        string classifier = b.String("Routing:ClassifierPath", "");
        if (classifier.Length > 0 && !File.Exists(classifier))
        {
            b.Error("Routing:ClassifierPath", $"file '{classifier}' does not exist");
        }

        var e = new EdgeOptions();
        var serving = new EdgeOptions
        {
            ApiKeys = ReadApiKeys(b, configuration, localModels, gpuModels),
            LocalModels = localModels,
            GpuModels = gpuModels,
            LocalRuntimeModel = b.String("Local:RuntimeModel", local.Simulation.ModelName),
            DefaultMaxTokens = b.Int("Serving:DefaultMaxTokens", e.DefaultMaxTokens, 1, 1 << 20),
            DefaultSlo = b.Milliseconds("Serving:SloMs", e.DefaultSlo, 1, 600_000),
            ReplaceWait = b.Seconds("Serving:ReplaceWaitSeconds", e.ReplaceWait, 0, 3600),
            MaxRequestBytes = b.Long("Serving:MaxRequestBytes", e.MaxRequestBytes, 1024, 1L << 30),
            InitialLocalTtft = b.Milliseconds("Serving:InitialLocalTtftMs", e.InitialLocalTtft, 0, 600_000),
        };

        var breaker = new CircuitBreakerOptions
        {
            FailureThreshold = b.Int("Breaker:FailureThreshold", 3, 1, 1000),
            Cooldown = b.Seconds("Breaker:CooldownSeconds", TimeSpan.FromSeconds(5), 0.01, 3600),
        };
        var h = new HedgeDelayOptions();
        var hedge = new HedgeDelayOptions
        {
            Percentile = b.Double("Hedge:Percentile", h.Percentile, 0.01, 1),
            Min = b.Milliseconds("Hedge:MinMs", h.Min, 0, 600_000),
            Max = b.Milliseconds("Hedge:MaxMs", h.Max, 0, 600_000),
            Initial = b.Milliseconds("Hedge:InitialMs", h.Initial, 0, 600_000),
            MinSamples = b.Int("Hedge:MinSamples", h.MinSamples, 1, 100_000),
        };
        if (hedge.Min > hedge.Max)
        {
            b.Error("Hedge:MinMs", $"{hedge.Min.TotalMilliseconds} ms is more than Hedge:MaxMs ({hedge.Max.TotalMilliseconds} ms)");
        }

        foreach (string m in gpuModels.Intersect(localModels))
        {
            b.Error("Gpu:Models", $"model '{m}' is also in Local:Models; a model is either answered locally or only by the GPU pool");
        }

        if (api is not null && admin is not null && api.Port > 0 && api.Port == admin.Port
            && (api.Address.Equals(admin.Address) || IsAny(api.Address) || IsAny(admin.Address)))
        {
            b.Error("Listen:Admin", $"{admin} overlaps Listen:Api ({api}); each listener needs its own port");
        }

        LoggingBinding.Read(b);
        var tracing = DataPlane.Hosting.Tracing.TracingOptions.Read(b);
        b.RejectUnknownKeys();
        b.ThrowIfInvalid();
        return new AgentOptions
        {
            Api = new ListenerOptions("api", api!, HttpProtocols.Http1AndHttp2, apiTls),
            Admin = new ListenerOptions("admin", admin!, HttpProtocols.Http1AndHttp2),
            Connections = connections,
            Local = local,
            Gpu = gpu,
            Routing = routing,
            ClassifierPath = classifier.Length > 0 ? classifier : null,
            Serving = serving,
            Breaker = breaker,
            Hedge = hedge,
            Tracing = tracing,
        };
    }

    private static bool IsAny(System.Net.IPAddress address) =>
        address.Equals(System.Net.IPAddress.Any) || address.Equals(System.Net.IPAddress.IPv6Any);

    /// <summary><c>Authorization:Keys:&lt;name&gt;:Sha256</c> (the hex SHA-256 of the key, from <c>dataplane-agent hash-key</c>)
    /// and <c>:Models</c> (names served here, <c>prefix*</c> or <c>*</c>; default <c>*</c>).</summary>
    private static ApiKeySet ReadApiKeys(ConfigBinder b, IConfiguration configuration, IReadOnlyList<string> localModels,
        IReadOnlyList<string> gpuModels)
    {
        var keys = new List<ApiKey>();
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        // Walked without marking the section as read, so that a misspelt key inside an entry is reported.
        foreach (var entry in configuration.GetSection("Authorization:Keys").GetChildren())
        {
            string key = entry.Path;
            string hex = b.String(key + ":Sha256", "").Trim();
            var models = b.StringList(key + ":Models", ["*"]);
            for (int i = 0; i < models.Count; i++)
            {
                string m = models[i];
                int star = m.IndexOf('*', StringComparison.Ordinal);
                if (star >= 0 && star != m.Length - 1)
                {
                    b.Error($"{key}:Models:{i}", $"'{m}' has '*' before its end; a model is a name, a prefix ending in '*', or '*'");
                }
                else if (star < 0 && !localModels.Contains(m, StringComparer.Ordinal) && !gpuModels.Contains(m, StringComparer.Ordinal))
                {
                    b.Error($"{key}:Models:{i}", $"'{m}' is not served here (Local:Models, Gpu:Models: {string.Join(", ", localModels.Concat(gpuModels))})");
                }
            }

            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            {
                b.Error(key + ":Sha256", hex.Length == 0
                    ? "is required: the SHA-256 of the key as 64 hex digits (dataplane-agent hash-key)"
                    : $"'{hex}' is not 64 hex digits (the SHA-256 of the key: dataplane-agent hash-key)");
                continue;
            }

            if (hashes.TryGetValue(hex.ToLowerInvariant(), out string? other))
            {
                b.Error(key + ":Sha256", $"is also the hash of {other}; each key has one entry");
                continue;
            }

            hashes[hex.ToLowerInvariant()] = key;
            keys.Add(new ApiKey(entry.Key, Convert.FromHexString(hex), models));
        }

        return keys.Count == 0 ? ApiKeySet.None : new ApiKeySet(keys);
    }

    private static LocalRuntimeOptions ReadLocal(ConfigBinder b)
    {
        string kind = b.String("Local:Runtime", LocalRuntimeFactory.Simulated).ToLowerInvariant();
        if (!LocalRuntimeFactory.Kinds.Contains(kind))
        {
            b.Error("Local:Runtime", $"'{kind}' is not one of {string.Join(", ", LocalRuntimeFactory.Kinds)}");
        }

        string url = b.String("Local:Url", "");
        Uri? uri = null;
        if (url.Length > 0 && (!Uri.TryCreate(url, UriKind.Absolute, out uri) || (uri.Scheme != "http" && uri.Scheme != "https")))
        {
            b.Error("Local:Url", $"'{url}' is not an http:// or https:// URL");
        }

        var s = new SimulatedLocalOptions();
        var simulation = new SimulatedLocalOptions
        {
            TimeToFirstToken = b.Milliseconds("Local:Simulation:TimeToFirstTokenMs", s.TimeToFirstToken, 0, 600_000),
            TokensPerSecond = b.Double("Local:Simulation:TokensPerSecond", s.TokensPerSecond, 0.01, 100_000),
            MaxTokens = b.Int("Local:Simulation:MaxTokens", s.MaxTokens, 1, 1 << 20),
            Parallelism = b.Int("Local:Simulation:Parallelism", s.Parallelism, 1, 4096),
            ConcurrencySlowdown = b.Double("Local:Simulation:ConcurrencySlowdown", s.ConcurrencySlowdown, 0, 100),
        };
        // 0 (the default): what the runtime reports (llama.cpp, simulated), else one at a time (Ollama's default
        // OLLAMA_NUM_PARALLEL, hailo-ollama).
        int parallelism = b.Int("Local:Parallelism", 0, 0, 4096);
        var c = new LocalCapacityOptions();
        var capacity = new LocalCapacityOptions
        {
            Parallelism = parallelism > 0 ? parallelism : null,
            QueueLength = b.Int("Local:QueueLength", c.QueueLength, 0, LocalCapacityOptions.MaxQueueLength),
        };
        return new LocalRuntimeOptions(kind, uri, b.Seconds("Local:TimeoutSeconds", TimeSpan.FromSeconds(120), 0.1, 86_400), simulation)
        {
            Capacity = capacity,
        };
    }

    private static GpuOptions ReadGpu(ConfigBinder b)
    {
        var hosts = b.StringList("Gpu:Hosts", []);
        foreach (var (host, i) in hosts.Select((h, i) => (h, i)))
        {
            bool dns = host.StartsWith("dns:///", StringComparison.Ordinal);
            if (dns && hosts.Count > 1)
            {
                b.Error($"Gpu:Hosts:{i}", "a dns:/// name must be the only entry");
            }
            else if (!dns && EndPoints.ParseHostPort(host) == null)
            {
                b.Error($"Gpu:Hosts:{i}", $"'{host}' is not host:port or dns:///name:port");
            }
        }

        GpuTlsOptions? tls = null;
        string cert = b.String("Gpu:Tls:Certificate", ""), key = b.String("Gpu:Tls:Key", ""), ca = b.String("Gpu:Tls:Ca", "");
        string crl = b.String("Gpu:Tls:Crl", "");
        if (cert.Length + key.Length + ca.Length > 0)
        {
            TlsBinding.RequireFile(b, "Gpu:Tls:Certificate", cert, required: true);
            TlsBinding.RequireFile(b, "Gpu:Tls:Key", key, required: true);
            TlsBinding.RequireFile(b, "Gpu:Tls:Ca", ca, required: true);
            TlsBinding.CheckCertificate(b, "Gpu:Tls:Certificate", cert, "Gpu:Tls:Key", key);
            TlsBinding.CheckCa(b, "Gpu:Tls:Ca", ca);
            if (crl.Length > 0)
            {
                TlsBinding.CheckCrl(b, "Gpu:Tls:Crl", crl, ca);
            }

            tls = new GpuTlsOptions(cert, key, ca) { CrlPath = crl.Length > 0 ? crl : null };
        }
        else if (crl.Length > 0)
        {
            b.Error("Gpu:Tls:Crl", "needs Gpu:Tls:Certificate, :Key and :Ca: it revokes host certificates of that CA");
        }

        string convention = b.String("Gpu:Convention", "simple");
        if (convention is not ("simple" or "vllm"))
        {
            b.Error("Gpu:Convention", $"'{convention}' is not simple or vllm");
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in b.Children("Gpu:ModelMap"))
        {
            map[entry.Key] = b.String(entry.Path, "");
        }

        var d = new GpuOptions();
        int dscp = b.Int("Gpu:Dscp", -1, -1, 63);
        return new GpuOptions
        {
            Hosts = hosts,
            Dscp = dscp >= 0 ? dscp : null,
            Tls = tls,
            DefaultModel = b.String("Gpu:DefaultModel", d.DefaultModel),
            ModelMap = map,
            Convention = convention,
            RequestTimeout = b.Seconds("Gpu:RequestTimeoutSeconds", d.RequestTimeout, 0.01, 86_400),
            ConnectTimeout = b.Milliseconds("Gpu:ConnectTimeoutMs", d.ConnectTimeout, 1, 600_000),
            KeepAlivePingDelay = b.Seconds("Gpu:KeepAliveSeconds", d.KeepAlivePingDelay, 1, 86_400),
            KeepAlivePingTimeout = b.Seconds("Gpu:KeepAliveTimeoutSeconds", d.KeepAlivePingTimeout, 1, 86_400),
            DnsRefreshInterval = b.Seconds("Gpu:DnsRefreshSeconds", d.DnsRefreshInterval, 1, 86_400),
            Balancing = ReadBalancing(b),
        };
    }

    private static BalancingOptions ReadBalancing(ConfigBinder b)
    {
        var d = new BalancingOptions();
        string policy = b.String("Gpu:Balancing:Policy", "load-aware");
        if (policy is not ("load-aware" or "round-robin"))
        {
            b.Error("Gpu:Balancing:Policy", $"'{policy}' is not load-aware or round-robin");
        }

        var baseEjection = b.Seconds("Gpu:Balancing:BaseEjectionSeconds", d.BaseEjectionTime, 0.01, 86_400);
        var maxEjection = b.Seconds("Gpu:Balancing:MaxEjectionSeconds", d.MaxEjectionTime, 0.01, 86_400);
        if (maxEjection < baseEjection)
        {
            b.Error("Gpu:Balancing:MaxEjectionSeconds", $"{maxEjection.TotalSeconds} s is shorter than BaseEjectionSeconds ({baseEjection.TotalSeconds} s)");
        }

        return new BalancingOptions
        {
            Policy = policy == "round-robin" ? BalancingPolicy.RoundRobin : BalancingPolicy.LoadAware,
            ConsecutiveFailures = b.Int("Gpu:Balancing:ConsecutiveFailures", d.ConsecutiveFailures, 1, 1_000_000),
            OutlierFactor = b.Double("Gpu:Balancing:OutlierFactor", d.OutlierFactor, 1.1, 1000),
            OutlierMinGap = b.Milliseconds("Gpu:Balancing:OutlierMinGapMs", d.OutlierMinGap, 0, 600_000),
            OutlierMinSamples = b.Int("Gpu:Balancing:OutlierMinSamples", d.OutlierMinSamples, 1, GpuHost.SampleCapacity),
            OutlierWindow = b.Seconds("Gpu:Balancing:OutlierWindowSeconds", d.OutlierWindow, 0.1, 3600),
            BaseEjectionTime = baseEjection,
            MaxEjectionTime = maxEjection,
            MaxEjectedPercent = b.Int("Gpu:Balancing:MaxEjectedPercent", d.MaxEjectedPercent, 0, 100),
            ProbeInterval = b.Milliseconds("Gpu:Balancing:ProbeIntervalMs", d.ProbeInterval, 10, 3_600_000),
            ReportMaxAge = b.Milliseconds("Gpu:Balancing:ReportMaxAgeMs", d.ReportMaxAge, 10, 3_600_000),
            LatencyDecay = b.Seconds("Gpu:Balancing:LatencyDecaySeconds", d.LatencyDecay, 0, 86_400),
        };
    }
}
