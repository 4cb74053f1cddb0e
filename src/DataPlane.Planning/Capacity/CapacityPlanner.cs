using DataPlane.Planning.Inputs;
using DataPlane.Planning.Queueing;

namespace DataPlane.Planning.Capacity;

/// <summary>Turns measured figures into a capacity plan. For each model and local hit rate: the rate that reaches
/// the model at the peak, λ·(1 − h)·share, times (1 + headroom); the fewest instances whose full batches carry that
/// rate (the throughput bound); then, from there up, the fewest instances whose predicted p99 latency in
/// <see cref="BatchQueueSimulation"/> plus the batch-forming window holds the objective. docs/PLANNING.md shows the
/// arithmetic on the design's example.</summary>
public static class CapacityPlanner
{
    /// <summary>The most instances the planner considers for one model.</summary>
    public const int MaxInstances = 100_000;

    /// <summary>Plans for <paramref name="input"/> with <paramref name="settings"/>.</summary>
    /// <exception cref="PlanInputException">A figure is out of range, a model has no objective, or an objective
    /// cannot be held by any number of instances (it is not above one batch's latency).</exception>
    public static CapacityPlan Plan(PlanInput input, PlanSettings settings)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(settings);
        CheckSettings(settings);
        PlanInputFile.Validate(input, "figures");

        double peak = settings.PeakRequestsPerSecond ?? input.PeakRequestsPerSecond;
        double hit = settings.LocalHitRate ?? input.LocalHitRate;
        var notes = new List<string>(input.Notes ?? []);
        double totalShare = input.Models.Sum(m => m.EscalationShare);
        if (totalShare <= 0 && input.Models.Count > 1)
        {
            notes.Add($"No model had GPU traffic in the window: the GPU share is split equally over the {input.Models.Count} models.");
        }

        var hitRates = new List<(string Name, double Hit)> { ("measured", hit) };
        foreach (double step in new[] { -settings.HitRateStep, settings.HitRateStep })
        {
            double moved = Math.Clamp(hit + step, 0, 1);
            if (Math.Abs(moved - hit) > 1e-9)
            {
                hitRates.Add(($"{(step < 0 ? "-" : "+")}{Math.Round(Math.Abs(moved - hit) * 100, 1)} points", moved));
            }
        }

        var scenarios = new List<PlanScenario>();
        foreach (var (name, h) in hitRates)
        {
            double gpu = peak * (1 - h);
            var models = new List<ModelPlan>();
            foreach (var m in input.Models)
            {
                double share = totalShare > 0 ? m.EscalationShare / totalShare : 1.0 / input.Models.Count;
                models.Add(PlanModel(m, gpu * share, input, settings));
            }

            scenarios.Add(new PlanScenario
            {
                Name = name,
                LocalHitRate = h,
                GpuRequestsPerSecond = gpu,
                Instances = models.Sum(p => p.Instances),
                Hosts = models.All(p => p.Hosts is not null) ? models.Sum(p => p.Hosts!.Value) : null,
                Models = models,
            });
        }

        notes.Add("Latency is predicted from arrival at the daemon to the batch's answer, with Poisson arrivals at the planned rate, "
            + "batches formed first in, first out and a + b·rows per batch; the network between caller and daemon is not included.");
        if (scenarios.Any(s => s.Models.Count > 1 && s.Hosts is not null))
        {
            notes.Add("Hosts are counted per model; models that share a host's GPUs need their instances added per host.");
        }

        return new CapacityPlan
        {
            Source = input.Source,
            PeakRequestsPerSecond = peak,
            LocalHitRate = hit,
            Headroom = settings.Headroom,
            WindowMs = settings.WindowMs,
            Scenarios = scenarios,
            Notes = notes,
        };
    }

    private static ModelPlan PlanModel(ModelFigures m, double rate, PlanInput input, PlanSettings settings)
    {
        double slo = settings.SloMs ?? m.SloMs ?? input.SloMs
            ?? throw new PlanInputException($"model '{m.Name}' has no latency objective: give --slo-ms (or configure Batching:Models:{m.Name}:SloMs on the daemons)");
        double a = m.LatencyBaseSeconds, b = m.LatencyPerRowSeconds;
        int r = m.RowsPerRequest;
        double single = (a + (b * r)) * 1000 + settings.WindowMs;
        if (single >= slo)
        {
            throw new PlanInputException(
                $"model '{m.Name}': the objective {Fmt(slo)} ms is not above one request's own latency, a + b·rows + window = "
                + $"{Fmt(a * 1000)} + {Fmt(b * 1000)}·{r} + {Fmt(settings.WindowMs)} = {Fmt(single)} ms: no number of instances holds it");
        }

        int? perHost = settings.InstancesPerHost
            ?? (m.Instances > 0 && m.Hosts > 0 ? Math.Max(1, m.Instances / m.Hosts) : null);
        double planned = rate * (1 + settings.Headroom);
        var row = new ModelPlan
        {
            Model = m.Name,
            GpuRequestsPerSecond = rate,
            PlannedRequestsPerSecond = planned,
            RowsPerRequest = r,
            LatencyBaseMs = a * 1000,
            LatencyPerRowMs = b * 1000,
            MaxBatchRows = m.MaxBatchRows,
            SloMs = slo,
            InstancesNow = m.Instances,
            InstancesPerHost = perHost,
            ThroughputInstances = 0,
            Instances = 0,
            Hosts = perHost is null ? null : 0,
        };
        if (planned <= 0)
        {
            return row;
        }

        int throughput = ThroughputInstances(planned, r, m.MaxBatchRows, a, b);
        if (throughput > MaxInstances)
        {
            throw new PlanInputException($"model '{m.Name}': {Fmt(planned)} requests/s need more than {MaxInstances} instances");
        }

        double budget = (slo - settings.WindowMs) / 1000;
        var found = new Dictionary<int, QueuePrediction>();
        QueuePrediction Predict(int c)
        {
            if (!found.TryGetValue(c, out var p))
            {
                p = BatchQueueSimulation.Run(planned, r, c, m.MaxBatchRows, a, b);
                found[c] = p;
            }

            return p;
        }

        bool Holds(int c) => Predict(c) is { Stable: true } p && p.P99Seconds <= budget;

        // Gallop up from the throughput bound, then bisect: more instances never lengthen the wait for the same arrivals.
        int failing = throughput - 1, holding = throughput, step = 1;
        while (!Holds(holding))
        {
            failing = holding;
            holding = throughput + step;
            step *= 2;
            if (holding > MaxInstances)
            {
                throw new PlanInputException($"model '{m.Name}': no pool of up to {MaxInstances} instances holds {Fmt(slo)} ms at {Fmt(planned)} requests/s");
            }
        }

        while (holding - failing > 1)
        {
            int mid = failing + ((holding - failing) / 2);
            if (Holds(mid))
            {
                holding = mid;
            }
            else
            {
                failing = mid;
            }
        }

        var best = Predict(holding);
        QueuePrediction? fewer = holding > 1 ? Predict(holding - 1) : null;
        return row with
        {
            ThroughputInstances = throughput,
            Instances = holding,
            Hosts = perHost is { } ph ? (holding + ph - 1) / ph : null,
            MeanBatchRows = best.MeanBatchRows,
            P99BatchRows = best.P99BatchRows,
            PredictedP50Ms = (best.P50Seconds * 1000) + settings.WindowMs,
            PredictedP99Ms = (best.P99Seconds * 1000) + settings.WindowMs,
            Load = planned * FullBatchSeconds(r, m.MaxBatchRows, a, b) / (holding * (double)Math.Max(1, m.MaxBatchRows / r)),
            FewerInstancesP99Ms = fewer is { Stable: true } f ? (f.P99Seconds * 1000) + settings.WindowMs : null,
        };
    }

    /// <summary>The fewest instances that carry <paramref name="requestsPerSecond"/> at all: each serves at most
    /// q = ⌊B/rows⌋ requests per batch of a + b·q·rows seconds, so c must exceed rate·(a + b·q·rows)/q.</summary>
    public static int ThroughputInstances(double requestsPerSecond, int rowsPerRequest, int maxBatchRows, double baseSeconds, double perRowSeconds)
    {
        if (requestsPerSecond <= 0)
        {
            return 0;
        }

        double load = requestsPerSecond * FullBatchSeconds(rowsPerRequest, maxBatchRows, baseSeconds, perRowSeconds)
            / Math.Max(1, maxBatchRows / rowsPerRequest);
        return load >= MaxInstances ? MaxInstances + 1 : (int)Math.Floor(load) + 1;
    }

    /// <summary>The duration of a full batch: as many whole requests as fit in the largest batch.</summary>
    private static double FullBatchSeconds(int rowsPerRequest, int maxBatchRows, double baseSeconds, double perRowSeconds) =>
        baseSeconds + (perRowSeconds * Math.Max(1, maxBatchRows / rowsPerRequest) * rowsPerRequest);

    private static void CheckSettings(PlanSettings s)
    {
        if (!double.IsFinite(s.Headroom) || s.Headroom is < 0 or > 10)
        {
            throw new PlanInputException($"headroom {s.Headroom} is not from 0 to 10 (0 % to 1000 %)");
        }

        if (!double.IsFinite(s.WindowMs) || s.WindowMs < 0 || s.WindowMs > 60_000)
        {
            throw new PlanInputException($"window {s.WindowMs} ms is not from 0 to 60000 ms");
        }

        if (s.SloMs is { } slo && (!double.IsFinite(slo) || slo <= 0 || slo > 3_600_000))
        {
            throw new PlanInputException($"objective {slo} ms is not from 0 to 3600000 ms");
        }

        if (s.InstancesPerHost is < 1 or > 100_000)
        {
            throw new PlanInputException($"instances per host {s.InstancesPerHost} is not from 1 to 100000");
        }

        if (s.PeakRequestsPerSecond is { } peak && (!double.IsFinite(peak) || peak < 0 || peak > 1e7))
        {
            throw new PlanInputException($"peak rate {peak} is not from 0 to 10000000 requests per second");
        }

        if (s.LocalHitRate is { } hit && (!double.IsFinite(hit) || hit is < 0 or > 1))
        {
            throw new PlanInputException($"local hit rate {hit} is not a share from 0 to 1");
        }

        if (!double.IsFinite(s.HitRateStep) || s.HitRateStep is < 0 or > 1)
        {
            throw new PlanInputException($"hit-rate step {s.HitRateStep} is not a share from 0 to 1");
        }
    }

    internal static string Fmt(double v) => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}
