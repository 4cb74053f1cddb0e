using System.Collections.Frozen;
using DataPlane.Batching.Batching;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Options;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Batching.Models;

/// <summary>The models the daemon serves and their batchers, learnt from the upstream's model
/// repository (RepositoryIndex, then ModelConfig per model). A health loop probes the upstream's
/// readiness, marks it up or down, re-reads the repository after every recovery and on a
/// schedule, and answers queued requests UNAVAILABLE when the upstream goes down. Readers see an
/// immutable snapshot (lock-free lookups on the request path).</summary>
public sealed partial class ModelRegistry : IDisposable
{
    private readonly TritonUpstream _upstream;
    private readonly BatchingOptions _options;
    private readonly BatchingMetrics _metrics;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private volatile ServerMetadataResponse? _serverMetadata;
    private FrozenSet<string> _unavailable = FrozenSet<string>.Empty;
    private FrozenDictionary<string, ModelBatcher> _models = FrozenDictionary<string, ModelBatcher>.Empty;
    private bool _draining;
    private int _slowProbes;

    private readonly ISpillTarget? _spill;

    public ModelRegistry(TritonUpstream upstream, BatchingOptions options, BatchingMetrics metrics, ILoggerFactory loggers, ISpillTarget? spill = null)
    {
        _spill = spill;
        _upstream = upstream;
        _options = options;
        _metrics = metrics;
        _loggers = loggers;
        _logger = loggers.CreateLogger("DataPlane.Batching.Models");
    }

    /// <summary>Consecutive probes that fail other than by an unreachable upstream before it is marked down.</summary>
    public const int SlowProbeLimit = 3;

    public TritonUpstream Upstream => _upstream;

    public BatchingOptions Options => _options;

    /// <summary>Every known model, by name.</summary>
    public IReadOnlyDictionary<string, ModelBatcher> Models => _models;

    public bool TryGet(string name, out ModelBatcher batcher) => _models.TryGetValue(name, out batcher!);

    /// <summary>The error for a model this daemon does not serve, as Triton words it: UNAVAILABLE while the upstream is
    /// down (its models are unknown), NOT_FOUND "has no available versions" for a model in the repository that is not
    /// loaded, NOT_FOUND "is not found" otherwise.</summary>
    public RpcException NotServed(string name) =>
        !_upstream.IsAvailable ? new RpcException(new Status(StatusCode.Unavailable, $"upstream is unavailable: {_upstream.Describe()}"))
        : _unavailable.Contains(name) ? TritonErrors.NoAvailableVersions(name).ToException()
        : TritonErrors.UnknownModel(name);

    /// <summary>The upstream's ServerMetadata (name, version, extensions) as last read, or null before the first
    /// successful probe. Re-read whenever the upstream comes back, since it may have been replaced.</summary>
    public ServerMetadataResponse? ServerMetadata => _serverMetadata;

    /// <summary>Probes once: readiness, then (when up) the repository. Returns true when up.</summary>
    public async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        var timeout = _upstream.Options.ProbeTimeout;
        try
        {
            var ready = await _upstream.Client.ServerReadyAsync(new ServerReadyRequest(),
                deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!ready.Ready)
            {
                SetDown("upstream reports it is not ready");
                return false;
            }

            if (_serverMetadata == null || !_upstream.IsAvailable)
            {
                _serverMetadata = await _upstream.Client.ServerMetadataAsync(new ServerMetadataRequest(),
                    deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            await RefreshAsync(null, cancellationToken).ConfigureAwait(false);
            _upstream.MarkUp();
            _slowProbes = 0;
            return true;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            // A refused or broken connection is down at once; a probe that merely ran out of time (a busy
            // upstream, a pause) counts as down only when it happens SlowProbeLimit times in a row.
            if (e.StatusCode == StatusCode.Unavailable || ++_slowProbes >= SlowProbeLimit || !_upstream.IsAvailable)
            {
                SetDown($"{e.StatusCode}: {e.Status.Detail}");
            }

            return false;
        }
    }

    /// <summary>Probes every <see cref="UpstreamOptions.HealthInterval"/> until cancelled.</summary>
    public async Task RunHealthLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_upstream.Options.HealthInterval);
        do
        {
            try
            {
                await ProbeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.ProbeFailed(_logger, e);
            }
        }
        while (await WaitAsync(timer, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void SetDown(string reason)
    {
        bool wasUp = _upstream.IsAvailable;
        _upstream.MarkDown(reason);
        if (wasUp)
        {
            string message = $"upstream is unavailable: {_upstream.Describe()}";
            foreach (var batcher in _models.Values)
            {
                batcher.FailQueued(StatusCode.Unavailable, message);
            }
        }
    }

    /// <summary>Re-reads the upstream's repository at once (after a model load or unload through the daemon):
    /// models that became READY get a batcher, models that are no longer READY are retired, and
    /// <paramref name="reload"/> (a model just loaded again) has its configuration re-read.</summary>
    public Task RefreshNowAsync(string? reload, CancellationToken cancellationToken) => RefreshAsync(reload, cancellationToken);

    private async Task RefreshAsync(string? reload, CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var deadline = DateTime.UtcNow + _upstream.Options.ProbeTimeout;
            var index = await _upstream.Client.RepositoryIndexAsync(new RepositoryIndexRequest(),
                deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            var ready = new HashSet<string>(StringComparer.Ordinal);
            var unavailable = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in index.Models)
            {
                if (entry.State != "READY")
                {
                    // In the repository but not loaded (never, unloaded, or failed): requests get Triton's
                    // "has no available versions".
                    unavailable.Add(entry.Name);
                    continue;
                }

                ready.Add(entry.Name);
                bool known = _models.TryGetValue(entry.Name, out var current);
                if (known && entry.Name != reload)
                {
                    continue;
                }

                var config = await _upstream.Client.ModelConfigAsync(new ModelConfigRequest { Name = entry.Name, Version = entry.Version },
                    deadline: DateTime.UtcNow + _upstream.Options.ProbeTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                var model = new ModelDescriptor(config.Config, entry.Version.Length > 0 ? entry.Version : "1");
                if (known && current!.Model.Config.Equals(model.Config) && current.Model.Version == model.Version)
                {
                    continue;
                }

                if (known)
                {
                    Retire(entry.Name, "its configuration changed upstream");
                }

                Add(model);
            }

            foreach (var name in _models.Keys)
            {
                if (!ready.Contains(name))
                {
                    Retire(name, "the upstream no longer serves it");
                }
            }

            unavailable.ExceptWith(ready);
            _unavailable = unavailable.ToFrozenSet(StringComparer.Ordinal);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>Stops serving a model: its batcher stops admitting, sends what it holds and is disposed once every
    /// admitted request has been answered.</summary>
    private void Retire(string name, string reason)
    {
        ModelBatcher? batcher;
        lock (_gate)
        {
            if (!_models.TryGetValue(name, out batcher))
            {
                return;
            }

            var next = new Dictionary<string, ModelBatcher>(_models, StringComparer.Ordinal);
            next.Remove(name);
            _models = next.ToFrozenDictionary(StringComparer.Ordinal);
        }

        Log.ModelRetired(_logger, name, reason);
        batcher.BeginDrain();
        _ = batcher.Drained.ContinueWith(static (_, b) => ((ModelBatcher)b!).Dispose(), batcher, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Add(ModelDescriptor model)
    {
        lock (_gate)
        {
            if (_models.ContainsKey(model.Name))
            {
                return;
            }

            var options = _options.For(model.Name);
            var batcher = new ModelBatcher(model, options, _upstream, _options.Limits, _metrics,
                _loggers.CreateLogger("DataPlane.Batching.ModelBatcher"), upstreamTimeout: _upstream.Options.RequestTimeout, spill: _spill);
            var next = new Dictionary<string, ModelBatcher>(_models, StringComparer.Ordinal) { [model.Name] = batcher };
            _models = next.ToFrozenDictionary(StringComparer.Ordinal);
            if (_draining)
            {
                batcher.BeginDrain();
            }

            Log.ModelAdded(_logger, model.Name, model.Version, model.MaxBatchSize, batcher.PolicyKind.ToString().ToLowerInvariant(),
                batcher.Instances, batcher.Slots - batcher.Instances, model.Decoupled);
        }
    }

    /// <summary>Stops admission on every model and sends what is queued without waiting.</summary>
    public Task DrainAsync()
    {
        lock (_gate)
        {
            _draining = true;
        }

        foreach (var batcher in _models.Values)
        {
            batcher.BeginDrain();
        }

        return Task.WhenAll(_models.Values.Select(b => b.Drained));
    }

    /// <summary>The dispatch loops' liveness, for the systemd watchdog: true when every model's dispatch thread
    /// answers a heartbeat within <paramref name="timeout"/> (true with no models: nothing can be stuck). Cheap: one
    /// wake-up per model, and the batching windows and deadlines are left as they are.</summary>
    public async Task<bool> ProbeLivenessAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var models = _models;
        if (models.Count == 0)
        {
            return true;
        }

        var beats = new Task[models.Count];
        int i = 0;
        foreach (var batcher in models.Values)
        {
            beats[i++] = batcher.HeartbeatAsync();
        }

        try
        {
            await Task.WhenAll(beats).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        foreach (var batcher in _models.Values)
        {
            batcher.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1010, Level = LogLevel.Information,
            Message = "Serving model {Model} version {Version}: max_batch_size {MaxBatchSize}, policy {Policy}, {Instances} instance(s) + {Ahead} batch(es) sent ahead, decoupled {Decoupled}")]
        public static partial void ModelAdded(ILogger logger, string model, string version, int maxBatchSize, string policy, int instances, int ahead, bool decoupled);

        [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "No longer serving model {Model}: {Reason}; its queued requests are sent first")]
        public static partial void ModelRetired(ILogger logger, string model, string reason);

        [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Upstream probe failed unexpectedly")]
        public static partial void ProbeFailed(ILogger logger, Exception exception);
    }
}
