using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace DataPlane.Hosting.Listeners;

/// <summary>Serves a certificate revocation list file (<see cref="RevocationList"/>) and picks up a new one without a
/// restart, like <see cref="CertificateReloader"/>: at most once per <see cref="CertificateReloader.CheckInterval"/>
/// the file's modification time and size are compared and the file is re-read when either changed. A file that fails
/// to load or verify (half-written, signed by another key) leaves the previous list in use and is logged once.
/// Also counts the certificates it refused, for the metrics.</summary>
public sealed partial class RevocationListReloader
{
    private const int MaxLoggedSerials = 1024;

    private readonly X509Certificate2Collection _issuers;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;
    private readonly string _use;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, byte> _logged = new(StringComparer.Ordinal);
    private RevocationList _current;
    private (DateTime Stamp, long Length) _file;
    private long _nextCheck;
    private long _refused;
    private long _failures;

    /// <summary>Loads <paramref name="path"/> now; throws (<see cref="CryptographicException"/>, I/O exceptions) when
    /// it does not load or verify against <paramref name="issuers"/>.</summary>
    /// <param name="path">PEM or DER CRL file.</param>
    /// <param name="issuers">The CA certificates the lists must be signed by.</param>
    /// <param name="use">What the list guards, for logs (a listener name, "gpu_client").</param>
    /// <param name="logger">Where reloads, failures and refusals are logged.</param>
    /// <param name="time">The clock of the check interval.</param>
    public RevocationListReloader(string path, X509Certificate2Collection issuers, string use, ILogger? logger = null, TimeProvider? time = null)
    {
        Path = path;
        _issuers = issuers;
        _use = use;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _file = Stamp();
        _current = RevocationList.Load(path, issuers);
        _nextCheck = _time.GetTimestamp() + Interval;
    }

    public string Path { get; }

    /// <summary>Times a changed file was loaded after start.</summary>
    public int Reloads { get; private set; }

    /// <summary>Changed files that did not load (the previous list stayed in use).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Certificates refused because a list names them.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The list in use, checking the file first when it is due.</summary>
    public RevocationList Current
    {
        get
        {
            if (_time.GetTimestamp() >= Volatile.Read(ref _nextCheck))
            {
                Refresh();
            }

            return Volatile.Read(ref _current);
        }
    }

    private long Interval => (long)(CertificateReloader.CheckInterval.TotalSeconds * _time.TimestampFrequency);

    /// <summary>True when the list in use names <paramref name="certificate"/>; counts and logs (once per serial number)
    /// the refusal.</summary>
    public bool Refuses(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!Current.IsRevoked(certificate))
        {
            return false;
        }

        Interlocked.Increment(ref _refused);
        string serial = RevocationList.SerialKey(certificate.SerialNumberBytes.Span);
        if (_logger != null && _logged.TryAdd(serial, 0))
        {
            if (_logged.Count > MaxLoggedSerials)
            {
                _logged.Clear();
            }

            Log.Refused(_logger, _use, certificate.Subject, serial, Path);
        }

        return true;
    }

    /// <summary>Checks the file now (also called when a check is due).</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            Volatile.Write(ref _nextCheck, _time.GetTimestamp() + Interval);
            var file = Stamp();
            if (file == _file)
            {
                return;
            }

            _file = file;
            try
            {
                var list = RevocationList.Load(Path, _issuers);
                Volatile.Write(ref _current, list);
                Reloads++;
                if (_logger != null)
                {
                    Log.Reloaded(_logger, Path, _use, list.ToString());
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or FormatException)
            {
                // A half-written file during an update: keep the previous list; the next change is tried again.
                Interlocked.Increment(ref _failures);
                if (_logger != null)
                {
                    Log.ReloadFailed(_logger, Path, _use, e.Message);
                }
            }
        }
    }

    private (DateTime, long) Stamp()
    {
        try
        {
            var info = new FileInfo(Path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (DateTime.MinValue, -1);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8501, Level = LogLevel.Information, Message = "Revocation list {Path} ({Use}) reloaded: {List}")]
        public static partial void Reloaded(ILogger logger, string path, string use, string list);

        [LoggerMessage(EventId = 8502, Level = LogLevel.Warning,
            Message = "Revocation list {Path} ({Use}) changed but was not loaded: {Reason}; the previous list stays in use")]
        public static partial void ReloadFailed(ILogger logger, string path, string use, string reason);

        [LoggerMessage(EventId = 8503, Level = LogLevel.Warning,
            Message = "Refused a revoked certificate on {Use}: {Subject}, serial {Serial} (listed in {Path}); further refusals of it are counted, not logged")]
        public static partial void Refused(ILogger logger, string use, string subject, string serial, string path);
    }
}
