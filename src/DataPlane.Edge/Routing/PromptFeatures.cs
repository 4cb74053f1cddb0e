namespace DataPlane.Edge.Routing;

/// <summary>Cheap, explainable features of a prompt, computed in one pass over its characters with no
/// heap allocation. The vector carries no constant (bias) term: the classifier has its own bias.
/// <para>Definitions used below: a <em>token</em> is a maximal run of non-whitespace characters; its
/// <em>core</em> is the token with leading and trailing characters that are neither letters nor digits
/// trimmed ("why?" → "why", "(python)" → "python"); a <em>word</em> is a token whose core is not empty.
/// "Visible" characters are the non-whitespace ones. Keyword matching is case-insensitive, on word
/// cores, either exact or by prefix (written <c>analy*</c>); phrases match consecutive words.</para>
/// <para>The features, in order (see <see cref="Names"/>):</para>
/// <list type="number">
/// <item><c>log_chars</c>: ln(1 + characters), whitespace included.</item>
/// <item><c>log_words</c>: ln(1 + words).</item>
/// <item><c>log_lines</c>: ln(1 + line breaks) — pasted documents and code span many lines.</item>
/// <item><c>log_sentences</c>: ln(1 + sentences). A sentence ends at a run of '.', '!' or '?' followed by
/// whitespace or the end of the text; trailing text without a terminator counts as one more.</item>
/// <item><c>log_question_marks</c>: ln(1 + '?' characters).</item>
/// <item><c>digit_share</c>: decimal digits / visible characters (0 for an empty prompt).</item>
/// <item><c>non_ascii_share</c>: characters above U+007F / visible characters (text to translate, other scripts).</item>
/// <item><c>code_fence</c>: 1 when the prompt contains a Markdown code fence (three backticks), else 0.</item>
/// <item><c>code_symbol_share</c>: characters from <c>{}[];=&lt;&gt;|\`</c> / visible characters.</item>
/// <item><c>avg_word_length</c>: mean core length of the words (0 without words).</item>
/// <item><c>long_word_share</c>: share of words whose core has 9 or more characters.</item>
/// <item><c>kw_reasoning</c>: ln(1 + matches) of prove, proof, derive, derivation, why, analy*, compar*,
/// contrast, evaluat*, justify, critique, assess*, tradeoff*, trade-off*, implication*, step-by-step,
/// "step by step".</item>
/// <item><c>kw_long_form</c>: ln(1 + matches) of essay*, story, stories, report, article*, blog,
/// detailed, comprehensive, thorough*, chapter*, proposal*, "write a", "write an", "in detail".</item>
/// <item><c>kw_code</c>: ln(1 + matches) of code, coding, function*, implement*, python, sql, regex*,
/// bug, bugs, debug*, javascript, typescript, java, rust, golang, compile*, algorithm*, script*, refactor*,
/// api, endpoint*.</item>
/// <item><c>kw_math</c>: ln(1 + matches) of integral*, integrat*, equation*, calculat*, probabilit*,
/// derivative*, matrix, matrices, theorem*, solve, statistic*, variance, eigen*, polynomial*.</item>
/// <item><c>kw_transform</c>: ln(1 + matches) of translat*, summar*, paraphras*.</item>
/// </list></summary>
public static class PromptFeatures
{
    /// <summary>Number of features, the length of the span <see cref="Extract"/> fills.</summary>
    public const int Count = 16;

    /// <summary>Words at least this long count towards <c>long_word_share</c>.</summary>
    public const int LongWordLength = 9;

    // Feature indices, in the order of Names.
    internal const int LogChars = 0;
    internal const int LogWords = 1;
    internal const int LogLines = 2;
    internal const int LogSentences = 3;
    internal const int LogQuestionMarks = 4;
    internal const int DigitShare = 5;
    internal const int NonAsciiShare = 6;
    internal const int CodeFence = 7;
    internal const int CodeSymbolShare = 8;
    internal const int AvgWordLength = 9;
    internal const int LongWordShare = 10;
    internal const int KwReasoning = 11;
    internal const int KwLongForm = 12;
    internal const int KwCode = 13;
    internal const int KwMath = 14;
    internal const int KwTransform = 15;

    /// <summary>Lower-cased word cores longer than this never match a keyword (the longest is shorter).</summary>
    private const int MaxKeywordCore = 24;

    private static readonly string[] FeatureNames =
    [
        "log_chars", "log_words", "log_lines", "log_sentences", "log_question_marks",
        "digit_share", "non_ascii_share", "code_fence", "code_symbol_share",
        "avg_word_length", "long_word_share",
        "kw_reasoning", "kw_long_form", "kw_code", "kw_math", "kw_transform",
    ];

    /// <summary>Feature names, in order; the classifier file must list exactly these.</summary>
    public static IReadOnlyList<string> Names => FeatureNames;

    /// <summary>Keyword groups, indexed by feature index − <see cref="KwReasoning"/>.</summary>
    private enum Group
    {
        Reasoning = 0,
        LongForm = 1,
        Code = 2,
        Math = 3,
        Transform = 4,
    }

    /// <summary>Words that take part in phrases; everything else is <see cref="Other"/>.</summary>
    private enum PhraseWord : byte
    {
        Other,
        Step,
        By,
        Write,
        A,
        In,
        Detail,
    }

    private readonly record struct Keyword(string Text, bool Prefix, Group Group);

    private static readonly Keyword[] Keywords =
    [
        // Reasoning.
        new("prove", false, Group.Reasoning), new("proof", false, Group.Reasoning),
        new("derive", false, Group.Reasoning), new("derivation", false, Group.Reasoning),
        new("why", false, Group.Reasoning), new("analy", true, Group.Reasoning),
        new("compar", true, Group.Reasoning), new("contrast", false, Group.Reasoning),
        new("evaluat", true, Group.Reasoning), new("justify", false, Group.Reasoning),
        new("critique", false, Group.Reasoning), new("assess", true, Group.Reasoning),
        new("tradeoff", true, Group.Reasoning), new("trade-off", true, Group.Reasoning),
        new("implication", true, Group.Reasoning), new("step-by-step", false, Group.Reasoning),
        // Long-form generation.
        new("essay", true, Group.LongForm), new("story", false, Group.LongForm),
        new("stories", false, Group.LongForm), new("report", false, Group.LongForm),
        new("article", true, Group.LongForm), new("blog", false, Group.LongForm),
        new("detailed", false, Group.LongForm), new("comprehensive", false, Group.LongForm),
        new("thorough", true, Group.LongForm), new("chapter", true, Group.LongForm),
        new("proposal", true, Group.LongForm),
        // Code.
        new("code", false, Group.Code), new("coding", false, Group.Code),
        new("function", true, Group.Code), new("implement", true, Group.Code),
        new("python", false, Group.Code), new("sql", false, Group.Code),
        new("regex", true, Group.Code), new("bug", false, Group.Code), new("bugs", false, Group.Code),
        new("debug", true, Group.Code), new("javascript", false, Group.Code),
        new("typescript", false, Group.Code), new("java", false, Group.Code),
        new("rust", false, Group.Code), new("golang", false, Group.Code),
        new("compile", true, Group.Code), new("algorithm", true, Group.Code),
        new("script", true, Group.Code), new("refactor", true, Group.Code),
        new("api", false, Group.Code), new("endpoint", true, Group.Code),
        // Math.
        new("integral", true, Group.Math), new("integrat", true, Group.Math),
        new("equation", true, Group.Math), new("calculat", true, Group.Math),
        new("probabilit", true, Group.Math), new("derivative", true, Group.Math),
        new("matrix", false, Group.Math), new("matrices", false, Group.Math),
        new("theorem", true, Group.Math), new("solve", false, Group.Math),
        new("statistic", true, Group.Math), new("variance", false, Group.Math),
        new("eigen", true, Group.Math), new("polynomial", true, Group.Math),
        // Translation and summarisation.
        new("translat", true, Group.Transform), new("summar", true, Group.Transform),
        new("paraphras", true, Group.Transform),
    ];

    /// <summary>Keyword indices by the keyword's first letter ('a'..'z'), so a word is compared
    /// with a handful of candidates only.</summary>
    private static readonly byte[][] ByFirstLetter = BuildIndex();

    private static byte[][] BuildIndex()
    {
        var lists = new List<byte>[26];
        for (int i = 0; i < lists.Length; i++)
        {
            lists[i] = [];
        }

        for (int i = 0; i < Keywords.Length; i++)
        {
            lists[Keywords[i].Text[0] - 'a'].Add((byte)i);
        }

        var index = new byte[26][];
        for (int i = 0; i < index.Length; i++)
        {
            index[i] = [.. lists[i]];
        }

        return index;
    }

    /// <summary>Writes the <see cref="Count"/> features of <paramref name="prompt"/> into
    /// <paramref name="features"/> (in the order of <see cref="Names"/>). Allocates nothing.</summary>
    /// <exception cref="ArgumentException"><paramref name="features"/> is shorter than <see cref="Count"/>.</exception>
    public static void Extract(ReadOnlySpan<char> prompt, Span<double> features)
    {
        if (features.Length < Count)
        {
            throw new ArgumentException($"The feature span needs {Count} elements, got {features.Length}.", nameof(features));
        }

        int visible = 0, digits = 0, nonAscii = 0, codeSymbols = 0;
        int lines = 0, sentences = 0, questionMarks = 0, fences = 0, backtickRun = 0;
        int words = 0, wordChars = 0, longWords = 0;
        bool inTerminatorRun = false, textSinceSentenceEnd = false;
        Span<int> groupMatches = stackalloc int[5];
        groupMatches.Clear();
        Span<char> core = stackalloc char[MaxKeywordCore];
        var prev2 = PhraseWord.Other;
        var prev1 = PhraseWord.Other;
        int tokenStart = -1;

        for (int i = 0; i <= prompt.Length; i++)
        {
            bool end = i == prompt.Length;
            char c = end ? ' ' : prompt[i];
            bool space = char.IsWhiteSpace(c);

            if (space)
            {
                if (tokenStart >= 0)
                {
                    // A token ended: trim it to its core and look the core up.
                    var token = prompt[tokenStart..i];
                    int s = 0, e = token.Length;
                    while (s < e && !char.IsLetterOrDigit(token[s]))
                    {
                        s++;
                    }

                    while (e > s && !char.IsLetterOrDigit(token[e - 1]))
                    {
                        e--;
                    }

                    int length = e - s;
                    if (length > 0)
                    {
                        words++;
                        wordChars += length;
                        if (length >= LongWordLength)
                        {
                            longWords++;
                        }

                        var word = PhraseWord.Other;
                        if (length <= MaxKeywordCore)
                        {
                            var lower = core[..length];
                            token.Slice(s, length).ToLowerInvariant(lower);
                            MatchKeywords(lower, groupMatches);
                            word = ClassifyPhraseWord(lower);
                        }

                        // Phrases: "step by step", "write a"/"write an", "in detail".
                        if (word == PhraseWord.Step && prev1 == PhraseWord.By && prev2 == PhraseWord.Step)
                        {
                            groupMatches[(int)Group.Reasoning]++;
                        }
                        else if (word == PhraseWord.A && prev1 == PhraseWord.Write)
                        {
                            groupMatches[(int)Group.LongForm]++;
                        }
                        else if (word == PhraseWord.Detail && prev1 == PhraseWord.In)
                        {
                            groupMatches[(int)Group.LongForm]++;
                        }

                        prev2 = prev1;
                        prev1 = word;
                    }

                    tokenStart = -1;
                }

                if (inTerminatorRun)
                {
                    sentences++;
                    inTerminatorRun = false;
                    textSinceSentenceEnd = false;
                }

                if (c == '\n')
                {
                    lines++;
                }

                backtickRun = 0;
                continue;
            }

            if (tokenStart < 0)
            {
                tokenStart = i;
            }

            visible++;
            if (c is '.' or '!' or '?')
            {
                inTerminatorRun = true;
                if (c == '?')
                {
                    questionMarks++;
                }
            }
            else
            {
                inTerminatorRun = false;
                textSinceSentenceEnd = true;
            }

            if (c == '`')
            {
                if (++backtickRun == 3)
                {
                    fences++;
                }
            }
            else
            {
                backtickRun = 0;
            }

            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (c > '\u007f')
            {
                nonAscii++;
            }

            if (c is '{' or '}' or '[' or ']' or ';' or '=' or '<' or '>' or '|' or '\\' or '`')
            {
                codeSymbols++;
            }
        }

        if (textSinceSentenceEnd)
        {
            sentences++;
        }

        double visibleShare = visible == 0 ? 0 : 1.0 / visible;
        features[LogChars] = Math.Log(1 + prompt.Length);
        features[LogWords] = Math.Log(1 + words);
        features[LogLines] = Math.Log(1 + lines);
        features[LogSentences] = Math.Log(1 + sentences);
        features[LogQuestionMarks] = Math.Log(1 + questionMarks);
        features[DigitShare] = digits * visibleShare;
        features[NonAsciiShare] = nonAscii * visibleShare;
        features[CodeFence] = fences > 0 ? 1 : 0;
        features[CodeSymbolShare] = codeSymbols * visibleShare;
        features[AvgWordLength] = words == 0 ? 0 : wordChars / (double)words;
        features[LongWordShare] = words == 0 ? 0 : longWords / (double)words;
        for (int g = 0; g < groupMatches.Length; g++)
        {
            features[KwReasoning + g] = Math.Log(1 + groupMatches[g]);
        }
    }

    /// <summary>Counts the keywords <paramref name="lower"/> (a lower-cased word core) matches.
    /// A word matches at most one keyword.</summary>
    private static void MatchKeywords(ReadOnlySpan<char> lower, Span<int> groupMatches)
    {
        int letter = lower[0] - 'a';
        if ((uint)letter >= 26)
        {
            return;
        }

        foreach (byte k in ByFirstLetter[letter])
        {
            var keyword = Keywords[k];
            bool match = keyword.Prefix
                ? lower.StartsWith(keyword.Text, StringComparison.Ordinal)
                : lower.SequenceEqual(keyword.Text);
            if (match)
            {
                groupMatches[(int)keyword.Group]++;
                return;
            }
        }
    }

    private static PhraseWord ClassifyPhraseWord(ReadOnlySpan<char> lower) => lower switch
    {
        "step" => PhraseWord.Step,
        "by" => PhraseWord.By,
        "write" => PhraseWord.Write,
        "a" or "an" => PhraseWord.A,
        "in" => PhraseWord.In,
        "detail" => PhraseWord.Detail,
        _ => PhraseWord.Other,
    };
}
