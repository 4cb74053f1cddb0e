using DataPlane.Protocol.Inference;
using Grpc.Core;
using Grpc.Net.Client;

namespace DataPlane.Bench;

/// <summary>What a run keeps between steps: the gRPC channels (or the HTTP client) to the target and the pool of
/// pre-built requests (and, over HTTP, their encoded bodies). Channels connect lazily; a target that is down makes every request fail with
/// UNAVAILABLE, which is counted, never thrown.</summary>
public sealed class LoadSession : IDisposable
{
    private static readonly ServerLiveRequest s_live = new();

    private readonly GrpcChannel[] _channels;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient[] _clients;
    private readonly HttpInference? _http;
    private IReadOnlyList<ModelInferRequest> _pool;
    private HttpInference.Body[] _bodies = [];

    /// <summary>Creates <see cref="BenchSettings.Connections"/> channels to <see cref="BenchSettings.Target"/>.
    /// Nothing is sent until <see cref="PrepareAsync"/> or a step.</summary>
    public LoadSession(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        _channels = new GrpcChannel[settings.Connections];
        _clients = new GRPCInferenceService.GRPCInferenceServiceClient[settings.Connections];
        for (int i = 0; i < _channels.Length; i++)
        {
            var handler = new SocketsHttpHandler
            {
                // An open loop must not queue inside the client: past the server's stream limit
                // (Kestrel: 100 per connection), open another connection instead of waiting.
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = System.Threading.Timeout.InfiniteTimeSpan,
                ConnectTimeout = settings.Timeout,
            };
            _channels[i] = GrpcChannel.ForAddress(settings.Target, new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
                MaxReceiveMessageSize = 256 << 20,
                MaxSendMessageSize = null,
                // Our own cancellation surfaces as OperationCanceledException, not as a CANCELLED status.
                ThrowOperationCanceledOnCancellation = true,
            });
            _clients[i] = new GRPCInferenceService.GRPCInferenceServiceClient(_channels[i]);
        }

        _http = settings.Protocol == WireProtocol.Http ? new HttpInference(settings.Target, settings.Timeout) : null;
        Server = settings.ServerMetrics is { } metrics ? new ServerCounters(metrics, TimeSpan.FromSeconds(5)) : null;
        _pool = [new ModelInferRequest { ModelName = settings.Model }];
        _bodies = [HttpInference.Encode(_pool[0])];
    }

    /// <summary>The server's cost counters (<see cref="BenchSettings.ServerMetrics"/>); null when not asked for.</summary>
    public ServerCounters? Server { get; }

    /// <summary>The settings of the run.</summary>
    public BenchSettings Settings { get; }

    /// <summary>True once the model's metadata has been read and the request pool built from it
    /// (always true for <see cref="RpcKind.Live"/>, which needs no inputs).</summary>
    public bool IsPrepared { get; private set; }

    /// <summary>The requests a step cycles through.</summary>
    public IReadOnlyList<ModelInferRequest> Requests => _pool;

    /// <summary>For <see cref="RpcKind.Infer"/>: reads the model's metadata and builds the request pool,
    /// unless done already. When the metadata cannot be read (target down, unknown model) the pool keeps
    /// a request without inputs, so the step still runs and counts what the target answers, and the
    /// next call tries again. Returns a warning in that case, otherwise null.</summary>
    /// <exception cref="NotSupportedException">The metadata names a datatype or shape the bench cannot generate.</exception>
    public async Task<string?> PrepareAsync(CancellationToken cancellationToken)
    {
        if (IsPrepared || Settings.Rpc != RpcKind.Infer)
        {
            IsPrepared = true;
            return null;
        }

        ModelMetadataResponse metadata;
        try
        {
            metadata = _http != null
                ? await _http.MetadataAsync(Settings.Model, cancellationToken).ConfigureAwait(false)
                : await _clients[0].ModelMetadataAsync(
                    new ModelMetadataRequest { Name = Settings.Model },
                    deadline: DateTime.UtcNow + Settings.Timeout,
                    cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            return $"could not read the metadata of model '{Settings.Model}' from {Settings.Target}: " +
                $"{StatusNames.Name(e.StatusCode)} ({e.Status.Detail}); sending requests without inputs";
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            return $"could not read the metadata of model '{Settings.Model}' from {Settings.Target}: {e.Message}; sending requests without inputs";
        }

        _pool = RequestGenerator.CreatePool(metadata, Settings.Model, Settings.Batch, Settings.Seed);
        _bodies = [.. _pool.Select(HttpInference.Encode)];
        IsPrepared = true;
        return null;
    }

    /// <summary>Opens the connections before a step (one ServerLive per channel), so the first measured
    /// requests do not pay for TCP and HTTP/2 set-up. Failures are ignored: the step counts them.</summary>
    public Task WarmUpConnectionsAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromTicks(Math.Min(Settings.Timeout.Ticks, TimeSpan.TicksPerSecond * 2));
        if (_http != null)
        {
            return WarmUpHttpAsync(cancellationToken);
        }

        return Task.WhenAll(_clients.Select(async c =>
        {
            try
            {
                await c.ServerLiveAsync(s_live, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException)
            {
            }
        }));
    }

    private async Task WarmUpHttpAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromTicks(Math.Min(Settings.Timeout.Ticks, TimeSpan.TicksPerSecond * 2)));
            await Task.WhenAll(Enumerable.Range(0, Settings.Connections).Select(_ => _http!.LiveAsync(timeout.Token))).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            // The step counts what the target answers.
        }
    }

    /// <summary>Sends request number <paramref name="sequence"/> (channels and pooled requests taken in
    /// turn) and returns its gRPC status once it completes. Never throws.</summary>
    internal async Task<StatusCode> SendAsync(long sequence, CancellationToken cancellationToken)
    {
        try
        {
            if (_http != null)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(Settings.Timeout);
                var bodies = _bodies;
                return Settings.Rpc == RpcKind.Live
                    ? await _http.LiveAsync(timeout.Token).ConfigureAwait(false)
                    : await _http.InferAsync(Settings.Model, bodies[(int)(sequence % bodies.Length)], timeout.Token).ConfigureAwait(false);
            }

            var client = _clients[sequence % _clients.Length];
            var deadline = DateTime.UtcNow + Settings.Timeout;
            if (Settings.Rpc == RpcKind.Live)
            {
                using var live = client.ServerLiveAsync(s_live, deadline: deadline, cancellationToken: cancellationToken);
                await live.ResponseAsync.ConfigureAwait(false);
            }
            else
            {
                var pool = _pool;
                using var infer = client.ModelInferAsync(pool[(int)(sequence % pool.Count)], deadline: deadline, cancellationToken: cancellationToken);
                await infer.ResponseAsync.ConfigureAwait(false);
            }

            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
        catch (HttpRequestException)
        {
            return StatusCode.Unavailable;
        }
        catch (OperationCanceledException)
        {
            // With ThrowOperationCanceledOnCancellation the client reports its own deadline this way too.
            return cancellationToken.IsCancellationRequested ? StatusCode.Cancelled : StatusCode.DeadlineExceeded;
        }
#pragma warning disable CA1031 // A load tool counts every failure and carries on.
        catch (Exception)
#pragma warning restore CA1031
        {
            return StatusCode.Unknown;
        }
    }

    /// <summary>Closes the channels.</summary>
    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        _http?.Dispose();
        Server?.Dispose();
    }
}
