namespace DataPlane.Simulation.Options;

/// <summary>How the simulated repository's models are loaded: Triton's <c>--model-control-mode</c> (its
/// <c>poll</c> mode is not simulated).</summary>
public enum SimulatedModelControl
{
    /// <summary>Every model is loaded at start; RepositoryModelLoad and RepositoryModelUnload are refused with
    /// UNAVAILABLE, as Triton refuses them.</summary>
    None,

    /// <summary>Only <see cref="SimulationOptions.LoadModels"/> are loaded at start; clients load and unload models.</summary>
    Explicit,
}
