using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Transfer.Bench;

/// <summary>One bandwidth measurement: one operation at one message size.</summary>
public sealed record BandwidthResult
{
    /// <summary>write or read.</summary>
    public required string Op { get; init; }

    /// <summary>Bytes per operation.</summary>
    public required int Bytes { get; init; }

    /// <summary>Operations completed.</summary>
    public required long Iterations { get; init; }

    /// <summary>Measured seconds (first issue to last completion).</summary>
    public required double Seconds { get; init; }

    /// <summary>Payload bandwidth in 10^9 bit/s.</summary>
    public double Gbps => Seconds > 0 ? Bytes * (double)Iterations * 8 / Seconds / 1e9 : 0;

    /// <summary>Payload bandwidth in MiB/s.</summary>
    public double MibPerSecond => Seconds > 0 ? Bytes * (double)Iterations / Seconds / (1 << 20) : 0;

    /// <summary>Operations per second.</summary>
    public double OpsPerSecond => Seconds > 0 ? Iterations / Seconds : 0;
}

/// <summary>One latency measurement: round trips of one kind at one message size.</summary>
public sealed record LatencyResult
{
    /// <summary>send (SEND/RECV ping-pong) or write (WRITE until acknowledged).</summary>
    public required string Op { get; init; }

    /// <summary>Bytes per message.</summary>
    public required int Bytes { get; init; }

    /// <summary>Round trips measured.</summary>
    public required int Iterations { get; init; }

    /// <summary>Median round trip, µs.</summary>
    public required double P50Us { get; init; }

    /// <summary>99th percentile round trip, µs.</summary>
    public required double P99Us { get; init; }

    /// <summary>Slowest round trip, µs.</summary>
    public required double MaxUs { get; init; }

    /// <summary>Mean round trip, µs.</summary>
    public required double AvgUs { get; init; }
}

/// <summary>A whole xfer-bench run, as written to the --json file.</summary>
public sealed record XferBenchReport
{
    /// <summary>When the run started.</summary>
    public required DateTimeOffset StartedUtc { get; init; }

    /// <summary>The transport measured (rdma or tcp).</summary>
    public required string Transport { get; init; }

    /// <summary>none (plain TCP), authenticated (mutual TLS, data in clear: TCP with --encryption none, or RDMA) or
    /// encrypted (mutual TLS carrying the data).</summary>
    public string Protection { get; init; } = "none";

    /// <summary>The server's name.</summary>
    public required string Peer { get; init; }

    /// <summary>Operations in flight in the bandwidth test.</summary>
    public required int Window { get; init; }

    /// <summary>The command-line arguments.</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>Bandwidth rows, in the order measured.</summary>
    public required IReadOnlyList<BandwidthResult> Bandwidth { get; init; }

    /// <summary>Latency rows, in the order measured.</summary>
    public required IReadOnlyList<LatencyResult> Latency { get; init; }
}

/// <summary>Source-generated JSON of <see cref="XferBenchReport"/> (snake_case names, NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(XferBenchReport))]
public sealed partial class XferBenchJsonContext : JsonSerializerContext;

/// <summary>Formatting of results: perftest-like tables and JSON.</summary>
public static class XferBenchOutput
{
    private static readonly CompositeFormat s_bandwidth = CompositeFormat.Parse("{0,-6} {1,10} {2,11} {3,9} {4,10} {5,11} {6,11}");
    private static readonly CompositeFormat s_latency = CompositeFormat.Parse("{0,-6} {1,10} {2,11} {3,10} {4,10} {5,10} {6,10}");

    /// <summary>Header of the bandwidth table.</summary>
    public static string BandwidthHeader { get; } = string.Format(CultureInfo.InvariantCulture, s_bandwidth,
        "op", "bytes", "iterations", "seconds", "Gb/s", "MiB/s", "ops/s");

    /// <summary>Header of the latency table.</summary>
    public static string LatencyHeader { get; } = string.Format(CultureInfo.InvariantCulture, s_latency,
        "op", "bytes", "iterations", "p50 us", "p99 us", "max us", "avg us");

    /// <summary>One bandwidth row.</summary>
    public static string Row(BandwidthResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return string.Format(CultureInfo.InvariantCulture, s_bandwidth, r.Op, r.Bytes, r.Iterations,
            r.Seconds.ToString("F3", CultureInfo.InvariantCulture), r.Gbps.ToString("F2", CultureInfo.InvariantCulture),
            r.MibPerSecond.ToString("F1", CultureInfo.InvariantCulture), r.OpsPerSecond.ToString("F0", CultureInfo.InvariantCulture));
    }

    /// <summary>One latency row.</summary>
    public static string Row(LatencyResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return string.Format(CultureInfo.InvariantCulture, s_latency, r.Op, r.Bytes, r.Iterations,
            r.P50Us.ToString("F2", CultureInfo.InvariantCulture), r.P99Us.ToString("F2", CultureInfo.InvariantCulture),
            r.MaxUs.ToString("F2", CultureInfo.InvariantCulture), r.AvgUs.ToString("F2", CultureInfo.InvariantCulture));
    }

    /// <summary>The report as JSON.</summary>
    public static string ToJson(XferBenchReport report) => JsonSerializer.Serialize(report, XferBenchJsonContext.Default.XferBenchReport);

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    public static XferBenchReport? FromJson(string json) => JsonSerializer.Deserialize(json, XferBenchJsonContext.Default.XferBenchReport);

    /// <summary>Latency row from round-trip samples in Stopwatch ticks (sorted in place).</summary>
    public static LatencyResult Latency(string op, int bytes, long[] ticks, long frequency)
    {
        ArgumentNullException.ThrowIfNull(ticks);
        if (ticks.Length == 0)
        {
            throw new ArgumentException("no samples", nameof(ticks));
        }

        Array.Sort(ticks);
        double us = 1e6 / frequency;
        return new LatencyResult
        {
            Op = op,
            Bytes = bytes,
            Iterations = ticks.Length,
            P50Us = NearestRank(ticks, 50) * us,
            P99Us = NearestRank(ticks, 99) * us,
            MaxUs = ticks[^1] * us,
            AvgUs = ticks.Average() * us,
        };
    }

    /// <summary>Nearest-rank percentile of sorted samples: the sample of rank ⌈p/100·n⌉.</summary>
    public static long NearestRank(ReadOnlySpan<long> sorted, double percentile)
    {
        if (sorted.IsEmpty)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        long rank = Math.Clamp((long)Math.Ceiling(percentile * sorted.Length / 100.0), 1, sorted.Length);
        return sorted[(int)rank - 1];
    }

    /// <summary>Describes the run for the first line of output.</summary>
    public static string Describe(string transport, string peer, XferBenchSettings s, string protection = "none")
    {
        ArgumentNullException.ThrowIfNull(s);
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"xfer-bench: transport {transport} ({protection}), peer {peer}, window {s.Window}, ");
        b.Append(CultureInfo.InvariantCulture, $"{s.Iterations} iterations or {s.Duration.TotalSeconds:0.###} s per size");
        return b.ToString();
    }
}
