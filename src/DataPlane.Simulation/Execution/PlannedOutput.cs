using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;

namespace DataPlane.Simulation.Execution;

/// <summary>An output a request will get: its declaration and the request input it is computed from.</summary>
internal readonly record struct PlannedOutput(SimulatedTensorOptions Spec, Tensor Source);
