using System.Globalization;

namespace DataPlane.CommandLine;

/// <summary>Value checks for option values; each error names the option and the value.</summary>
public static class OptionValues
{
    /// <summary>An error when <paramref name="value"/> is empty.</summary>
    public static string? NonEmpty(string name, string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length == 0 ? $"option {name}: the {what} is empty" : null;
    }

    /// <summary>A finite number (invariant culture).</summary>
    public static bool TryNumber(string name, string value, out double number, out string? error)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number))
        {
            error = null;
            return true;
        }

        error = $"option {name}: '{value}' is not a number";
        return false;
    }

    /// <summary>A finite number above zero.</summary>
    public static bool TryPositive(string name, string value, out double number, out string? error)
    {
        if (!TryNumber(name, value, out number, out error))
        {
            return false;
        }

        if (number <= 0)
        {
            error = $"option {name}: '{value}' is not a positive number";
            return false;
        }

        return true;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>, digits only.</summary>
    public static bool TryCount(string name, string value, int min, int max, out int count, out string? error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out count) && count >= min && count <= max)
        {
            error = null;
            return true;
        }

        error = $"option {name}: '{value}' is not a whole number from {min} to {max}";
        return false;
    }

    /// <summary>A finite number of zero or more.</summary>
    public static bool TryNonNegative(string name, string value, out double number, out string? error)
    {
        if (!TryNumber(name, value, out number, out error))
        {
            return false;
        }

        if (number < 0)
        {
            error = $"option {name}: '{value}' is negative";
            return false;
        }

        return true;
    }

    /// <summary>A whole number, signed.</summary>
    public static bool TryInteger(string name, string value, out int number, out string? error)
    {
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out number))
        {
            error = null;
            return true;
        }

        error = $"option {name}: '{value}' is not a whole number";
        return false;
    }

    /// <summary>An error when <paramref name="value"/> spans several lines (a label carried into CSV rows).</summary>
    public static string? SingleLine(string name, string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.AsSpan().IndexOfAny('\n', '\r') >= 0 ? $"option {name}: the {what} spans several lines" : null;
    }
}
