using DataPlane.Protocol.Inference;

namespace DataPlane.Protocol.Tensors;

/// <summary>The tensor datatypes of the KServe v2 / Triton protocol.</summary>
public enum TensorDataType : byte
{
    Invalid = 0,
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Bf16,
    Fp32,
    Fp64,
    Bytes,
}

/// <summary>Wire names, element sizes and config-enum mapping of <see cref="TensorDataType"/>.</summary>
public static class TensorDataTypes
{
    private static readonly string[] s_wireNames =
    [
        "INVALID", "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
        "FP16", "BF16", "FP32", "FP64", "BYTES",
    ];

    private static readonly byte[] s_sizes = [0, 1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 0];

    /// <summary>Every valid datatype, in wire-name order of the protocol's table.</summary>
    public static IReadOnlyList<TensorDataType> All { get; } =
    [
        TensorDataType.Bool, TensorDataType.UInt8, TensorDataType.UInt16, TensorDataType.UInt32, TensorDataType.UInt64,
        TensorDataType.Int8, TensorDataType.Int16, TensorDataType.Int32, TensorDataType.Int64,
        TensorDataType.Fp16, TensorDataType.Bf16, TensorDataType.Fp32, TensorDataType.Fp64, TensorDataType.Bytes,
    ];

    /// <summary>Parses a wire datatype string such as "FP32". Case-sensitive, as the protocol is.</summary>
    public static bool TryParse(string? name, out TensorDataType type)
    {
        type = name switch
        {
            "BOOL" => TensorDataType.Bool,
            "UINT8" => TensorDataType.UInt8,
            "UINT16" => TensorDataType.UInt16,
            "UINT32" => TensorDataType.UInt32,
            "UINT64" => TensorDataType.UInt64,
            "INT8" => TensorDataType.Int8,
            "INT16" => TensorDataType.Int16,
            "INT32" => TensorDataType.Int32,
            "INT64" => TensorDataType.Int64,
            "FP16" => TensorDataType.Fp16,
            "BF16" => TensorDataType.Bf16,
            "FP32" => TensorDataType.Fp32,
            "FP64" => TensorDataType.Fp64,
            "BYTES" => TensorDataType.Bytes,
            _ => TensorDataType.Invalid,
        };
        return type != TensorDataType.Invalid;
    }

    /// <summary>The protocol's name of the datatype, e.g. "FP32".</summary>
    public static string WireName(this TensorDataType type) => s_wireNames[(int)type];

    /// <summary>Bytes per element; 0 for BYTES, whose elements are length-prefixed.</summary>
    public static int ElementSize(this TensorDataType type) => s_sizes[(int)type];

    /// <summary>True when typed <c>InferTensorContents</c> can carry the datatype (all but FP16 and BF16).</summary>
    public static bool HasTypedContents(this TensorDataType type) =>
        type is not (TensorDataType.Fp16 or TensorDataType.Bf16 or TensorDataType.Invalid);

    /// <summary>Maps a model-configuration datatype (TYPE_FP32, TYPE_STRING, …) to the wire datatype.</summary>
    public static TensorDataType FromConfig(DataType type) => type switch
    {
        DataType.TypeBool => TensorDataType.Bool,
        DataType.TypeUint8 => TensorDataType.UInt8,
        DataType.TypeUint16 => TensorDataType.UInt16,
        DataType.TypeUint32 => TensorDataType.UInt32,
        DataType.TypeUint64 => TensorDataType.UInt64,
        DataType.TypeInt8 => TensorDataType.Int8,
        DataType.TypeInt16 => TensorDataType.Int16,
        DataType.TypeInt32 => TensorDataType.Int32,
        DataType.TypeInt64 => TensorDataType.Int64,
        DataType.TypeFp16 => TensorDataType.Fp16,
        DataType.TypeBf16 => TensorDataType.Bf16,
        DataType.TypeFp32 => TensorDataType.Fp32,
        DataType.TypeFp64 => TensorDataType.Fp64,
        DataType.TypeString => TensorDataType.Bytes,
        _ => TensorDataType.Invalid,
    };

    /// <summary>Maps a wire datatype to the model-configuration enum.</summary>
    public static DataType ToConfig(this TensorDataType type) => type switch
    {
        TensorDataType.Bool => DataType.TypeBool,
        TensorDataType.UInt8 => DataType.TypeUint8,
        TensorDataType.UInt16 => DataType.TypeUint16,
        TensorDataType.UInt32 => DataType.TypeUint32,
        TensorDataType.UInt64 => DataType.TypeUint64,
        TensorDataType.Int8 => DataType.TypeInt8,
        TensorDataType.Int16 => DataType.TypeInt16,
        TensorDataType.Int32 => DataType.TypeInt32,
        TensorDataType.Int64 => DataType.TypeInt64,
        TensorDataType.Fp16 => DataType.TypeFp16,
        TensorDataType.Bf16 => DataType.TypeBf16,
        TensorDataType.Fp32 => DataType.TypeFp32,
        TensorDataType.Fp64 => DataType.TypeFp64,
        TensorDataType.Bytes => DataType.TypeString,
        _ => DataType.TypeInvalid,
    };
}
