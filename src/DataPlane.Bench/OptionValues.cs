using System.Globalization;

namespace DataPlane.Bench;

/// <summary>Value checks shared by the load generators' argument parsers; each error names the option and the value.</summary>
internal static class OptionValues
{
    public static string? NonEmpty(string name, string value, string what) =>
        value.Length == 0 ? $"option {name}: the {what} is empty" : null;

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
}
