using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace DataPlane.Protocol.Json;

/// <summary>The exact text Triton puts in its model-configuration JSON for strings and floating
/// point numbers.
/// <para>Triton prints a ModelConfig with protobuf's JSON printer, then parses that text with
/// RapidJSON and writes it again (core <c>src/model_config_utils.cc</c>,
/// <c>ModelConfigToJson</c>, which also turns 64-bit integers back into numbers). The final
/// bytes are therefore RapidJSON's: strings escape only <c>"</c>, <c>\</c> and control
/// characters; a float is first printed by protobuf (<c>%.6g</c>, or <c>%.9g</c> when that
/// does not read back as the same float; doubles <c>%.15g</c> / <c>%.17g</c>), then an
/// integer-looking result stays an integer while anything else becomes a double that RapidJSON
/// prints in its own layout (<c>0.5</c>, <c>1000000.0</c>, <c>1e-7</c>, <c>3.40282347e38</c>).</para></summary>
internal static class JsonText
{
    private static readonly byte[] HexDigits = "0123456789ABCDEF"u8.ToArray();

    /// <summary>Appends <paramref name="utf8"/> as a quoted JSON string, escaped as RapidJSON
    /// escapes it.</summary>
    public static void AppendQuoted(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            // Protobuf strings are UTF-8; repair anything else the way the decoder would.
            AppendQuoted(output, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(utf8)));
            return;
        }

        var span = output.GetSpan((utf8.Length * 6) + 2);
        int n = 0;
        span[n++] = (byte)'"';
        foreach (byte b in utf8)
        {
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\')
            {
                span[n++] = b;
                continue;
            }

            span[n++] = (byte)'\\';
            switch (b)
            {
                case (byte)'"':
                case (byte)'\\':
                    span[n++] = b;
                    break;
                case 0x08:
                    span[n++] = (byte)'b';
                    break;
                case 0x09:
                    span[n++] = (byte)'t';
                    break;
                case 0x0A:
                    span[n++] = (byte)'n';
                    break;
                case 0x0C:
                    span[n++] = (byte)'f';
                    break;
                case 0x0D:
                    span[n++] = (byte)'r';
                    break;
                default:
                    span[n++] = (byte)'u';
                    span[n++] = (byte)'0';
                    span[n++] = (byte)'0';
                    span[n++] = HexDigits[b >> 4];
                    span[n++] = HexDigits[b & 0xF];
                    break;
            }
        }

        span[n++] = (byte)'"';
        output.Advance(n);
    }

    /// <summary>Appends <paramref name="text"/> as a quoted JSON string.</summary>
    public static void AppendQuoted(ArrayBufferWriter<byte> output, string text) =>
        AppendQuoted(output, Encoding.UTF8.GetBytes(text));

    /// <summary>A finite float as Triton prints it.</summary>
    public static string Float(float value)
    {
        double wide = value;
        string printed = wide.ToString("G6", CultureInfo.InvariantCulture);
        if (float.Parse(printed, NumberStyles.Float, CultureInfo.InvariantCulture) != value)
        {
            printed = wide.ToString("G9", CultureInfo.InvariantCulture);
        }

        return Reprint(printed);
    }

    /// <summary>A finite double as Triton prints it.</summary>
    public static string Double(double value)
    {
        string printed = value.ToString("G15", CultureInfo.InvariantCulture);
        if (double.Parse(printed, NumberStyles.Float, CultureInfo.InvariantCulture) != value)
        {
            printed = value.ToString("G17", CultureInfo.InvariantCulture);
        }

        return Reprint(printed);
    }

    /// <summary>What RapidJSON writes after reading protobuf's <c>%g</c> text: an integer
    /// literal stays as it is (RapidJSON keeps it an integer; <c>-0</c> reads as 0), anything
    /// else is the shortest digits of the double laid out as RapidJSON's <c>Prettify</c> does.</summary>
    private static string Reprint(string printed)
    {
        if (IsIntegerLiteral(printed))
        {
            return printed == "-0" ? "0" : printed;
        }

        double value = double.Parse(printed, NumberStyles.Float, CultureInfo.InvariantCulture);
        string shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var (digits, exponent) = Decompose(shortest);
        string laidOut = Layout(digits, exponent);
        return value < 0 ? "-" + laidOut : laidOut;
    }

    private static bool IsIntegerLiteral(string text)
    {
        int start = text.StartsWith('-') ? 1 : 0;
        if (start == text.Length)
        {
            return false;
        }

        for (int i = start; i < text.Length; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Splits a positive number's text ("123.45", "1.5E-07") into significant digits
    /// without leading or trailing zeros and the power of ten they are multiplied by.</summary>
    private static (string Digits, int Exponent) Decompose(string text)
    {
        int e = text.IndexOfAny(['E', 'e']);
        int exponent = e < 0 ? 0 : int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        string mantissa = e < 0 ? text : text[..e];
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            exponent -= mantissa.Length - dot - 1;
            mantissa = mantissa.Remove(dot, 1);
        }

        string digits = mantissa.TrimStart('0');
        int trimmed = digits.Length;
        digits = digits.TrimEnd('0');
        exponent += trimmed - digits.Length;
        return (digits, exponent);
    }

    /// <summary>RapidJSON's layout of <paramref name="digits"/> × 10^<paramref name="k"/>.</summary>
    private static string Layout(string digits, int k)
    {
        int length = digits.Length;
        int kk = length + k;
        if (k >= 0 && kk <= 21)
        {
            return digits + new string('0', k) + ".0";
        }

        if (kk > 0 && kk <= 21)
        {
            return digits[..kk] + "." + digits[kk..];
        }

        if (kk > -6 && kk <= 0)
        {
            return "0." + new string('0', -kk) + digits;
        }

        string exponent = (kk - 1).ToString(CultureInfo.InvariantCulture);
        return length == 1 ? digits + "e" + exponent : digits[..1] + "." + digits[1..] + "e" + exponent;
    }
}
