using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class TokenConfidenceTests
{
    private static TokenConfidence With(int k, double q, params double[] probabilities)
    {
        var c = new TokenConfidence(k, q);
        foreach (double p in probabilities)
        {
            c.Add(Math.Log(p));
        }

        return c;
    }

    [Fact]
    public void Defaults_are_eight_tokens_and_the_tenth_percentile()
    {
        var c = new TokenConfidence();
        Assert.Equal(8, c.K);
        Assert.Equal(0.1, c.Quantile);
        Assert.False(c.IsReady);
        Assert.True(double.IsNaN(c.LowQuantile));
        Assert.True(double.IsNaN(c.MeanProbability));
    }

    [Fact]
    public void With_eight_tokens_the_tenth_percentile_is_the_minimum()
    {
        var c = With(8, 0.1, 0.9, 0.8, 0.95, 0.5, 0.99, 0.7, 0.6, 0.85);
        Assert.True(c.IsReady);
        Assert.Equal(0.5, c.LowQuantile, 12);
        Assert.Equal(0.5, c.MinProbability, 12);
    }

    [Fact]
    public void With_twenty_tokens_the_tenth_percentile_is_the_second_smallest()
    {
        var probabilities = Enumerable.Range(0, 20).Select(i => 0.9).ToArray();
        probabilities[3] = 0.2;
        probabilities[17] = 0.3;
        probabilities[9] = 0.4;
        Assert.Equal(0.3, With(20, 0.1, probabilities).LowQuantile, 12);
    }

    [Theory]
    [InlineData(0.5, 0.4)] // rank ⌈2⌉ = 2
    [InlineData(0.25, 0.2)]
    [InlineData(0.26, 0.4)]
    [InlineData(1.0, 0.8)]
    [InlineData(0.0, 0.2)]
    public void Other_quantiles_are_nearest_rank(double q, double expected)
    {
        Assert.Equal(expected, With(4, q, 0.8, 0.2, 0.6, 0.4).LowQuantile, 12);
    }

    [Fact]
    public void It_becomes_ready_at_k_tokens_and_ignores_the_rest()
    {
        var c = new TokenConfidence(3);
        c.Add(Math.Log(0.9));
        c.Add(Math.Log(0.8));
        Assert.False(c.IsReady);
        Assert.Equal(2, c.Count);
        Assert.Equal(0.8, c.LowQuantile, 12); // over the tokens seen so far
        c.Add(Math.Log(0.7));
        Assert.True(c.IsReady);
        c.Add(Math.Log(0.01));
        Assert.Equal(3, c.Count);
        Assert.Equal(0.7, c.LowQuantile, 12);
    }

    [Fact]
    public void Odd_logprobs_are_clamped()
    {
        var c = new TokenConfidence(2);
        c.Add(1e-9); // rounding above zero → probability 1
        c.Add(double.NaN); // unscorable → probability 0
        Assert.Equal(0, c.LowQuantile);
        Assert.Equal(0.5, c.MeanProbability, 12);
    }

    [Fact]
    public void Reset_forgets_everything()
    {
        var c = With(2, 0.1, 0.3, 0.4);
        c.Reset();
        Assert.Equal(0, c.Count);
        Assert.False(c.IsReady);
        Assert.True(double.IsNaN(c.LowQuantile));
        Assert.Equal(0, c.SumLogprob);
        c.Add(Math.Log(0.9));
        Assert.Equal(0.9, c.LowQuantile, 12);
    }

    [Fact]
    public void Mean_and_low_quantile_disagree_when_one_token_is_a_guess()
    {
        // A: seven trivially predictable tokens and one guessed fact. B: uniformly unsure.
        var a = With(8, 0.1, 0.99, 0.99, 0.99, 0.05, 0.99, 0.99, 0.99, 0.99);
        var b = With(8, 0.1, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6);

        // The mean calls A the more confident answer; the low quantile sees the guess.
        Assert.True(a.MeanProbability > b.MeanProbability);
        Assert.True(a.LowQuantile < b.LowQuantile);
        Assert.Equal(0.05, a.LowQuantile, 12);

        var options = new RoutingOptions();
        var local = new RoutingDecision(Route.Local, RoutingReasons.ClassifierConfidentLocal, 0.1);
        Assert.True(a.MeanProbability > options.TokenConfidenceThreshold); // a mean rule would keep A
        Assert.True(DecisionRules.ShouldEscalate(local, a, options));
        Assert.False(DecisionRules.ShouldEscalate(local, b, options));
    }

    [Fact]
    public void The_sum_of_logprobs_penalises_length_but_the_quantile_does_not()
    {
        // Sixteen fluent tokens versus one shaky token.
        var fluent = With(16, 0.1, Enumerable.Repeat(0.95, 16).ToArray());
        var shaky = With(16, 0.1, 0.45);
        Assert.True(fluent.SumLogprob < shaky.SumLogprob); // the sum prefers the short guess
        Assert.True(fluent.LowQuantile > shaky.LowQuantile); // the quantile does not
    }

    [Fact]
    public void Adding_and_reading_allocate_nothing()
    {
        var c = new TokenConfidence(16, 0.1);
        double sink = 0;
        c.Add(-0.1);
        sink += c.LowQuantile;
        c.Reset();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 50; round++)
        {
            for (int i = 0; i < 20; i++)
            {
                c.Add(-0.01 * i);
                sink += c.LowQuantile;
            }

            c.Reset();
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.True(sink > 0);
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenConfidence(0)).ParamName);
        Assert.Equal("quantile", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenConfidence(8, 1.5)).ParamName);
    }
}
