using System.Globalization;
using System.IO.Compression;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>A content coding of Triton's HTTP front end.</summary>
internal enum ContentCoding
{
    Identity,
    Gzip,

    /// <summary>Triton's <c>deflate</c>: the zlib container, as Python's <c>zlib.compress</c> writes it.</summary>
    Deflate,

    /// <summary>A request coding Triton does not take (HTTP 501 <c>Unsupported compression type</c>).</summary>
    Unsupported,
}

/// <summary>Request and response compression with Triton's rules: a request's <c>Content-Encoding</c> must be
/// exactly <c>gzip</c>, <c>deflate</c>, <c>identity</c> or empty; an infer answer is compressed with the coding of
/// highest q-value among <c>identity</c>, <c>deflate</c> and <c>gzip</c> in <c>Accept-Encoding</c> (the first seen on
/// a tie).</summary>
internal static class HttpCompression
{
    /// <summary>The request's coding from the first <c>Content-Encoding</c> value, compared exactly (case-sensitive),
    /// as Triton does.</summary>
    public static ContentCoding OfRequest(string? contentEncoding) => contentEncoding switch
    {
        null or "" or "identity" => ContentCoding.Identity,
        "gzip" => ContentCoding.Gzip,
        "deflate" => ContentCoding.Deflate,
        _ => ContentCoding.Unsupported,
    };

    /// <summary>The coding of an answer: comma-separated entries, each a coding optionally followed by <c>;q=</c> and a
    /// weight (no spaces around it); malformed entries and weights are skipped; the weight must beat the best so far,
    /// which starts at identity with weight 0.</summary>
    public static ContentCoding OfAnswer(string? acceptEncoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding))
        {
            return ContentCoding.Identity;
        }

        var best = ContentCoding.Identity;
        double bestWeight = 0;
        foreach (string entry in acceptEncoding.Split(','))
        {
            int start = 0;
            while (start < entry.Length && entry[start] == ' ')
            {
                start++;
            }

            int weightAt = entry.IndexOf(";q=", StringComparison.Ordinal);
            if (start == entry.Length || (weightAt >= 0 && start >= weightAt))
            {
                continue;
            }

            string coding = weightAt < 0 ? entry[start..] : entry[start..weightAt];
            double weight = 1;
            if (weightAt >= 0 && !TryParseLeadingDouble(entry.AsSpan(weightAt + 3), out weight))
            {
                continue;
            }

            var candidate = coding switch
            {
                "identity" => ContentCoding.Identity,
                "deflate" => ContentCoding.Deflate,
                "gzip" => ContentCoding.Gzip,
                _ => ContentCoding.Unsupported,
            };
            if (candidate != ContentCoding.Unsupported && weight > bestWeight)
            {
                best = candidate;
                bestWeight = weight;
            }
        }

        return best;
    }

    /// <summary>The header value of a coding.</summary>
    public static string Name(ContentCoding coding) => coding == ContentCoding.Gzip ? "gzip" : "deflate";

    /// <summary>Compresses <paramref name="answer"/> (JSON then binary blobs) with <paramref name="coding"/>.</summary>
    public static byte[] Compress(InferAnswer answer, ContentCoding coding)
    {
        using var output = new MemoryStream();
        using (Stream compressor = coding == ContentCoding.Gzip
            ? new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)
            : new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            compressor.Write(answer.Json.Span);
            foreach (var blob in answer.Blobs)
            {
                compressor.Write(blob.Span);
            }
        }

        return output.ToArray();
    }

    /// <summary>std::stod's reading: leading blanks, then the longest decimal number; the rest is ignored.</summary>
    private static bool TryParseLeadingDouble(ReadOnlySpan<char> text, out double value)
    {
        int i = 0;
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
        }

        int start = i;
        if (i < text.Length && text[i] is '+' or '-')
        {
            i++;
        }

        int digits = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
            digits++;
        }

        if (i < text.Length && text[i] == '.')
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
                digits++;
            }
        }

        if (digits == 0)
        {
            value = 0;
            return false;
        }

        int mantissaEnd = i;
        if (i < text.Length && text[i] is 'e' or 'E')
        {
            int j = i + 1;
            if (j < text.Length && text[j] is '+' or '-')
            {
                j++;
            }

            int expStart = j;
            while (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                j++;
            }

            mantissaEnd = j > expStart ? j : mantissaEnd;
        }

        return double.TryParse(text[start..mantissaEnd], NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
