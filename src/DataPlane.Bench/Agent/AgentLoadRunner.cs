using DataPlane.Bench.Load;
using DataPlane.Interop.Timing;

namespace DataPlane.Bench.Agent;

/// <summary>The measured requests of one phase (agent or direct) and how well the client kept to its schedule.</summary>
/// <param name="Samples">Measured requests, in sequence order.</param>
/// <param name="WindowStartNs">When the measurement started (the end of the warm-up).</param>
/// <param name="Duration">The measured duration asked for.</param>
/// <param name="LateSends">Open-loop measured sends that left more than <see cref="LoadEngine.LateSendThreshold"/> behind schedule.</param>
/// <param name="MaxSendLagNs">Largest delay of a measured send behind its schedule.</param>
public sealed record PhaseResult(IReadOnlyList<RequestSample> Samples, long WindowStartNs, TimeSpan Duration, long LateSends, long MaxSendLagNs);

/// <summary>Runs one phase of OpenAI chat load (<c>dataplane bench-agent</c>): the load loop is
/// <see cref="LoadEngine"/>'s — open loop with Poisson arrivals (the same seed gives the same schedule in every
/// phase, latencies count from the scheduled time, late sends are counted) or closed loop with N workers (latencies
/// count from the actual send) — and the requests are <see cref="ChatRequestSender"/>'s, each read to the end of its
/// answer. Requests of the warm-up are sent, not measured; every request is followed to its end (at worst its
/// timeout) before the phase returns.</summary>
public static class AgentLoadRunner
{
    /// <summary>Runs a phase of <paramref name="settings"/>' load through <paramref name="sender"/>.
    /// <paramref name="measurementStarted"/> is called (on a pool thread) when the warm-up ends.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<PhaseResult> RunAsync(AgentBenchSettings settings, ChatRequestSender sender, Func<Task>? measurementStarted,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(sender);
        var plan = new LoadPlan
        {
            Mode = settings.OpenLoop ? LoadMode.Poisson : LoadMode.Closed,
            Offered = settings.OpenLoop ? settings.Rate : settings.Concurrency,
            Warmup = settings.Warmup,
            Duration = settings.Duration,
            Seed = settings.Seed,
        };
        var run = await LoadEngine.RunAsync(plan, new GuardedSender(sender), TimeProvider.System, measurementStarted, cancellationToken).ConfigureAwait(false);
        var samples = new RequestSample[run.Samples.Count];
        for (int i = 0; i < samples.Length; i++)
        {
            samples[i] = run.Samples[i].Result;
        }

        return new PhaseResult(samples, run.WindowStartNs, settings.Duration, run.LateSends, run.MaxSendLagNs);
    }

    /// <summary>Sends through a <see cref="ChatRequestSender"/>; a failure the sender did not foresee becomes a sample
    /// of kind "client" instead of ending the run.</summary>
    private sealed class GuardedSender(ChatRequestSender sender) : ILoadSender<RequestSample>
    {
        public async Task<RequestSample> SendAsync(long sequence, long scheduledNs, CancellationToken cancellationToken)
        {
            try
            {
                return await sender.SendAsync(sequence, scheduledNs, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new RequestSample(sequence, scheduledNs, PreciseSleep.MonotonicNanoseconds(), 0, "client", e.Message, null, "none", "unknown", false, 0, "");
            }
        }
    }
}
