namespace DataPlane.Edge.Routing;

/// <summary>What <see cref="DecisionRules.Decide"/> looks at for one request. Every member's default
/// (<c>default(DecisionInput)</c> included) is the neutral value: default model, no max_tokens, nothing
/// forced, no score, GPU available.</summary>
public readonly record struct DecisionInput
{
    /// <summary>The model the client asked for; null or empty means the default (local) model.</summary>
    public string? Model { get; init; }

    /// <summary>Characters of the prompt as sent to the model (all messages' text together).</summary>
    public int PromptChars { get; init; }

    /// <summary>The client's max_tokens; null when it did not set one.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>A mode the client forced (header or request field).</summary>
    public ForcedMode Forced { get; init; }

    /// <summary>The classifier's P(needs GPU); null (or NaN) when there is none, which is treated as uncertain.</summary>
    public double? Score { get; init; }

    /// <summary>True when the GPU pool cannot take the request now (circuit open, no healthy host).</summary>
    public bool GpuUnavailable { get; init; }

    /// <summary>True when the local runtime is serving all the generations it can at once (or requests already wait
    /// for one).</summary>
    public bool LocalBusy { get; init; }
}

/// <summary>The routing decision, a pure function of the request's <see cref="DecisionInput"/> and the
/// <see cref="RoutingOptions"/>. Rules, first match wins:
/// <list type="number">
/// <item>Hard rules (the local model cannot serve the request; never overridden):
///   <see cref="RoutingOptions.IsGpuOnly"/> model → Escalate <c>gpu_only_model</c>;
///   estimated prompt tokens (<see cref="EstimateTokens"/>: ⌈characters / 4⌉) &gt;
///   <see cref="RoutingOptions.LocalContextTokens"/> → Escalate <c>prompt_too_long</c>;
///   max_tokens &gt; <see cref="RoutingOptions.LocalMaxTokens"/> → Escalate <c>max_tokens_over_local_budget</c>.
///   These stay Escalate when the GPU is unavailable: the caller then answers 503.</item>
/// <item>Client-forced mode: local → Local <c>forced_local</c>; gpu → Escalate <c>forced_gpu</c> (kept
///   even when the GPU is unavailable: the client asked for it explicitly); speculative → Speculative
///   <c>forced_speculative</c>, or Local <c>gpu_unavailable</c> when the GPU is unavailable, or Escalate
///   <c>local_busy</c> when the local runtime is busy. A forced local stays local however busy it is (the caller
///   then queues or refuses it).</item>
/// <item>Classifier score s against the calibrated threshold t and band h (<see cref="RoutingOptions.UncertaintyBand"/>):
///   s &lt; t − h → Local <c>classifier_confident_local</c>; s &gt; t + h → Escalate <c>classifier_escalate</c>;
///   otherwise (including a missing or NaN score) → Speculative <c>classifier_uncertain</c>. With h = 0 a
///   score exactly at t is uncertain. When the GPU is unavailable, the last two become Local <c>gpu_unavailable</c>.
///   When the local runtime is busy (<see cref="DecisionInput.LocalBusy"/>) and the GPU is available, Local and
///   Speculative become Escalate <c>local_busy</c>: a full Pi's answer is the slow one.</item>
/// </list>
/// Decisions without a score are shared instances; the others allocate one small record.</summary>
public static class DecisionRules
{
    /// <summary>Characters per token assumed by <see cref="EstimateTokens"/> (English text with a
    /// BPE tokenizer averages about four; code and other scripts use more tokens per character, so this
    /// underestimates them).</summary>
    public const int CharsPerToken = 4;

    private static readonly RoutingDecision GpuOnly = new(Route.Escalate, RoutingReasons.GpuOnlyModel);
    private static readonly RoutingDecision TooLong = new(Route.Escalate, RoutingReasons.PromptTooLong);
    private static readonly RoutingDecision OverBudget = new(Route.Escalate, RoutingReasons.MaxTokensOverLocalBudget);
    private static readonly RoutingDecision ForcedLocal = new(Route.Local, RoutingReasons.ForcedLocal);
    private static readonly RoutingDecision ForcedGpu = new(Route.Escalate, RoutingReasons.ForcedGpu);
    private static readonly RoutingDecision ForcedSpeculative = new(Route.Speculative, RoutingReasons.ForcedSpeculative);
    private static readonly RoutingDecision Unavailable = new(Route.Local, RoutingReasons.GpuUnavailable);
    private static readonly RoutingDecision Busy = new(Route.Escalate, RoutingReasons.LocalBusy);

    /// <summary>Estimated tokens of a prompt of <paramref name="chars"/> characters: ⌈chars / <see cref="CharsPerToken"/>⌉.</summary>
    public static int EstimateTokens(int chars) => chars <= 0 ? 0 : (int)(((long)chars + CharsPerToken - 1) / CharsPerToken);

    /// <summary>Decides where the request goes (see the class remarks for the rules).</summary>
    public static RoutingDecision Decide(DecisionInput input, RoutingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        if (options.IsGpuOnly(input.Model))
        {
            return GpuOnly;
        }

        if (EstimateTokens(input.PromptChars) > options.LocalContextTokens)
        {
            return TooLong;
        }

        if (input.MaxTokens is { } maxTokens && maxTokens > options.LocalMaxTokens)
        {
            return OverBudget;
        }

        switch (input.Forced)
        {
            case ForcedMode.Local:
                return ForcedLocal;
            case ForcedMode.Gpu:
                return ForcedGpu;
            case ForcedMode.Speculative:
                return input.GpuUnavailable ? Unavailable : input.LocalBusy ? Busy : ForcedSpeculative;
        }

        double score = input.Score ?? double.NaN;
        double? reported = double.IsNaN(score) ? null : score;
        if (score < options.Threshold - options.UncertaintyBand)
        {
            return input.LocalBusy && !input.GpuUnavailable
                ? new RoutingDecision(Route.Escalate, RoutingReasons.LocalBusy, reported)
                : new RoutingDecision(Route.Local, RoutingReasons.ClassifierConfidentLocal, reported);
        }

        if (input.GpuUnavailable)
        {
            return new RoutingDecision(Route.Local, RoutingReasons.GpuUnavailable, reported);
        }

        if (score > options.Threshold + options.UncertaintyBand)
        {
            return new RoutingDecision(Route.Escalate, RoutingReasons.ClassifierEscalate, reported);
        }

        return input.LocalBusy
            ? new RoutingDecision(Route.Escalate, RoutingReasons.LocalBusy, reported)
            : new RoutingDecision(Route.Speculative, RoutingReasons.ClassifierUncertain, reported);
    }

    /// <summary>Mid-stream check once the local model streamed its first tokens: returns an Escalate
    /// decision with reason <c>low_token_confidence</c> (and the quantile as its score) when
    /// <paramref name="decision"/> runs the local model (Local or Speculative), was not forced local and
    /// was not taken because the GPU is unavailable, <paramref name="confidence"/>
    /// <see cref="TokenConfidence.IsReady"/>, and its <see cref="TokenConfidence.LowQuantile"/> is below
    /// <see cref="RoutingOptions.TokenConfidenceThreshold"/>. Returns null (keep going) otherwise,
    /// including before the confidence is ready.</summary>
    public static RoutingDecision? OnTokenConfidence(RoutingDecision decision, TokenConfidence confidence, RoutingOptions options)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(confidence);
        ArgumentNullException.ThrowIfNull(options);

        if (decision.Route == Route.Escalate
            || decision.Reason is RoutingReasons.ForcedLocal or RoutingReasons.GpuUnavailable
            || !confidence.IsReady)
        {
            return null;
        }

        double quantile = confidence.LowQuantile;
        return quantile < options.TokenConfidenceThreshold
            ? new RoutingDecision(Route.Escalate, RoutingReasons.LowTokenConfidence, quantile)
            : null;
    }

    /// <summary>Convenience form of <see cref="OnTokenConfidence"/>: true when the stream should escalate.</summary>
    public static bool ShouldEscalate(RoutingDecision decision, TokenConfidence confidence, RoutingOptions options) =>
        OnTokenConfidence(decision, confidence, options) is not null;
}
