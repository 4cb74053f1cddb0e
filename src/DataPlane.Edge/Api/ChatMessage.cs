namespace DataPlane.Edge.Api;

/// <summary>One message of a chat conversation ("system", "user", "assistant" or "tool").</summary>
public sealed record ChatMessage(string Role, string Content);
