using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class DecisionRulesTests
{
    private static readonly RoutingOptions Options = new()
    {
        GpuOnlyModels = ["llama-3.1-70b"],
        LocalModels = ["qwen2.5-1.5b", "llama-3.1-70b"],
    };

    private static RoutingDecision Decide(DecisionInput input, RoutingOptions? options = null) =>
        DecisionRules.Decide(input, options ?? Options);

    private static void AssertDecision(RoutingDecision decision, Route route, string reason)
    {
        Assert.Equal(route, decision.Route);
        Assert.Equal(reason, decision.Reason);
        Assert.Contains(decision.Reason, RoutingReasons.All);
    }

    [Fact]
    public void Options_have_the_documented_defaults()
    {
        var o = new RoutingOptions();
        Assert.Equal(2048, o.LocalContextTokens);
        Assert.Equal(512, o.LocalMaxTokens);
        Assert.Equal(0.5, o.Threshold);
        Assert.Equal(0.1, o.UncertaintyBand);
        Assert.Equal(8, o.TokenConfidenceK);
        Assert.Equal(0.1, o.TokenConfidenceQuantile);
        Assert.Equal(0.35, o.TokenConfidenceThreshold);
        Assert.Empty(o.GpuOnlyModels);
        Assert.Empty(o.LocalModels);
        o.Validate();
    }

    [Fact]
    public void The_reason_set_is_fixed_and_snake_case()
    {
        Assert.Equal(
        [
            "gpu_only_model", "prompt_too_long", "max_tokens_over_local_budget", "classifier_confident_local",
            "classifier_escalate", "classifier_uncertain", "forced_local", "forced_gpu", "forced_speculative",
            "gpu_unavailable", "low_token_confidence", "local_busy",
        ], RoutingReasons.All);
    }

    [Theory]
    [InlineData(0.0001, ForcedMode.None, Route.Escalate, "local_busy")] // would be local
    [InlineData(double.NaN, ForcedMode.None, Route.Escalate, "local_busy")] // would be speculative
    [InlineData(0.9999, ForcedMode.None, Route.Escalate, "classifier_escalate")]
    [InlineData(double.NaN, ForcedMode.Speculative, Route.Escalate, "local_busy")]
    [InlineData(double.NaN, ForcedMode.Local, Route.Local, "forced_local")] // the client insists: queued or refused later
    [InlineData(double.NaN, ForcedMode.Gpu, Route.Escalate, "forced_gpu")]
    public void A_busy_local_runtime_escalates_what_the_gpu_can_take(double score, ForcedMode forced, Route route, string reason)
    {
        var decision = DecisionRules.Decide(new DecisionInput { Score = score, Forced = forced, LocalBusy = true }, new RoutingOptions());
        Assert.Equal(route, decision.Route);
        Assert.Equal(reason, decision.Reason);
    }

    [Theory]
    [InlineData(0.0001, ForcedMode.None, "classifier_confident_local")]
    [InlineData(double.NaN, ForcedMode.None, "gpu_unavailable")]
    [InlineData(double.NaN, ForcedMode.Speculative, "gpu_unavailable")]
    public void A_busy_local_runtime_stays_local_when_the_gpu_is_unavailable(double score, ForcedMode forced, string reason)
    {
        var decision = DecisionRules.Decide(new DecisionInput { Score = score, Forced = forced, LocalBusy = true, GpuUnavailable = true },
            new RoutingOptions());
        Assert.Equal(Route.Local, decision.Route);
        Assert.Equal(reason, decision.Reason);
    }

    [Theory]
    [InlineData("llama-3.1-70b")]
    [InlineData("LLAMA-3.1-70B")]
    [InlineData("mistral-large")] // not a local model
    public void Gpu_only_models_escalate(string model)
    {
        var decision = Decide(new DecisionInput { Model = model, Score = 0.01, Forced = ForcedMode.Local });
        AssertDecision(decision, Route.Escalate, RoutingReasons.GpuOnlyModel);
        Assert.Null(decision.Score);
    }

    [Fact]
    public void The_default_and_local_models_are_not_gpu_only()
    {
        Assert.False(Options.IsGpuOnly(null));
        Assert.False(Options.IsGpuOnly(""));
        Assert.False(Options.IsGpuOnly("Qwen2.5-1.5B"));
        Assert.False(new RoutingOptions().IsGpuOnly("anything"));
    }

    [Fact]
    public void Prompts_over_the_local_context_escalate()
    {
        // 2048 tokens ≈ 8192 characters at four characters a token.
        AssertDecision(Decide(new DecisionInput { PromptChars = 8192, Score = 0 }), Route.Local, RoutingReasons.ClassifierConfidentLocal);
        AssertDecision(Decide(new DecisionInput { PromptChars = 8193, Score = 0, Forced = ForcedMode.Local }), Route.Escalate, RoutingReasons.PromptTooLong);
    }

    [Fact]
    public void Max_tokens_over_the_local_budget_escalate()
    {
        AssertDecision(Decide(new DecisionInput { MaxTokens = 512, Score = 0 }), Route.Local, RoutingReasons.ClassifierConfidentLocal);
        AssertDecision(Decide(new DecisionInput { MaxTokens = 513, Score = 0 }), Route.Escalate, RoutingReasons.MaxTokensOverLocalBudget);
    }

    [Fact]
    public void Hard_rules_hold_even_when_the_gpu_is_unavailable()
    {
        AssertDecision(Decide(new DecisionInput { Model = "mistral-large", GpuUnavailable = true }), Route.Escalate, RoutingReasons.GpuOnlyModel);
        AssertDecision(Decide(new DecisionInput { PromptChars = 100_000, GpuUnavailable = true }), Route.Escalate, RoutingReasons.PromptTooLong);
    }

    [Fact]
    public void Forced_modes_come_after_hard_rules_and_before_the_classifier()
    {
        AssertDecision(Decide(new DecisionInput { Forced = ForcedMode.Local, Score = 0.99 }), Route.Local, RoutingReasons.ForcedLocal);
        AssertDecision(Decide(new DecisionInput { Forced = ForcedMode.Gpu, Score = 0.01 }), Route.Escalate, RoutingReasons.ForcedGpu);
        AssertDecision(Decide(new DecisionInput { Forced = ForcedMode.Speculative, Score = 0.01 }), Route.Speculative, RoutingReasons.ForcedSpeculative);
        AssertDecision(Decide(new DecisionInput { Forced = ForcedMode.Local, MaxTokens = 4096 }), Route.Escalate, RoutingReasons.MaxTokensOverLocalBudget);
    }

    [Fact]
    public void A_forced_gpu_stays_escalated_but_forced_speculation_falls_back_when_the_gpu_is_unavailable()
    {
        AssertDecision(Decide(new DecisionInput { Forced = ForcedMode.Gpu, GpuUnavailable = true }), Route.Escalate, RoutingReasons.ForcedGpu);
        AssertDecision(Decide(new DecisionInput { Forced = ForcedMode.Speculative, GpuUnavailable = true }), Route.Local, RoutingReasons.GpuUnavailable);
    }

    [Theory]
    [InlineData(0.0, Route.Local, RoutingReasons.ClassifierConfidentLocal)]
    [InlineData(0.399, Route.Local, RoutingReasons.ClassifierConfidentLocal)]
    [InlineData(0.4, Route.Speculative, RoutingReasons.ClassifierUncertain)]
    [InlineData(0.5, Route.Speculative, RoutingReasons.ClassifierUncertain)]
    [InlineData(0.6, Route.Speculative, RoutingReasons.ClassifierUncertain)]
    [InlineData(0.601, Route.Escalate, RoutingReasons.ClassifierEscalate)]
    [InlineData(1.0, Route.Escalate, RoutingReasons.ClassifierEscalate)]
    public void The_classifier_score_is_compared_with_the_threshold_and_band(double score, Route route, string reason)
    {
        var options = new RoutingOptions { Threshold = 0.5, UncertaintyBand = 0.1 };
        var decision = Decide(new DecisionInput { Score = score }, options);
        AssertDecision(decision, route, reason);
        Assert.Equal(score, decision.Score);
    }

    [Fact]
    public void A_missing_score_is_uncertain()
    {
        var decision = Decide(new DecisionInput());
        AssertDecision(decision, Route.Speculative, RoutingReasons.ClassifierUncertain);
        Assert.Null(decision.Score);
        AssertDecision(Decide(new DecisionInput { Score = double.NaN }), Route.Speculative, RoutingReasons.ClassifierUncertain);
        AssertDecision(Decide(default), Route.Speculative, RoutingReasons.ClassifierUncertain);
    }

    [Fact]
    public void When_the_gpu_is_unavailable_soft_escalations_stay_local()
    {
        var high = Decide(new DecisionInput { Score = 0.95, GpuUnavailable = true });
        AssertDecision(high, Route.Local, RoutingReasons.GpuUnavailable);
        Assert.Equal(0.95, high.Score);
        AssertDecision(Decide(new DecisionInput { Score = 0.5, GpuUnavailable = true }), Route.Local, RoutingReasons.GpuUnavailable);
        AssertDecision(Decide(new DecisionInput { Score = 0.05, GpuUnavailable = true }), Route.Local, RoutingReasons.ClassifierConfidentLocal);
    }

    [Fact]
    public void Band_zero_and_infinite_thresholds()
    {
        var noBand = new RoutingOptions { Threshold = 0.3, UncertaintyBand = 0 };
        AssertDecision(Decide(new DecisionInput { Score = 0.3 }, noBand), Route.Speculative, RoutingReasons.ClassifierUncertain);
        AssertDecision(Decide(new DecisionInput { Score = 0.30001 }, noBand), Route.Escalate, RoutingReasons.ClassifierEscalate);
        AssertDecision(Decide(new DecisionInput { Score = 1 }, new RoutingOptions { Threshold = double.PositiveInfinity }), Route.Local, RoutingReasons.ClassifierConfidentLocal);
        AssertDecision(Decide(new DecisionInput { Score = 0 }, new RoutingOptions { Threshold = double.NegativeInfinity }), Route.Escalate, RoutingReasons.ClassifierEscalate);
    }

    [Fact]
    public void Deciding_is_pure()
    {
        var input = new DecisionInput { Model = "qwen2.5-1.5b", PromptChars = 300, MaxTokens = 128, Score = 0.47 };
        Assert.Equal(Decide(input), Decide(input));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(4, 1)]
    [InlineData(5, 2)]
    [InlineData(8192, 2048)]
    [InlineData(int.MaxValue, 536870912)]
    public void Tokens_are_estimated_at_four_characters_each(int chars, int tokens)
    {
        Assert.Equal(tokens, DecisionRules.EstimateTokens(chars));
    }

    [Theory]
    [InlineData(null, ForcedMode.None, true)]
    [InlineData("", ForcedMode.None, true)]
    [InlineData("auto", ForcedMode.None, true)]
    [InlineData("local", ForcedMode.Local, true)]
    [InlineData(" GPU ", ForcedMode.Gpu, true)]
    [InlineData("Speculative", ForcedMode.Speculative, true)]
    [InlineData("cloud", ForcedMode.None, false)]
    public void Forced_modes_parse(string? text, ForcedMode mode, bool ok)
    {
        Assert.Equal(ok, ForcedModes.TryParse(text, out var parsed));
        Assert.Equal(mode, parsed);
    }

    private static TokenConfidence Ready(double probability)
    {
        var c = new RoutingOptions().CreateTokenConfidence();
        for (int i = 0; i < c.K; i++)
        {
            c.Add(Math.Log(i == 2 ? probability : 0.95));
        }

        return c;
    }

    [Fact]
    public void Low_token_confidence_escalates_a_local_stream()
    {
        var local = Decide(new DecisionInput { Score = 0.1 });
        var escalation = DecisionRules.OnTokenConfidence(local, Ready(0.2), new RoutingOptions());
        Assert.NotNull(escalation);
        AssertDecision(escalation, Route.Escalate, RoutingReasons.LowTokenConfidence);
        Assert.Equal(0.2, escalation.Score!.Value, 12);

        var speculative = Decide(new DecisionInput { Score = 0.5 });
        Assert.True(DecisionRules.ShouldEscalate(speculative, Ready(0.2), new RoutingOptions()));
    }

    [Fact]
    public void Confident_or_unready_streams_keep_going()
    {
        var local = Decide(new DecisionInput { Score = 0.1 });
        Assert.Null(DecisionRules.OnTokenConfidence(local, Ready(0.5), new RoutingOptions())); // above the 0.35 threshold
        var partial = new TokenConfidence();
        partial.Add(Math.Log(0.01));
        Assert.Null(DecisionRules.OnTokenConfidence(local, partial, new RoutingOptions()));
    }

    [Fact]
    public void Forced_local_escalated_and_gpu_unavailable_streams_never_escalate_mid_stream()
    {
        var options = new RoutingOptions();
        Assert.Null(DecisionRules.OnTokenConfidence(Decide(new DecisionInput { Forced = ForcedMode.Local }), Ready(0.01), options));
        Assert.Null(DecisionRules.OnTokenConfidence(Decide(new DecisionInput { Score = 0.9 }), Ready(0.01), options));
        Assert.Null(DecisionRules.OnTokenConfidence(Decide(new DecisionInput { Score = 0.9, GpuUnavailable = true }), Ready(0.01), options));
    }

    [Fact]
    public void Out_of_range_options_are_named()
    {
        Assert.Equal("UncertaintyBand", Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingOptions { UncertaintyBand = -1 }.Validate()).ParamName);
        Assert.Equal("LocalContextTokens", Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingOptions { LocalContextTokens = 0 }.Validate()).ParamName);
        Assert.Equal("TokenConfidenceQuantile", Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingOptions { TokenConfidenceQuantile = 2 }.Validate()).ParamName);
    }
}
