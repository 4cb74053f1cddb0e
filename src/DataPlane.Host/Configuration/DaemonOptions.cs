using DataPlane.Batching.Frontend;
using DataPlane.Batching.Frontend.Authorization;
using DataPlane.Batching.Options;
using DataPlane.HostControl;
using DataPlane.Hosting.Listeners;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using DataPlane.Spillover;

namespace DataPlane.Host.Configuration;

/// <summary>Everything the `dataplane serve` daemon is configured with, validated at start.</summary>
public sealed record DaemonOptions
{
    /// <summary>The KServe v2 gRPC front end (h2c, or TLS/mTLS when configured). Default 0.0.0.0:9001.</summary>
    public required ListenerOptions Grpc { get; init; }

    /// <summary>The KServe v2 HTTP/REST front end (Triton's port 8000 protocol: HTTP/1.1, or HTTP/1.1 and HTTP/2 over TLS).
    /// Default 0.0.0.0:9000.</summary>
    public required ListenerOptions Http { get; init; }

    /// <summary>Metrics, health and status over HTTP/1.1. Default 127.0.0.1:9002 (loopback only).</summary>
    public required ListenerOptions Admin { get; init; }

    /// <summary>Connection caps per listener and idle timeouts (<c>Listen:Limits</c>); caps not given are derived from
    /// the descriptor limit at start.</summary>
    public ConnectionLimitOptions Connections { get; init; } = new();

    /// <summary>Front-end settings that are not per model (client shared memory).</summary>
    public FrontendOptions Frontend { get; init; } = new();

    public UpstreamOptions Upstream { get; init; } = new();

    public BatchingOptions Batching { get; init; } = new();

    /// <summary>Models of the embedded simulated Triton used when no upstream address is set.</summary>
    public SimulationOptions Simulation { get; init; } = SimulationOptions.Default;

    /// <summary>Largest gRPC message accepted from clients (and largest HTTP request body). Default 2 GiB − 1, Triton's
    /// limit; memory is bounded by each model's queue byte budget (MaxQueueBytes).</summary>
    public int MaxMessageBytes { get; init; } = int.MaxValue;

    /// <summary>How long shutdown waits for admitted requests to be answered. Default 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The transfer engine and spillover to peer hosts (Transfer section); off by default.</summary>
    public TransferSettings Transfer { get; init; } = new();

    /// <summary>Traces over OTLP (Tracing section): off unless an endpoint is set.</summary>
    public DataPlane.Hosting.Tracing.TracingOptions Tracing { get; init; } = DataPlane.Hosting.Tracing.TracingOptions.Off;

    /// <summary>Per-client authorization (Authorization section): on with mutual TLS, off without.</summary>
    public AuthorizationOptions Authorization { get; init; } = AuthorizationOptions.Off;

    /// <summary>Topology discovery and host tuning (Topology and Tuning sections).</summary>
    public HostControlOptions HostControl { get; init; } = new();

    /// <summary>True when the daemon runs in front of the embedded simulation.</summary>
    public bool UsesEmbeddedSimulation => string.IsNullOrEmpty(Upstream.Address);
}
