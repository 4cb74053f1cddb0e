using System.Text;

namespace DataPlane.CommandLine;

/// <summary>Renders a verb's help from its declaration: title, usage, description, options (with <c>-h, --help</c>
/// and <c>--version</c>), positional arguments and the epilogue.</summary>
public static class HelpText
{
    /// <summary>Where option descriptions start; a longer left column puts the description on the next line.</summary>
    private const int Column = 26;

    /// <summary>The help of <paramref name="spec"/>.</summary>
    public static string Render(CommandSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var text = new StringBuilder();
        text.Append(spec.Title).Append(" — ").Append(spec.Summary).Append("\n\n");
        for (int i = 0; i < spec.Usage.Count; i++)
        {
            text.Append(i == 0 ? "Usage: " : "       ").Append(spec.Title);
            if (spec.Usage[i].Length > 0)
            {
                text.Append(' ').Append(spec.Usage[i]);
            }

            text.Append('\n');
        }

        if (spec.Description is { } description)
        {
            text.Append('\n').Append(description.TrimEnd()).Append('\n');
        }

        if (spec.Arguments.Count > 0)
        {
            text.Append("\nArguments:\n");
            foreach (var argument in spec.Arguments)
            {
                Row(text, argument.Name, argument.Description);
            }
        }

        text.Append("\nOptions:\n");
        foreach (var option in spec.Options)
        {
            if (!option.Hidden)
            {
                Row(text, Left(option), option.Required ? option.Description + " (required)" : option.Description);
            }
        }

        if (spec.AcceptsConfigurationKeys && !spec.Options.Any(o => o.Name.Contains(':', StringComparison.Ordinal)))
        {
            Row(text, "--Section:Key=value", CommandSpec.ConfigurationKey.Description);
        }

        Row(text, Left(CommandSpec.Help), CommandSpec.Help.Description);
        Row(text, Left(CommandSpec.Version), CommandSpec.Version.Description);
        if (spec.Epilogue is { } epilogue)
        {
            text.Append('\n').Append(epilogue.TrimEnd()).Append('\n');
        }

        return text.ToString().TrimEnd('\n');
    }

    private static string Left(CommandOption option)
    {
        var left = new StringBuilder();
        foreach (string alias in option.Aliases)
        {
            left.Append(alias).Append(", ");
        }

        left.Append(option.Name);
        switch (option.Arity)
        {
            case OptionArity.OptionalBoolean:
                left.Append("[=true|false]");
                break;
            case OptionArity.Value:
                left.Append(' ').Append(option.ValueName);
                break;
        }

        return left.ToString();
    }

    private static void Row(StringBuilder text, string left, string description)
    {
        string[] lines = description.Split('\n');
        text.Append("  ").Append(left);
        if (left.Length + 2 >= Column)
        {
            text.Append('\n').Append(' ', Column);
        }
        else
        {
            text.Append(' ', Column - 2 - left.Length);
        }

        text.Append(lines[0]).Append('\n');
        for (int i = 1; i < lines.Length; i++)
        {
            text.Append(' ', Column).Append(lines[i].TrimStart()).Append('\n');
        }
    }
}
