using System.Text;

namespace DataPlane.Simulation.Llm;

/// <summary>The deterministic token stream of simulated LLM models. Token <c>i</c> of a prompt is
/// <c>" " + Vocabulary[(Fnv1a64(prompt) + i × 7919) mod 64]</c>, where the prompt is hashed as its
/// UTF-8 bytes; since 7919 is odd, 64 consecutive tokens use every word once. Tests predict a
/// stream's text with <see cref="Tokens(string, int)"/>.</summary>
public static class SimulatedLlm
{
    /// <summary>Input carrying the prompt (BYTES; its first element is the prompt).</summary>
    public const string TextInput = "text_input";

    /// <summary>Optional input: how many tokens to generate (INT32 [1], at least 1).</summary>
    public const string MaxTokensInput = "max_tokens";

    /// <summary>Output carrying one token per response (BYTES [1]).</summary>
    public const string TextOutput = "text_output";

    /// <summary>Response parameter (bool) marking a request's last response.</summary>
    public const string FinalResponseParameter = "triton_final_response";

    /// <summary>Request parameter (bool): when true, every token response is marked not final and
    /// a last response without outputs, marked final, follows them (Triton's behaviour).</summary>
    public const string EnableEmptyFinalResponseParameter = "triton_enable_empty_final_response";

    /// <summary>Step between the vocabulary indices of consecutive tokens (a prime).</summary>
    public const ulong Stride = 7919;

    /// <summary>The 64 words tokens are drawn from (without their leading space).</summary>
    public static IReadOnlyList<string> Vocabulary { get; } =
    [
        "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
        "a", "small", "river", "runs", "past", "green", "hills", "and",
        "old", "trees", "under", "bright", "blue", "sky", "while", "birds",
        "sing", "soft", "songs", "to", "every", "warm", "morning", "light",
        "in", "quiet", "towns", "people", "walk", "slowly", "home", "after",
        "long", "days", "of", "honest", "work", "with", "kind", "hearts",
        "near", "calm", "sea", "ships", "sail", "toward", "distant", "shores",
        "where", "new", "stories", "begin", "each", "day", "again", "now",
    ];

    /// <summary>The 64-bit FNV-1a hash of <paramref name="data"/>.</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in data)
        {
            hash ^= b;
            hash = unchecked(hash * 1099511628211UL);
        }

        return hash;
    }

    /// <summary>Token <paramref name="index"/> (from 0) of the stream for a prompt whose hash is <paramref name="promptHash"/>.</summary>
    public static string Token(ulong promptHash, int index) =>
        " " + Vocabulary[(int)(unchecked(promptHash + ((ulong)index * Stride)) % (ulong)Vocabulary.Count)];

    /// <summary>The first <paramref name="maxTokens"/> tokens the simulated LLM streams for
    /// <paramref name="prompt"/> (hashed as UTF-8), each with its leading space.</summary>
    public static IReadOnlyList<string> Tokens(string prompt, int maxTokens) =>
        Tokens(Encoding.UTF8.GetBytes(prompt), maxTokens);

    /// <summary>The first <paramref name="maxTokens"/> tokens for a prompt given as raw bytes
    /// (as it arrives in <c>text_input</c>).</summary>
    public static IReadOnlyList<string> Tokens(ReadOnlySpan<byte> prompt, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        ulong hash = Fnv1a64(prompt);
        var tokens = new string[maxTokens];
        for (int i = 0; i < maxTokens; i++)
        {
            tokens[i] = Token(hash, i);
        }

        return tokens;
    }
}
