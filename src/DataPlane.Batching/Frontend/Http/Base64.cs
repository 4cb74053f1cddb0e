namespace DataPlane.Batching.Frontend.Http;

/// <summary>Base64 decoding as Triton's (libb64's) decoder does it: characters outside the alphabet, padding
/// included, are skipped, and a final incomplete group yields the whole bytes it holds. Nothing is refused.</summary>
internal static class Base64
{
    public static byte[] Decode(string text)
    {
        var output = new byte[(text.Length * 3 / 4) + 3];
        int written = 0;
        int accumulated = 0;
        int count = 0;
        foreach (char c in text)
        {
            int value = c switch
            {
                >= 'A' and <= 'Z' => c - 'A',
                >= 'a' and <= 'z' => c - 'a' + 26,
                >= '0' and <= '9' => c - '0' + 52,
                '+' => 62,
                '/' => 63,
                _ => -1,
            };
            if (value < 0)
            {
                continue;
            }

            accumulated = (accumulated << 6) | value;
            count++;
            if (count == 4)
            {
                output[written++] = (byte)(accumulated >> 16);
                output[written++] = (byte)(accumulated >> 8);
                output[written++] = (byte)accumulated;
                accumulated = 0;
                count = 0;
            }
        }

        if (count == 2)
        {
            output[written++] = (byte)(accumulated >> 4);
        }
        else if (count == 3)
        {
            output[written++] = (byte)(accumulated >> 10);
            output[written++] = (byte)(accumulated >> 2);
        }

        return output.AsSpan(0, written).ToArray();
    }
}
