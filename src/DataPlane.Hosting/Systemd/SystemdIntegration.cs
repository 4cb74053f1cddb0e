using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataPlane.Hosting.Systemd;

/// <summary>What a service tells systemd beyond READY and STOPPING.</summary>
public sealed class SystemdIntegrationOptions
{
    /// <summary>Gates the watchdog keep-alive (null: the keep-alive follows the thread pool only).</summary>
    public LivenessCheck? Liveness { get; init; }

    /// <summary>The STATUS= line, read at READY and every <see cref="StatusInterval"/> (null: none).</summary>
    public Func<string>? Status { get; init; }

    /// <summary>How often STATUS= is refreshed while serving (sent only when the text changed). Default 5 s.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Type=notify for a web host, in place of <c>UseSystemd()</c> (whose lifetime would send a second READY and
/// STOPPING): READY=1 with a STATUS line once the application has started (every listener bound and answering),
/// STATUS refreshed while serving, the watchdog keep-alive gated on liveness, and STOPPING=1 as soon as stopping
/// (draining) begins. Does nothing when NOTIFY_SOCKET is unset.</summary>
public sealed partial class SystemdIntegration : IHostedService, IDisposable
{
    private readonly SystemdNotifier _notifier;
    private readonly SystemdIntegrationOptions _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private volatile bool _stopping;

    /// <summary>Integration for <paramref name="notifier"/> (usually <see cref="SystemdNotifier.Process"/>).</summary>
    public SystemdIntegration(SystemdNotifier notifier, SystemdIntegrationOptions options, IHostApplicationLifetime lifetime, ILogger logger)
    {
        _notifier = notifier;
        _options = options;
        _lifetime = lifetime;
        _logger = logger;
        Watchdog = new SystemdWatchdog(notifier, options.Liveness ?? ThreadPoolAnswers, logger);
    }

    /// <summary>The keep-alive loop (its counters show what was sent).</summary>
    public SystemdWatchdog Watchdog { get; }

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_notifier.Enabled)
        {
            return Task.CompletedTask;
        }

        _lifetime.ApplicationStarted.Register(OnStarted);
        _lifetime.ApplicationStopping.Register(OnStopping);
        return Task.CompletedTask;
    }

    private void OnStarted()
    {
        string? status = ReadStatus();
        _notifier.Ready(status);
        Log.Ready(_logger, _notifier.SocketName ?? "");
        lock (_loops)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _loops.Add(Task.Run(() => Watchdog.RunAsync(_stop.Token)));
            if (_options.Status is not null)
            {
                _loops.Add(Task.Run(() => RefreshStatusAsync(status, _stop.Token)));
            }
        }
    }

    private void OnStopping()
    {
        _stopping = true;
        _notifier.Stopping("stopping: draining, refusing new requests");
    }

    private async Task RefreshStatusAsync(string? last, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.StatusInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false) && !_stopping)
            {
                string? status = ReadStatus();
                if (status is not null && status != last)
                {
                    _notifier.Status(status);
                    last = status;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private string? ReadStatus()
    {
        try
        {
            return _options.Status?.Invoke();
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] loops;
        lock (_loops)
        {
            _stop.Cancel();
            loops = [.. _loops];
        }

        await Task.WhenAll(loops).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose() => _stop.Dispose();

    /// <summary>The fallback liveness check: a thread-pool work item runs within the bound.</summary>
    private static Task<bool> ThreadPoolAnswers(TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.Run(() => true, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Told systemd READY=1 ({Socket})")]
        public static partial void Ready(ILogger logger, string socket);
    }
}

/// <summary>Registers <see cref="SystemdIntegration"/>.</summary>
public static class SystemdServiceCollectionExtensions
{
    /// <summary>Adds Type=notify support (READY, STATUS, watchdog, STOPPING) for <see cref="SystemdNotifier.Process"/>;
    /// <paramref name="options"/> builds the liveness check and status line from the container. Under systemd the
    /// console lifetime's "Press Ctrl+C" lines are suppressed: the journal needs none of them.</summary>
    public static IServiceCollection AddSystemdNotify(this IServiceCollection services, Func<IServiceProvider, SystemdIntegrationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var notifier = SystemdNotifier.Process;
        if (notifier.Enabled || Environment.GetEnvironmentVariable("JOURNAL_STREAM") != null)
        {
            services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        }

        services.AddSingleton(notifier);
        services.AddHostedService(sp => new SystemdIntegration(notifier, options(sp), sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("DataPlane.Hosting.Systemd")));
        return services;
    }
}
