namespace DataPlane.Simulation.Options;

/// <summary>What a simulated model does with a request.</summary>
public enum SimulatedModelKind
{
    /// <summary>A batching tensor model: each request is one execution on a free instance, taking
    /// <c>base + per_item × rows + jitter</c>; output <c>k</c> is <see cref="SimulatedTransform"/>
    /// applied to input <c>k</c>. Served by ModelInfer and ModelStreamInfer.</summary>
    Tensor,

    /// <summary>A decoupled token-streaming model following Triton's LLM convention
    /// (<c>text_input</c>, optional <c>max_tokens</c>, <c>text_output</c>); served by
    /// ModelStreamInfer only. See <see cref="Llm.SimulatedLlm"/>.</summary>
    Llm,
}
