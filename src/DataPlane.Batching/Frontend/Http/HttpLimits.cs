using Grpc.Core;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>Triton's <c>--http-max-input-size</c> texts, naming DataPlane's setting in place of Triton's flag.</summary>
internal static class HttpLimits
{
    /// <summary>The configuration key of <see cref="FrontendOptions.HttpMaxInputBytes"/>.</summary>
    public const string SettingKey = "Limits:HttpMaxInputBytes";

    /// <summary>The sentence that ends every size-limit message.</summary>
    public const string Advice = "Use " + SettingKey + " to increase the limit.";

    /// <summary>INVALID_ARGUMENT: the JSON part of a request is larger than the limit.</summary>
    public static RpcException JsonTooLarge(long size, long max) =>
        Invalid($"request JSON size of {size} bytes exceeds the maximum allowed input size of {max} bytes. {Advice}");

    /// <summary>INVALID_ARGUMENT: the body of a raw binary request is larger than the limit.</summary>
    public static RpcException RawTooLarge(long size, long max) =>
        Invalid($"Raw input has a byte_size ({size} bytes) that exceeds the maximum allowed value of {max} bytes. {Advice}");

    /// <summary>INVALID_ARGUMENT: a compressed body inflates past the limit.</summary>
    public static RpcException DecompressedTooLarge(long max) =>
        Invalid($"Decompressed data size exceeds the maximum allowed value of {max} bytes. {Advice}");

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
