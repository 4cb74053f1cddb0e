namespace DataPlane.Edge.Routing;

/// <summary>Where a request goes.</summary>
public enum Route
{
    /// <summary>Answer with the local model only.</summary>
    Local,

    /// <summary>Send to the GPU pool only.</summary>
    Escalate,

    /// <summary>Start the local model and the GPU pool together; keep whichever wins (tied request).</summary>
    Speculative,
}

/// <summary>A routing decision and why it was made.</summary>
/// <param name="Route">Where the request goes.</param>
/// <param name="Reason">One of the <see cref="RoutingReasons"/> strings (a metric label; never free text).</param>
/// <param name="Score">The classifier score when it took part in the decision (or, for
/// <see cref="RoutingReasons.LowTokenConfidence"/>, the token-confidence quantile); null otherwise.</param>
public sealed record RoutingDecision(Route Route, string Reason, double? Score = null);

/// <summary>The fixed set of decision reasons, suitable as a low-cardinality metric label.</summary>
public static class RoutingReasons
{
    /// <summary>The requested model is served only by the GPU pool (→ Escalate).</summary>
    public const string GpuOnlyModel = "gpu_only_model";

    /// <summary>The estimated prompt tokens exceed the local context budget (→ Escalate).</summary>
    public const string PromptTooLong = "prompt_too_long";

    /// <summary>The requested max_tokens exceeds what the local model may generate (→ Escalate).</summary>
    public const string MaxTokensOverLocalBudget = "max_tokens_over_local_budget";

    /// <summary>The classifier score is below the uncertainty band (→ Local).</summary>
    public const string ClassifierConfidentLocal = "classifier_confident_local";

    /// <summary>The classifier score is above the uncertainty band (→ Escalate).</summary>
    public const string ClassifierEscalate = "classifier_escalate";

    /// <summary>The classifier score is inside the uncertainty band, or missing (→ Speculative).</summary>
    public const string ClassifierUncertain = "classifier_uncertain";

    /// <summary>The client forced local (→ Local).</summary>
    public const string ForcedLocal = "forced_local";

    /// <summary>The client forced the GPU (→ Escalate).</summary>
    public const string ForcedGpu = "forced_gpu";

    /// <summary>The client forced speculative execution (→ Speculative).</summary>
    public const string ForcedSpeculative = "forced_speculative";

    /// <summary>The rules would use the GPU, but it is unavailable (circuit open) (→ Local).</summary>
    public const string GpuUnavailable = "gpu_unavailable";

    /// <summary>Mid-stream: the local model's first tokens were too uncertain (→ Escalate).</summary>
    public const string LowTokenConfidence = "low_token_confidence";

    /// <summary>The local runtime was serving all the generations it can at once, and the GPU pool could take the
    /// request (→ Escalate).</summary>
    public const string LocalBusy = "local_busy";

    /// <summary>Every reason, in the order above.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        GpuOnlyModel, PromptTooLong, MaxTokensOverLocalBudget, ClassifierConfidentLocal, ClassifierEscalate,
        ClassifierUncertain, ForcedLocal, ForcedGpu, ForcedSpeculative, GpuUnavailable, LowTokenConfidence, LocalBusy,
    ];
}

/// <summary>A routing mode forced by the client (header or request field).</summary>
public enum ForcedMode
{
    /// <summary>Nothing forced: the rules and the classifier decide.</summary>
    None,

    /// <summary>"local".</summary>
    Local,

    /// <summary>"gpu".</summary>
    Gpu,

    /// <summary>"speculative".</summary>
    Speculative,
}

/// <summary>Parses client-forced modes.</summary>
public static class ForcedModes
{
    /// <summary>Parses "local", "gpu" or "speculative" (case-insensitive, surrounding whitespace ignored);
    /// null, empty and "auto" mean <see cref="ForcedMode.None"/>. Returns false for anything else (mode None).</summary>
    public static bool TryParse(string? value, out ForcedMode mode)
    {
        var text = value.AsSpan().Trim();
        if (text.IsEmpty || text.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            mode = ForcedMode.None;
            return true;
        }

        if (text.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            mode = ForcedMode.Local;
        }
        else if (text.Equals("gpu", StringComparison.OrdinalIgnoreCase))
        {
            mode = ForcedMode.Gpu;
        }
        else if (text.Equals("speculative", StringComparison.OrdinalIgnoreCase))
        {
            mode = ForcedMode.Speculative;
        }
        else
        {
            mode = ForcedMode.None;
            return false;
        }

        return true;
    }
}
