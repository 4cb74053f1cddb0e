namespace DataPlane.Protocol;

/// <summary>Integers read the way Triton's C++ reads them (<c>std::stol</c>, <c>std::stoi</c>): leading white space,
/// an optional sign, then decimal digits; whatever follows the digits is ignored ("12abc" is 12). Texts that clients
/// send Triton as strings (model versions, trace settings) are read with it, so they are accepted or refused alike.</summary>
public static class CppIntegers
{
    /// <summary>Reads the leading integer of <paramref name="text"/>. False when there are no digits
    /// (<c>std::invalid_argument</c>); <paramref name="overflow"/> when it does not fit a 64-bit integer
    /// (<c>std::out_of_range</c>), <paramref name="value"/> then being unspecified.</summary>
    public static bool TryRead(ReadOnlySpan<char> text, out long value, out bool overflow)
    {
        value = 0;
        overflow = false;
        int i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        bool negative = i < text.Length && text[i] == '-';
        if (i < text.Length && text[i] is '+' or '-')
        {
            i++;
        }

        int start = i;
        ulong magnitude = 0;
        ulong limit = negative ? (ulong)long.MaxValue + 1 : long.MaxValue;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            ulong digit = (ulong)(text[i] - '0');
            overflow |= magnitude > (limit - digit) / 10;
            magnitude = overflow ? magnitude : (magnitude * 10) + digit;
            i++;
        }

        if (i == start)
        {
            return false;
        }

        value = negative ? unchecked(-(long)magnitude) : (long)magnitude;
        return true;
    }
}
