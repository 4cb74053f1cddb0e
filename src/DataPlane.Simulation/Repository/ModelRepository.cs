using System.Collections.Frozen;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation.Repository;

/// <summary>Where a model of the repository stands, as Triton's model lifecycle sees it.</summary>
internal enum ModelState
{
    /// <summary>Never loaded (explicit model control): Triton does not know it beyond the repository index.</summary>
    NotLoaded,

    /// <summary>Version 1 is loaded and serves requests.</summary>
    Ready,

    /// <summary>Version 1 was unloaded: UNAVAILABLE with the reason <c>unloaded</c>.</summary>
    Unloaded,
}

/// <summary>One model directory of the simulated repository and its current load.</summary>
internal sealed class RepositoryModel(SimulatedModelOptions options)
{
    public SimulatedModelOptions Options { get; } = options;

    public string Name => Options.Name;

    /// <summary>Serialises the loads and unloads of this model.</summary>
    public SemaphoreSlim Control { get; } = new(1, 1);

    /// <summary>Guarded by this object's monitor.</summary>
    public ModelState State { get; set; }

    /// <summary>The loaded model while <see cref="State"/> is <see cref="ModelState.Ready"/>; guarded by this object's monitor.</summary>
    public SimulatedModel? Loaded { get; set; }
}

/// <summary>The simulated model repository: every configured model, loaded at start (model control <c>none</c>) or
/// on request (<c>explicit</c>), with Triton's lookup errors, index and load/unload rules. Unloading waits for the
/// model's requests in flight; a model loaded again starts with fresh statistics and sequences.</summary>
internal sealed partial class ModelRepository : IDisposable
{
    /// <summary>The reason the index gives for an unloaded version.</summary>
    public const string UnloadedReason = "unloaded";

    private readonly FrozenDictionary<string, RepositoryModel> _models;
    private readonly RepositoryModel[] _sorted;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ModelRepository(SimulationOptions options, TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
        _sorted = options.Models.Select(m => new RepositoryModel(m)).OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();
        _models = _sorted.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
        bool all = options.ModelControl == SimulatedModelControl.None || options.LoadModels.Contains(SimulationOptions.AllModels);
        foreach (var model in _sorted)
        {
            if (all || options.LoadModels.Contains(model.Name))
            {
                model.Loaded = new SimulatedModel(model.Options, _time, _logger);
                model.State = ModelState.Ready;
            }
        }
    }

    /// <summary>Every model of the repository, sorted by name (ordinal, as Triton's set of names).</summary>
    public IReadOnlyList<RepositoryModel> Models => _sorted;

    /// <summary>The loaded models, sorted by name.</summary>
    public IEnumerable<SimulatedModel> ReadyModels()
    {
        foreach (var model in _sorted)
        {
            lock (model)
            {
                if (model.State == ModelState.Ready)
                {
                    yield return model.Loaded!;
                }
            }
        }
    }

    public bool TryGetEntry(string name, out RepositoryModel entry) => _models.TryGetValue(name, out entry!);

    /// <summary>Finds version <paramref name="version"/> (-1: the latest ready) of model <paramref name="name"/> as
    /// Triton's lifecycle does: NOT_FOUND for a model never loaded or a version it lacks, NOT_FOUND "has no available
    /// versions" or UNAVAILABLE "not at ready state" after an unload. With <paramref name="enter"/> it takes an
    /// in-flight reference that the caller releases with <see cref="SimulatedModel.Exit"/>.</summary>
    public RequestError? TryGet(string name, long version, bool enter, out SimulatedModel? model)
    {
        model = null;
        if (!_models.TryGetValue(name, out var entry))
        {
            return NotFound(TritonErrors.UnknownModel(name));
        }

        SimulatedModel? loaded;
        ModelState state;
        lock (entry)
        {
            state = entry.State;
            loaded = entry.Loaded;
        }

        if (state == ModelState.NotLoaded)
        {
            return NotFound(TritonErrors.UnknownModel(name));
        }

        if (version != -1 && version != SimulatedModel.ServedVersionNumber)
        {
            return NotFound(TritonErrors.UnknownVersion(name, version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (state == ModelState.Ready && (!enter || loaded!.TryEnter()))
        {
            model = loaded;
            return null;
        }

        return version == -1 ? TritonErrors.NoAvailableVersions(name) : TritonErrors.VersionNotReady(name, version);
    }

    /// <summary>Loads <paramref name="name"/> (explicit model control) and completes once it is ready. A model already
    /// loaded stays as it is. INTERNAL for a name the repository lacks.</summary>
    public async Task<RequestError?> LoadAsync(string name)
    {
        if (!_models.TryGetValue(name, out var entry))
        {
            return new RequestError(Grpc.Core.StatusCode.Internal, $"failed to load '{TritonErrors.Echo(name)}', failed to poll from model repository");
        }

        await entry.Control.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (entry)
            {
                if (entry.State != ModelState.Ready)
                {
                    entry.Loaded = new SimulatedModel(entry.Options, _time, _logger);
                    entry.State = ModelState.Ready;
                    Log.Loaded(_logger, name);
                }
            }

            return null;
        }
        finally
        {
            entry.Control.Release();
        }
    }

    /// <summary>Unloads <paramref name="name"/> and completes once the requests it had in flight have finished. A name
    /// the repository lacks, or a model not loaded, is a silent success, as in Triton.</summary>
    public async Task UnloadAsync(string name)
    {
        if (!_models.TryGetValue(name, out var entry))
        {
            return;
        }

        await entry.Control.WaitAsync().ConfigureAwait(false);
        try
        {
            SimulatedModel? loaded;
            lock (entry)
            {
                loaded = entry.State == ModelState.Ready ? entry.Loaded : null;
                if (loaded is null)
                {
                    return;
                }

                entry.State = ModelState.Unloaded;
                entry.Loaded = null;
            }

            await loaded.RetireAsync().ConfigureAwait(false);
            loaded.Dispose();
            Log.Unloaded(_logger, name);
        }
        finally
        {
            entry.Control.Release();
        }
    }

    /// <summary>Triton's repository index: every model sorted by name; loaded and unloaded versions as
    /// <c>{name, "1", state, reason}</c>, models never loaded by name only. <paramref name="readyOnly"/> keeps the
    /// READY entries.</summary>
    public RepositoryIndexResponse Index(bool readyOnly)
    {
        var response = new RepositoryIndexResponse();
        foreach (var model in _sorted)
        {
            ModelState state;
            lock (model)
            {
                state = model.State;
            }

            if (readyOnly && state != ModelState.Ready)
            {
                continue;
            }

            response.Models.Add(state switch
            {
                ModelState.Ready => new RepositoryIndexResponse.Types.ModelIndex { Name = model.Name, Version = SimulatedModel.ServedVersion, State = "READY" },
                ModelState.Unloaded => new RepositoryIndexResponse.Types.ModelIndex
                {
                    Name = model.Name,
                    Version = SimulatedModel.ServedVersion,
                    State = "UNAVAILABLE",
                    Reason = UnloadedReason,
                },
                _ => new RepositoryIndexResponse.Types.ModelIndex { Name = model.Name },
            });
        }

        return response;
    }

    public void Dispose()
    {
        foreach (var model in _sorted)
        {
            SimulatedModel? loaded;
            lock (model)
            {
                loaded = model.Loaded;
                model.Loaded = null;
                model.State = model.State == ModelState.Ready ? ModelState.Unloaded : model.State;
            }

            loaded?.Dispose();
        }
    }

    private static RequestError NotFound(Grpc.Core.RpcException e) => new(e.StatusCode, e.Status.Detail);

    private static partial class Log
    {
        [LoggerMessage(EventId = 7011, Level = LogLevel.Information, Message = "Simulated Triton loaded model '{Model}'")]
        public static partial void Loaded(ILogger logger, string model);

        [LoggerMessage(EventId = 7012, Level = LogLevel.Information, Message = "Simulated Triton unloaded model '{Model}'")]
        public static partial void Unloaded(ILogger logger, string model);
    }
}
