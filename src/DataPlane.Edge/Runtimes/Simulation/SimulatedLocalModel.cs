using System.Text;
using DataPlane.Edge.Api;

namespace DataPlane.Edge.Runtimes.Simulation;

/// <summary>A simulated small local model: deterministic answers whose token probabilities fall as
/// the prompt looks harder, so the agent's token-confidence signal means something in demos and
/// tests. Everything is a pure function of the prompt text (hashed as UTF-8 with 64-bit FNV-1a), so
/// tests predict a stream exactly with <see cref="Tokens"/>.
/// <list type="bullet">
/// <item><b>Difficulty</b> d ∈ [0, 1] (<see cref="Difficulty"/>) = 0.3·length + 0.5·cues + 0.2·digits,
/// where length = clamp((words − 8) / 120, 0, 1) over whitespace-separated words; cues =
/// min(1, distinct cues / 3) over <see cref="DifficultyWords"/> and <see cref="DifficultyPhrases"/>
/// (case-insensitive, whole words; phrases match across punctuation, so "step-by-step" counts);
/// digits = clamp(5 · digits / non-space characters, 0, 1).</item>
/// <item><b>Token i's probability</b> p_i = clamp(0.97 − 0.6·d − 0.1·u_i, 0.05, 0.999), with u_i ∈ [0, 1)
/// a hash of (prompt, i); its log-probability is ln p_i. A greeting (d = 0) gets p ∈ (0.87, 0.97];
/// the hardest prompt (d = 1) p ∈ (0.27, 0.37].</item>
/// <item><b>Text</b>: token i is " " + a word of <see cref="Vocabulary"/> picked by a hash of (prompt, i).</item>
/// <item><b>Length</b>: the answer ends by itself after <see cref="NaturalLength"/> tokens (12 to 40,
/// by hash), finish reason "stop"; a smaller token cap cuts it, finish reason "length".</item>
/// </list>
/// Timing (<see cref="DueAfter"/>): token i is due <see cref="SimulatedLocalOptions.TimeToFirstToken"/>
/// + i / <see cref="SimulatedLocalOptions.TokensPerSecond"/> after the request arrived.</summary>
public sealed class SimulatedLocalModel
{
    /// <summary>Shortest natural answer, in tokens.</summary>
    public const int MinNaturalLength = 12;

    /// <summary>Longest natural answer, in tokens.</summary>
    public const int MaxNaturalLength = 40;

    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private const ulong WordSalt = 0x5749_4D55_4C41_5445UL;
    private const ulong NoiseSalt = 0x4E4F_4953_4550_524FUL;
    private const ulong LengthSalt = 0x4C45_4E47_5448_5353UL;

    private static readonly HashSet<string> s_cueWords = new(StringComparer.Ordinal)
    {
        "prove", "proof", "derive", "derivation", "analyze", "analyse", "analysis", "compare", "contrast",
        "code", "implement", "debug", "translate", "theorem", "integral", "calculate", "compute", "optimize",
        "algorithm", "evaluate",
    };

    private static readonly string[] s_cuePhrases = ["explain in detail", "step by step", "pros and cons", "trade offs"];

    public SimulatedLocalModel(SimulatedLocalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The 64 words answers are made of (each token is one, with a leading space).</summary>
    public static IReadOnlyList<string> Vocabulary { get; } =
    [
        "the", "answer", "is", "that", "a", "small", "model", "can",
        "help", "with", "this", "question", "in", "short", "simple", "terms",
        "it", "depends", "on", "context", "and", "detail", "here", "are",
        "some", "key", "points", "to", "consider", "first", "then", "finally",
        "we", "should", "check", "each", "step", "carefully", "so", "result",
        "looks", "like", "good", "clear", "example", "of", "how", "works",
        "local", "edge", "device", "quickly", "replies", "for", "most", "everyday",
        "requests", "while", "harder", "ones", "may", "need", "larger", "models",
    ];

    /// <summary>Single words that make a prompt look hard.</summary>
    public static IReadOnlyCollection<string> DifficultyWords => s_cueWords;

    /// <summary>Phrases that make a prompt look hard.</summary>
    public static IReadOnlyList<string> DifficultyPhrases => s_cuePhrases;

    public SimulatedLocalOptions Options { get; }

    /// <summary>When token <paramref name="index"/> (from 0) is due, counted from the request's arrival.</summary>
    public TimeSpan DueAfter(int index) =>
        Options.TimeToFirstToken + TimeSpan.FromSeconds(index / Options.TokensPerSecond);

    /// <summary>The token cap for a request: its own (when positive) but at most
    /// <see cref="SimulatedLocalOptions.MaxTokens"/>, which is also the default.</summary>
    public int TokenBudget(int? requested) =>
        requested is > 0 ? Math.Min(requested.Value, Options.MaxTokens) : Options.MaxTokens;

    /// <summary>The answer to <paramref name="prompt"/> under a token cap and stop strings: the
    /// tokens of <see cref="Tokens"/> up to (not including) the first one after which the text
    /// contains a stop string (finish reason "stop"), else up to the cap or the natural end.</summary>
    public SimulatedAnswer Answer(string prompt, int? maxTokens, IReadOnlyList<string> stop)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(stop);
        int budget = TokenBudget(maxTokens);
        var tokens = Tokens(prompt, budget);
        string finish = FinishReason(prompt, budget);
        if (stop.Any(s => s.Length > 0))
        {
            var text = new StringBuilder();
            for (int i = 0; i < tokens.Count; i++)
            {
                text.Append(tokens[i].Text);
                string soFar = text.ToString();
                if (stop.Any(s => s.Length > 0 && soFar.Contains(s, StringComparison.Ordinal)))
                {
                    return new SimulatedAnswer(tokens.Take(i).ToArray(), "stop");
                }
            }
        }

        return new SimulatedAnswer(tokens, finish);
    }

    /// <summary>How hard <paramref name="prompt"/> looks, in [0, 1] (formula in the class summary).</summary>
    public static double Difficulty(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int words = 0;
        int digits = 0;
        int visible = 0;
        bool inWord = false;
        foreach (char c in prompt)
        {
            if (char.IsWhiteSpace(c))
            {
                inWord = false;
                continue;
            }

            visible++;
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }

            if (!inWord)
            {
                words++;
                inWord = true;
            }
        }

        double length = Math.Clamp((words - 8) / 120.0, 0, 1);
        double cues = Math.Min(1, CountCues(prompt) / 3.0);
        double digitShare = visible == 0 ? 0 : Math.Clamp(5.0 * digits / visible, 0, 1);
        return Math.Clamp((0.3 * length) + (0.5 * cues) + (0.2 * digitShare), 0, 1);
    }

    /// <summary>How many distinct <see cref="DifficultyWords"/> and <see cref="DifficultyPhrases"/> the prompt has.</summary>
    public static int CountCues(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var letterWords = LetterWords(prompt);
        int count = letterWords.Where(s_cueWords.Contains).Distinct(StringComparer.Ordinal).Count();
        string joined = " " + string.Join(' ', letterWords) + " ";
        count += s_cuePhrases.Count(p => joined.Contains(" " + p + " ", StringComparison.Ordinal));
        return count;
    }

    /// <summary>Probability of token <paramref name="index"/> of the answer to <paramref name="prompt"/>.</summary>
    public static double TokenProbability(string prompt, int index) =>
        TokenProbability(Difficulty(prompt), Hash(prompt), index);

    /// <summary>How many tokens the answer to <paramref name="prompt"/> has when nothing cuts it (12 to 40).</summary>
    public static int NaturalLength(string prompt) =>
        NaturalLengthOf(Hash(prompt));

    /// <summary>"length" when <paramref name="maxTokens"/> cuts the answer short, else "stop".</summary>
    public static string FinishReason(string prompt, int maxTokens) =>
        maxTokens < NaturalLength(prompt) ? "length" : "stop";

    /// <summary>The first min(<paramref name="maxTokens"/>, <see cref="NaturalLength"/>) tokens of the
    /// answer to <paramref name="prompt"/>, each " word" with its natural-log probability.</summary>
    public static IReadOnlyList<(string Text, double Logprob)> Tokens(string prompt, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        ulong hash = Hash(prompt);
        double difficulty = Difficulty(prompt);
        int count = Math.Min(maxTokens, NaturalLengthOf(hash));
        var tokens = new (string Text, double Logprob)[count];
        for (int i = 0; i < count; i++)
        {
            string word = Vocabulary[(int)(Mix((hash ^ WordSalt) + ((ulong)(i + 1) * Golden)) % (ulong)Vocabulary.Count)];
            tokens[i] = (" " + word, Math.Log(TokenProbability(difficulty, hash, i)));
        }

        return tokens;
    }

    /// <summary>The prompt a chat is answered from: the last user message (so a fixed system prompt
    /// does not change the answer), or all messages' text when there is no user message.</summary>
    public static string PromptOf(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            if (string.Equals(messages[i].Role, "user", StringComparison.OrdinalIgnoreCase))
            {
                return messages[i].Content;
            }
        }

        return string.Join('\n', messages.Select(m => m.Content));
    }

    /// <summary>Reported prompt token count: about four characters a token (at least one).</summary>
    public static int CountPromptTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Math.Max(1, (text.Length + 3) / 4);
    }

    /// <summary>64-bit FNV-1a of the prompt's UTF-8 bytes.</summary>
    internal static ulong Hash(string prompt)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(prompt))
        {
            hash ^= b;
            hash = unchecked(hash * 1099511628211UL);
        }

        return hash;
    }

    private static double TokenProbability(double difficulty, ulong hash, int index)
    {
        double noise = (Mix((hash ^ NoiseSalt) + ((ulong)(index + 1) * Golden)) >> 11) * (1.0 / (1UL << 53));
        return Math.Clamp(0.97 - (0.6 * difficulty) - (0.1 * noise), 0.05, 0.999);
    }

    private static int NaturalLengthOf(ulong hash) =>
        MinNaturalLength + (int)(Mix(hash ^ LengthSalt) % (ulong)(MaxNaturalLength - MinNaturalLength + 1));

    /// <summary>SplitMix64's finalizer: spreads every input bit over the output.</summary>
    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    private static List<string> LetterWords(string prompt)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (char c in prompt)
        {
            if (char.IsLetter(c))
            {
                current.Append(char.ToLowerInvariant(c));
            }
            else if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }

        if (current.Length > 0)
        {
            words.Add(current.ToString());
        }

        return words;
    }
}

/// <summary>A simulated answer: its tokens (text, natural-log probability) and why it ended.</summary>
public sealed record SimulatedAnswer(IReadOnlyList<(string Text, double Logprob)> Tokens, string FinishReason);
