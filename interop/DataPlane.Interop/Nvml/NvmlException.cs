namespace DataPlane.Interop.Nvml;

/// <summary>An NVML call failed with a code that is not a normal answer (anything but success and, where the
/// method says so, "not supported"). Names the NVML function and the code, e.g.
/// "nvmlDeviceGetName failed: NVML_ERROR_GPU_IS_LOST (15): GPU is lost".</summary>
public sealed class NvmlException : Exception
{
    /// <summary>Creates the exception for a failed call.</summary>
    /// <param name="function">The NVML function, e.g. "nvmlDeviceGetName".</param>
    /// <param name="code">What it returned.</param>
    /// <param name="description">NVML's own text for the code (nvmlErrorString), or null.</param>
    public NvmlException(string function, NvmlReturn code, string? description = null)
        : base(Describe(function, code, description))
    {
        Function = function;
        Return = code;
    }

    /// <summary>The NVML function that failed.</summary>
    public string Function { get; }

    /// <summary>The code it returned.</summary>
    public NvmlReturn Return { get; }

    private static string Describe(string function, NvmlReturn code, string? description) =>
        string.IsNullOrEmpty(description)
            ? $"{function} failed: {NvmlReturns.Name(code)} ({(int)code})"
            : $"{function} failed: {NvmlReturns.Name(code)} ({(int)code}): {description}";
}
