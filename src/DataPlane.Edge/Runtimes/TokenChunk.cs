namespace DataPlane.Edge.Runtimes;

/// <summary>A piece of streamed output: usually one token's text, with its natural-log probability
/// when the runtime reports one. The last chunk of a stream carries <see cref="FinishReason"/>
/// ("stop" or "length") and, when the runtime reports them, token counts.</summary>
public readonly record struct TokenChunk(string Text, double? Logprob = null, string? FinishReason = null,
    int? PromptTokens = null, int? CompletionTokens = null)
{
    public bool IsFinal => FinishReason != null;
}
