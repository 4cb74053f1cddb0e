using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class PromptFeaturesTests
{
    private static double[] Features(string prompt)
    {
        var f = new double[PromptFeatures.Count];
        PromptFeatures.Extract(prompt, f);
        return f;
    }

    private static double Feature(string prompt, string name)
    {
        int index = -1;
        for (int i = 0; i < PromptFeatures.Names.Count; i++)
        {
            if (PromptFeatures.Names[i] == name)
            {
                index = i;
            }
        }

        Assert.True(index >= 0, $"no feature {name}");
        return Features(prompt)[index];
    }

    [Fact]
    public void Names_match_the_count_and_are_unique()
    {
        Assert.Equal(PromptFeatures.Count, PromptFeatures.Names.Count);
        Assert.Equal(PromptFeatures.Count, PromptFeatures.Names.Distinct().Count());
        Assert.DoesNotContain(PromptFeatures.Names, n => n.Contains("bias", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void An_empty_prompt_has_all_features_zero()
    {
        Assert.All(Features(""), v => Assert.Equal(0, v));
        var blank = Features("   \t ");
        Assert.Equal(Math.Log(1 + 5), blank[0], 12); // log_chars counts whitespace
        Assert.All(blank[1..], v => Assert.Equal(0, v));
    }

    [Fact]
    public void A_short_question_has_the_expected_shape_features()
    {
        var f = Features("Hello world. How are you?");
        Assert.Equal(Math.Log(1 + 25), f[0], 12); // log_chars
        Assert.Equal(Math.Log(1 + 5), f[1], 12); // log_words
        Assert.Equal(0, f[2]); // log_lines
        Assert.Equal(Math.Log(1 + 2), f[3], 12); // log_sentences
        Assert.Equal(Math.Log(1 + 1), f[4], 12); // log_question_marks
        Assert.Equal(0, f[5]); // digit_share
        Assert.Equal(0, f[6]); // non_ascii_share
        Assert.Equal(0, f[7]); // code_fence
        Assert.Equal(0, f[8]); // code_symbol_share
        Assert.Equal(3.8, f[9], 12); // avg_word_length: (5 + 5 + 3 + 3 + 3) / 5
        Assert.Equal(0, f[10]); // long_word_share
    }

    [Theory]
    [InlineData("One. Two! Three? Four", 4)]
    [InlineData("Pi is 3.14 today", 1)]
    [InlineData("Wait...", 1)]
    [InlineData("Hello!!! World", 2)]
    [InlineData("No terminator at all", 1)]
    [InlineData("Done.", 1)]
    public void Sentences_end_at_terminator_runs_followed_by_space_or_the_end(string prompt, int sentences)
    {
        Assert.Equal(Math.Log(1 + sentences), Feature(prompt, "log_sentences"), 12);
    }

    [Fact]
    public void Lines_and_question_marks_are_counted()
    {
        Assert.Equal(Math.Log(1 + 3), Feature("a\nb\nc\nd", "log_lines"), 12);
        Assert.Equal(Math.Log(1 + 3), Feature("Why? Really?? ok", "log_question_marks"), 12);
    }

    [Fact]
    public void A_code_fence_sets_the_code_features()
    {
        var f = Features("```python\nprint(1)\n```");
        Assert.Equal(1, Feature("```python\nprint(1)\n```", "code_fence"));
        Assert.Equal(Math.Log(1 + 2), f[2], 12); // two line breaks
        // Visible characters: 9 + 8 + 3 = 20; six backticks are code symbols; one digit.
        Assert.Equal(6 / 20.0, Feature("```python\nprint(1)\n```", "code_symbol_share"), 12);
        Assert.Equal(1 / 20.0, Feature("```python\nprint(1)\n```", "digit_share"), 12);
        Assert.Equal(0, Feature("two `` backticks ` only", "code_fence"));
    }

    [Fact]
    public void Code_symbols_count_braces_semicolons_and_operators()
    {
        // Visible: "x={a;b}" = 7 characters, of which = { ; } are code symbols.
        Assert.Equal(4 / 7.0, Feature("x={a;b}", "code_symbol_share"), 12);
    }

    [Fact]
    public void Digit_and_non_ascii_shares_are_over_visible_characters()
    {
        Assert.Equal(4 / 8.0, Feature("year 2024", "digit_share"), 12);
        // "Grüße aus Köln": 12 visible characters, ü ß ö are non-ASCII.
        Assert.Equal(3 / 12.0, Feature("Grüße aus Köln", "non_ascii_share"), 12);
    }

    [Fact]
    public void Word_length_features_use_word_cores()
    {
        // Cores: internationalization (20), is (2), extraordinary (13); the "!!" is trimmed.
        var f = Features("internationalization is extraordinary!!");
        Assert.Equal(35 / 3.0, f[9], 12);
        Assert.Equal(2 / 3.0, f[10], 12);
        // A token with no letters or digits is not a word.
        Assert.Equal(Math.Log(1 + 2), Feature("hello -- world", "log_words"), 12);
    }

    [Theory]
    [InlineData("Prove this. Why? Analyze, compare and evaluate step by step.", "kw_reasoning", 6)]
    [InlineData("Assess the trade-off; justify it step-by-step.", "kw_reasoning", 4)]
    [InlineData("Write an essay and a detailed story in detail.", "kw_long_form", 5)]
    [InlineData("write a report", "kw_long_form", 2)]
    [InlineData("Implement a Python function; fix the SQL bug and the regex.", "kw_code", 6)]
    [InlineData("Calculate the integral, solve the equation, find the probability.", "kw_math", 5)]
    [InlineData("Translate and summarize; then summarise the translation.", "kw_transform", 4)]
    public void Keyword_groups_count_their_matches(string prompt, string feature, int matches)
    {
        Assert.Equal(Math.Log(1 + matches), Feature(prompt, feature), 12);
    }

    [Fact]
    public void Keywords_match_ignoring_case()
    {
        Assert.Equal(Math.Log(1 + 2), Feature("PROVE it. WHY?", "kw_reasoning"), 12);
        Assert.Equal(Math.Log(1 + 1), Feature("Step By Step", "kw_reasoning"), 12);
        Assert.Equal(Math.Log(1 + 1), Feature("SUMMARISE", "kw_transform"), 12);
    }

    [Fact]
    public void Exact_keywords_do_not_match_longer_words()
    {
        Assert.Equal(0, Feature("provence codes buggy whyever", "kw_reasoning"));
        Assert.Equal(0, Feature("provence codes buggy whyever", "kw_code"));
        // Prefix keywords do.
        Assert.Equal(Math.Log(1 + 1), Feature("analytical", "kw_reasoning"), 12);
    }

    [Fact]
    public void Phrases_need_consecutive_words()
    {
        Assert.Equal(0, Feature("step by the step", "kw_reasoning"));
        Assert.Equal(0, Feature("write me a note", "kw_long_form"));
    }

    [Fact]
    public void A_too_short_span_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => PromptFeatures.Extract("hi", new double[PromptFeatures.Count - 1]));
        Assert.Equal("features", ex.ParamName);
    }

    [Fact]
    public void Extraction_allocates_nothing()
    {
        string prompt = string.Concat(Enumerable.Repeat("Explain step by step why the integral of x^2 is x^3/3; write a Python function. ", 5));
        Span<double> f = stackalloc double[PromptFeatures.Count];
        PromptFeatures.Extract(prompt, f); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            PromptFeatures.Extract(prompt, f);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
