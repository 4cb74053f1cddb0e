namespace DataPlane.Edge.Api;

/// <summary>Which OpenAI endpoint a request came through.</summary>
public enum EdgeEndpoint
{
    Chat,
    Completion,
}

/// <summary>How the client wants the request served (header <c>X-DataPlane-Mode</c> or
/// <c>dataplane.mode</c>); <see cref="Auto"/> lets the agent decide.</summary>
public enum RequestedMode
{
    Auto,
    Local,
    Gpu,
    Speculative,
}

/// <summary>A validated client request, independent of the endpoint it came through.</summary>
public sealed record EdgeRequest
{
    public required EdgeEndpoint Endpoint { get; init; }

    public required string Model { get; init; }

    /// <summary>Chat messages (chat endpoint); empty for plain completions.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>The prompt of a plain completion.</summary>
    public string? Prompt { get; init; }

    /// <summary>Requested output limit; null = the serving side's default.</summary>
    public int? MaxTokens { get; init; }

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    public bool Stream { get; init; }

    /// <summary>stream_options.include_usage: a final chunk with usage and no choices.</summary>
    public bool IncludeUsage { get; init; }

    public RequestedMode Mode { get; init; }

    /// <summary>Opt-in to replace events in speculative streams.</summary>
    public bool Replace { get; init; }

    /// <summary>Time-to-first-token objective for this request, when the client set one.</summary>
    public TimeSpan? Slo { get; init; }

    /// <summary>W3C traceparent from the client, or one the agent generated.</summary>
    public string? TraceParent { get; init; }

    /// <summary>True when <see cref="TraceParent"/> came from the client (a trace then continues the client's).</summary>
    public bool ClientTraceParent { get; init; }

    /// <summary>The text the routing decision looks at: the last user message of a chat (the turn being
    /// answered), or the whole completion prompt.</summary>
    public string RoutingText
    {
        get
        {
            if (Endpoint == EdgeEndpoint.Completion)
            {
                return Prompt ?? "";
            }

            for (int i = Messages.Count - 1; i >= 0; i--)
            {
                if (Messages[i].Role == "user")
                {
                    return Messages[i].Content;
                }
            }

            return Messages.Count > 0 ? Messages[^1].Content : "";
        }
    }

    /// <summary>Characters of everything the model must read (all messages, or the prompt).</summary>
    public int PromptCharacters
    {
        get
        {
            if (Endpoint == EdgeEndpoint.Completion)
            {
                return Prompt?.Length ?? 0;
            }

            int n = 0;
            foreach (var m in Messages)
            {
                n += m.Content.Length;
            }

            return n;
        }
    }

    /// <summary>A single prompt text for backends that take one string (Triton's text_input): a chat is
    /// flattened as "role: content" lines followed by "assistant:".</summary>
    public string FlattenedPrompt()
    {
        if (Endpoint == EdgeEndpoint.Completion)
        {
            return Prompt ?? "";
        }

        var sb = new System.Text.StringBuilder();
        foreach (var m in Messages)
        {
            sb.Append(m.Role).Append(": ").Append(m.Content).Append('\n');
        }

        return sb.Append("assistant:").ToString();
    }
}
