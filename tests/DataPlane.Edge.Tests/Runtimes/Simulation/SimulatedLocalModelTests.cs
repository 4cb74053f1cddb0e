using DataPlane.Edge.Api;
using DataPlane.Edge.Runtimes.Simulation;

namespace DataPlane.Edge.Tests.Runtimes.Simulation;

public sealed class SimulatedLocalModelTests
{
    private const string Greeting = "Hello, how are you?";
    private const string HardPrompt =
        "Prove that there are infinitely many primes, then derive the asymptotic density of primes below 10000 " +
        "step by step, and compare the result with the prime number theorem; explain in detail why 1229 primes appear.";

    [Fact]
    public void Tokens_are_deterministic_and_depend_on_the_prompt()
    {
        var first = SimulatedLocalModel.Tokens(Greeting, 100);
        var again = SimulatedLocalModel.Tokens(Greeting, 100);
        var other = SimulatedLocalModel.Tokens("What is the capital of France?", 100);

        Assert.Equal(first, again);
        Assert.NotEqual(first.Select(t => t.Text), other.Select(t => t.Text));
    }

    [Fact]
    public void Tokens_are_space_prefixed_vocabulary_words()
    {
        foreach (var (text, _) in SimulatedLocalModel.Tokens(HardPrompt, 100))
        {
            Assert.StartsWith(" ", text, StringComparison.Ordinal);
            Assert.Contains(text[1..], SimulatedLocalModel.Vocabulary);
        }
    }

    [Fact]
    public void Difficulty_is_zero_for_a_greeting_and_high_for_a_long_prove_derive_prompt()
    {
        Assert.Equal(0, SimulatedLocalModel.Difficulty(Greeting));
        Assert.Equal(0, SimulatedLocalModel.Difficulty(""));
        double hard = SimulatedLocalModel.Difficulty(HardPrompt);
        Assert.InRange(hard, 0.5, 1);
        Assert.True(SimulatedLocalModel.CountCues(HardPrompt) >= 4);
    }

    [Theory]
    [InlineData("Translate this sentence into German.", 1)]
    [InlineData("Write code for a binary search, step-by-step.", 2)]
    [InlineData("PROVE IT. Prove it again!", 1)]
    [InlineData("provence is lovely", 0)]
    public void Cues_are_whole_words_or_phrases_counted_once(string prompt, int cues)
    {
        Assert.Equal(cues, SimulatedLocalModel.CountCues(prompt));
    }

    [Fact]
    public void Each_cue_length_and_digit_makes_a_prompt_harder()
    {
        double plain = SimulatedLocalModel.Difficulty("tell me about the weather today please");
        Assert.True(SimulatedLocalModel.Difficulty("analyze the weather today please") > plain);
        Assert.True(SimulatedLocalModel.Difficulty("tell me about 2024 weather 31.5 today please") > plain);
        Assert.True(SimulatedLocalModel.Difficulty(string.Join(' ', Enumerable.Repeat("tell me about the weather", 20))) > plain);
        Assert.Equal(1, SimulatedLocalModel.Difficulty(
            "prove derive analyze " + string.Join(' ', Enumerable.Repeat("12345", 200))), 9);
    }

    [Fact]
    public void A_greeting_gets_higher_token_probabilities_than_a_hard_prompt()
    {
        var easy = SimulatedLocalModel.Tokens(Greeting, 40).Select(t => Math.Exp(t.Logprob)).ToArray();
        var hard = SimulatedLocalModel.Tokens(HardPrompt, 40).Select(t => Math.Exp(t.Logprob)).ToArray();

        Assert.All(easy, p => Assert.InRange(p, 0.87, 0.97));
        Assert.True(easy.Min() > hard.Max(), $"easy min {easy.Min()} <= hard max {hard.Max()}");
        Assert.True(easy.Average() - hard.Average() > 0.25);
    }

    [Fact]
    public void Token_probability_follows_the_documented_formula()
    {
        double d = SimulatedLocalModel.Difficulty(HardPrompt);
        var tokens = SimulatedLocalModel.Tokens(HardPrompt, 40);
        for (int i = 0; i < tokens.Count; i++)
        {
            double p = SimulatedLocalModel.TokenProbability(HardPrompt, i);
            Assert.Equal(Math.Log(p), tokens[i].Logprob, 12);
            // p = clamp(0.97 - 0.6 d - 0.1 u), u in [0, 1)
            Assert.InRange(p, 0.97 - (0.6 * d) - 0.1, 0.97 - (0.6 * d));
        }
    }

    [Fact]
    public void Answers_end_naturally_between_12_and_40_tokens_or_at_the_cap()
    {
        for (int n = 0; n < 200; n++)
        {
            string prompt = $"question number {n}";
            int natural = SimulatedLocalModel.NaturalLength(prompt);
            Assert.InRange(natural, SimulatedLocalModel.MinNaturalLength, SimulatedLocalModel.MaxNaturalLength);
            Assert.Equal(natural, SimulatedLocalModel.Tokens(prompt, 1000).Count);
            Assert.Equal("stop", SimulatedLocalModel.FinishReason(prompt, natural));
            Assert.Equal("length", SimulatedLocalModel.FinishReason(prompt, natural - 1));
            Assert.Equal(5, SimulatedLocalModel.Tokens(prompt, 5).Count);
        }
    }

    [Fact]
    public void Answer_applies_the_cap_the_default_cap_and_stop_strings()
    {
        var model = new SimulatedLocalModel(new SimulatedLocalOptions { MaxTokens = 4 });

        var capped = model.Answer(HardPrompt, 100, []);
        Assert.Equal(SimulatedLocalModel.Tokens(HardPrompt, 4), capped.Tokens);
        Assert.Equal("length", capped.FinishReason);
        Assert.Equal(4, model.Answer(HardPrompt, null, []).Tokens.Count);
        Assert.Equal(2, model.Answer(HardPrompt, 2, []).Tokens.Count);

        var full = SimulatedLocalModel.Tokens(Greeting, 40);
        var unlimited = new SimulatedLocalModel(new SimulatedLocalOptions());
        var stopped = unlimited.Answer(Greeting, null, [full[2].Text]);
        Assert.True(stopped.Tokens.Count <= 2);
        Assert.Equal("stop", stopped.FinishReason);
    }

    [Fact]
    public void Tokens_are_due_after_the_first_token_delay_then_at_the_decode_rate()
    {
        var model = new SimulatedLocalModel(new SimulatedLocalOptions());

        Assert.Equal(TimeSpan.FromSeconds(0.3), model.DueAfter(0));
        Assert.Equal(TimeSpan.FromSeconds(0.3 + (10 / 8.0)), model.DueAfter(10));
    }

    [Fact]
    public void A_chat_is_answered_from_its_last_user_message()
    {
        var messages = new[] { new ChatMessage("system", "Be brief."), new ChatMessage("user", "first"), new ChatMessage("assistant", "ok"), new ChatMessage("user", Greeting) };

        Assert.Equal(Greeting, SimulatedLocalModel.PromptOf(messages));
        Assert.Equal("a\nb", SimulatedLocalModel.PromptOf([new ChatMessage("system", "a"), new ChatMessage("assistant", "b")]));
    }

    [Fact]
    public void Invalid_options_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new SimulatedLocalModel(new SimulatedLocalOptions { TokensPerSecond = 0 }));
        Assert.Throws<ArgumentException>(() => new SimulatedLocalModel(new SimulatedLocalOptions { TokensPerSecond = double.NaN }));
        Assert.Throws<ArgumentException>(() => new SimulatedLocalModel(new SimulatedLocalOptions { MaxTokens = 0 }));
        Assert.Throws<ArgumentException>(() => new SimulatedLocalModel(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentException>(() => new SimulatedLocalModel(new SimulatedLocalOptions { ModelName = " " }));
    }
}
