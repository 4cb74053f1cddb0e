namespace DataPlane.Interop.Nvml;

/// <summary>NVML's return codes (nvmlReturn_t), with NVML's numeric values.</summary>
public enum NvmlReturn
{
    /// <summary>NVML_SUCCESS.</summary>
    Success = 0,

    /// <summary>NVML_ERROR_UNINITIALIZED: called before a successful init.</summary>
    Uninitialized = 1,

    /// <summary>NVML_ERROR_INVALID_ARGUMENT; for per-link calls, a link index past the device's links.</summary>
    InvalidArgument = 2,

    /// <summary>NVML_ERROR_NOT_SUPPORTED: the device or driver lacks the feature; a normal answer.</summary>
    NotSupported = 3,

    /// <summary>NVML_ERROR_NO_PERMISSION.</summary>
    NoPermission = 4,

    /// <summary>NVML_ERROR_ALREADY_INITIALIZED (deprecated).</summary>
    AlreadyInitialized = 5,

    /// <summary>NVML_ERROR_NOT_FOUND.</summary>
    NotFound = 6,

    /// <summary>NVML_ERROR_INSUFFICIENT_SIZE: a buffer is too small.</summary>
    InsufficientSize = 7,

    /// <summary>NVML_ERROR_INSUFFICIENT_POWER.</summary>
    InsufficientPower = 8,

    /// <summary>NVML_ERROR_DRIVER_NOT_LOADED: the library is present but the kernel driver is not running.</summary>
    DriverNotLoaded = 9,

    /// <summary>NVML_ERROR_TIMEOUT.</summary>
    Timeout = 10,

    /// <summary>NVML_ERROR_IRQ_ISSUE.</summary>
    IrqIssue = 11,

    /// <summary>NVML_ERROR_LIBRARY_NOT_FOUND.</summary>
    LibraryNotFound = 12,

    /// <summary>NVML_ERROR_FUNCTION_NOT_FOUND: the loaded library lacks an entry point.</summary>
    FunctionNotFound = 13,

    /// <summary>NVML_ERROR_CORRUPTED_INFOROM.</summary>
    CorruptedInforom = 14,

    /// <summary>NVML_ERROR_GPU_IS_LOST: the GPU fell off the bus or stopped answering; a device-health event.</summary>
    GpuIsLost = 15,

    /// <summary>NVML_ERROR_RESET_REQUIRED.</summary>
    ResetRequired = 16,

    /// <summary>NVML_ERROR_OPERATING_SYSTEM: blocked by the OS or cgroups.</summary>
    OperatingSystem = 17,

    /// <summary>NVML_ERROR_LIB_RM_VERSION_MISMATCH: library and kernel driver versions differ.</summary>
    LibRmVersionMismatch = 18,

    /// <summary>NVML_ERROR_IN_USE.</summary>
    InUse = 19,

    /// <summary>NVML_ERROR_MEMORY.</summary>
    Memory = 20,

    /// <summary>NVML_ERROR_NO_DATA.</summary>
    NoData = 21,

    /// <summary>NVML_ERROR_VGPU_ECC_NOT_SUPPORTED.</summary>
    VgpuEccNotSupported = 22,

    /// <summary>NVML_ERROR_INSUFFICIENT_RESOURCES.</summary>
    InsufficientResources = 23,

    /// <summary>NVML_ERROR_FREQ_NOT_SUPPORTED.</summary>
    FreqNotSupported = 24,

    /// <summary>NVML_ERROR_ARGUMENT_VERSION_MISMATCH.</summary>
    ArgumentVersionMismatch = 25,

    /// <summary>NVML_ERROR_DEPRECATED.</summary>
    Deprecated = 26,

    /// <summary>NVML_ERROR_NOT_READY.</summary>
    NotReady = 27,

    /// <summary>NVML_ERROR_GPU_NOT_FOUND.</summary>
    GpuNotFound = 28,

    /// <summary>NVML_ERROR_INVALID_STATE.</summary>
    InvalidState = 29,

    /// <summary>NVML_ERROR_RESET_TYPE_NOT_SUPPORTED.</summary>
    ResetTypeNotSupported = 30,

    /// <summary>NVML_ERROR_UNKNOWN.</summary>
    Unknown = 999,
}

/// <summary>Names of <see cref="NvmlReturn"/> as NVML spells them.</summary>
public static class NvmlReturns
{
    /// <summary>The C name, e.g. <c>NVML_ERROR_GPU_IS_LOST</c>; <c>NVML_ERROR_&lt;code&gt;</c> for codes newer than this binding.</summary>
    public static string Name(NvmlReturn code) => code switch
    {
        NvmlReturn.Success => "NVML_SUCCESS",
        NvmlReturn.Uninitialized => "NVML_ERROR_UNINITIALIZED",
        NvmlReturn.InvalidArgument => "NVML_ERROR_INVALID_ARGUMENT",
        NvmlReturn.NotSupported => "NVML_ERROR_NOT_SUPPORTED",
        NvmlReturn.NoPermission => "NVML_ERROR_NO_PERMISSION",
        NvmlReturn.AlreadyInitialized => "NVML_ERROR_ALREADY_INITIALIZED",
        NvmlReturn.NotFound => "NVML_ERROR_NOT_FOUND",
        NvmlReturn.InsufficientSize => "NVML_ERROR_INSUFFICIENT_SIZE",
        NvmlReturn.InsufficientPower => "NVML_ERROR_INSUFFICIENT_POWER",
        NvmlReturn.DriverNotLoaded => "NVML_ERROR_DRIVER_NOT_LOADED",
        NvmlReturn.Timeout => "NVML_ERROR_TIMEOUT",
        NvmlReturn.IrqIssue => "NVML_ERROR_IRQ_ISSUE",
        NvmlReturn.LibraryNotFound => "NVML_ERROR_LIBRARY_NOT_FOUND",
        NvmlReturn.FunctionNotFound => "NVML_ERROR_FUNCTION_NOT_FOUND",
        NvmlReturn.CorruptedInforom => "NVML_ERROR_CORRUPTED_INFOROM",
        NvmlReturn.GpuIsLost => "NVML_ERROR_GPU_IS_LOST",
        NvmlReturn.ResetRequired => "NVML_ERROR_RESET_REQUIRED",
        NvmlReturn.OperatingSystem => "NVML_ERROR_OPERATING_SYSTEM",
        NvmlReturn.LibRmVersionMismatch => "NVML_ERROR_LIB_RM_VERSION_MISMATCH",
        NvmlReturn.InUse => "NVML_ERROR_IN_USE",
        NvmlReturn.Memory => "NVML_ERROR_MEMORY",
        NvmlReturn.NoData => "NVML_ERROR_NO_DATA",
        NvmlReturn.VgpuEccNotSupported => "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED",
        NvmlReturn.InsufficientResources => "NVML_ERROR_INSUFFICIENT_RESOURCES",
        NvmlReturn.FreqNotSupported => "NVML_ERROR_FREQ_NOT_SUPPORTED",
        NvmlReturn.ArgumentVersionMismatch => "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
        NvmlReturn.Deprecated => "NVML_ERROR_DEPRECATED",
        NvmlReturn.NotReady => "NVML_ERROR_NOT_READY",
        NvmlReturn.GpuNotFound => "NVML_ERROR_GPU_NOT_FOUND",
        NvmlReturn.InvalidState => "NVML_ERROR_INVALID_STATE",
        NvmlReturn.ResetTypeNotSupported => "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED",
        NvmlReturn.Unknown => "NVML_ERROR_UNKNOWN",
        _ => "NVML_ERROR_" + ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
