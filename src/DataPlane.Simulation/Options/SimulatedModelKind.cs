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

    /// <summary>A stateful model under Triton's direct sequence batcher: every request names a sequence
    /// (<c>sequence_id</c>, <c>sequence_start</c>, <c>sequence_end</c>) and carries batch size 1; the steps of one
    /// sequence execute one at a time in arrival order, different sequences concurrently on the model's instances.
    /// Its INT32 output is the running sum of the sequence's INT32 inputs. Served by ModelInfer and
    /// ModelStreamInfer.</summary>
    Sequence,
}
