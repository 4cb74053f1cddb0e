using System.Security.Cryptography;

namespace DataPlane.Edge.Api;

/// <summary>W3C Trace Context <c>traceparent</c> values: "00-{32 hex trace id}-{16 hex parent id}-{2 hex flags}".</summary>
public static class TraceContext
{
    public static bool IsValid(string? value)
    {
        if (value is not { Length: 55 } || value[2] != '-' || value[35] != '-' || value[52] != '-' || value.StartsWith("ff", StringComparison.Ordinal))
        {
            return false;
        }

        for (int i = 0; i < value.Length; i++)
        {
            if (i is 2 or 35 or 52)
            {
                continue;
            }

            if (!char.IsAsciiHexDigitLower(value[i]))
            {
                return false;
            }
        }

        return value.AsSpan(3, 32).IndexOfAnyExcept('0') >= 0 && value.AsSpan(36, 16).IndexOfAnyExcept('0') >= 0;
    }

    /// <summary>A new sampled traceparent with random ids.</summary>
    public static string NewTraceParent()
    {
        Span<byte> bytes = stackalloc byte[24];
        RandomNumberGenerator.Fill(bytes);
        return $"00-{Convert.ToHexStringLower(bytes[..16])}-{Convert.ToHexStringLower(bytes[16..])}-01";
    }

    /// <summary>The same trace with a new parent (span) id, for the next hop.</summary>
    public static string Child(string traceParent)
    {
        Span<byte> span = stackalloc byte[8];
        RandomNumberGenerator.Fill(span);
        return string.Concat(traceParent.AsSpan(0, 36), Convert.ToHexStringLower(span), traceParent.AsSpan(52));
    }
}
