using System.Globalization;

namespace DataPlane.Bench;

/// <summary>The server's own cost counters at one instant, from its Prometheus endpoint.</summary>
/// <param name="CpuSeconds">process_cpu_seconds_total: user and system CPU of the server process.</param>
/// <param name="AllocatedBytes">dotnet_gc_heap_total_allocated_bytes_total: bytes allocated on its managed heap; null
/// when the endpoint does not export it.</param>
public readonly record struct ServerSample(double CpuSeconds, double? AllocatedBytes);

/// <summary>Reads the server's CPU time and managed allocations from its Prometheus text endpoint
/// (<c>dataplane bench --server-metrics</c>, e.g. the daemon's admin <c>/metrics</c>) at the start and the end of each
/// step's measurement, so that each step reports what one request cost the server: CPU microseconds and bytes
/// allocated per successful request. A scrape that fails leaves the step's figures empty; it never fails the step.</summary>
public sealed class ServerCounters : IDisposable
{
    /// <summary>The CPU counter every Prometheus client library exports.</summary>
    public const string CpuMetric = "process_cpu_seconds_total";

    /// <summary>The managed-allocation counter the daemon and the agent export.</summary>
    public const string AllocatedMetric = "dotnet_gc_heap_total_allocated_bytes_total";

    private readonly HttpClient _http;

    /// <summary>Reads <paramref name="url"/>; each scrape may take up to <paramref name="timeout"/>.</summary>
    public ServerCounters(Uri url, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(url);
        Url = url;
        _http = new HttpClient { Timeout = timeout };
    }

    /// <summary>The endpoint scraped.</summary>
    public Uri Url { get; }

    /// <summary>Why the last scrape gave nothing (null after a good one).</summary>
    public string? LastError { get; private set; }

    /// <summary>One scrape; null (with <see cref="LastError"/> set) when the endpoint cannot be read or has no CPU counter.</summary>
    public async Task<ServerSample?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            string text = await _http.GetStringAsync(Url, cancellationToken).ConfigureAwait(false);
            var sample = Parse(text);
            LastError = sample is null ? $"{Url} has no {CpuMetric}" : null;
            return sample;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LastError = $"cannot read {Url}: {e.Message}";
            return null;
        }
    }

    /// <summary>The two counters from Prometheus text exposition (unlabelled samples only); null without a CPU counter.</summary>
    public static ServerSample? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        double? cpu = null, allocated = null;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }

            if (Value(line, CpuMetric) is { } c)
            {
                cpu = c;
            }
            else if (Value(line, AllocatedMetric) is { } a)
            {
                allocated = a;
            }
        }

        return cpu is { } seconds ? new ServerSample(seconds, allocated) : null;
    }

    /// <summary>The step's server cost per successful request: (CPU µs, allocated bytes); each null when a scrape or the
    /// counter is missing or nothing succeeded.</summary>
    public static (double? CpuUsPerRequest, double? AllocatedBytesPerRequest) PerRequest(ServerSample? before, ServerSample? after, long ok)
    {
        if (before is not { } b || after is not { } a || ok <= 0)
        {
            return (null, null);
        }

        double? allocated = b.AllocatedBytes is { } b0 && a.AllocatedBytes is { } a0 ? (a0 - b0) / ok : null;
        return ((a.CpuSeconds - b.CpuSeconds) * 1e6 / ok, allocated);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The value of <paramref name="line"/> when it is the unlabelled sample of <paramref name="name"/>.</summary>
    private static double? Value(ReadOnlySpan<char> line, string name)
    {
        if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || line[name.Length] != ' ')
        {
            return null;
        }

        var rest = line[(name.Length + 1)..].Trim();
        int space = rest.IndexOf(' '); // an optional timestamp follows the value
        if (space >= 0)
        {
            rest = rest[..space];
        }

        return double.TryParse(rest, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
    }
}
