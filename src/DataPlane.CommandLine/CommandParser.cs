namespace DataPlane.CommandLine;

/// <summary>Reads a verb's arguments against its <see cref="CommandSpec"/>. Values come as the next argument or after
/// '=' option, a missing value, a value given to a flag, a stray or missing
/// positional argument and a missing required option are each an error that names the argument. <c>-h</c>/<c>--help</c>
/// anywhere wins over everything, then <c>--version</c>.</summary>
public static class CommandParser
{
    /// <summary>Parses <paramref name="args"/>, the arguments after the verb.</summary>
    public static ParsedCommand Parse(CommandSpec spec, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(args);
        var given = new List<GivenOption>();
        var positionals = new List<string>();
        bool help = false, version = false, optionsEnded = false;
        string? error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" && !optionsEnded)
            {
                help = true;
                continue;
            }

            if (arg == "--version" && !optionsEnded)
            {
                version = true;
                continue;
            }

            if (error is not null || spec.PassThrough)
            {
                // Keep scanning for help and version only; the first error stands.
                continue;
            }

            if (arg == "--" && !optionsEnded && spec.Arguments.Count > 0)
            {
                optionsEnded = true;
                continue;
            }

            if (optionsEnded || !arg.StartsWith('-') || arg is "-" or "--")
            {
                if (positionals.Count < spec.Arguments.Count)
                {
                    positionals.Add(arg);
                }
                else
                {
                    error = $"unexpected argument '{Clip(arg)}'";
                }

                continue;
            }

            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            string name = equals > 0 ? arg[..equals] : arg;
            string? inline = equals > 0 ? arg[(equals + 1)..] : null;
            var option = spec.Find(name);
            if (option is null)
            {
                if (spec.AcceptsConfigurationKeys && name.StartsWith("--", StringComparison.Ordinal) && name.Length > 2
                    && name.Contains(':', StringComparison.Ordinal))
                {
                    string? setting = inline ?? (i + 1 < args.Count ? args[++i] : null);
                    if (setting is null)
                    {
                        error = $"{name} needs a value (--Section:Key=value)";
                    }
                    else
                    {
                        given.Add(new GivenOption(CommandSpec.ConfigurationKey, $"{name}={setting}"));
                    }

                    continue;
                }

                error = $"unknown option '{Clip(name)}'";
                continue;
            }

            switch (option.Arity)
            {
                case OptionArity.Flag:
                    if (inline is not null)
                    {
                        error = $"option {option.Name} takes no value";
                    }
                    else
                    {
                        given.Add(new GivenOption(option, null));
                    }

                    break;
                case OptionArity.OptionalBoolean:
                    // true/false in any case, as bool.Parse and the configuration binder read them; passed on in lower case.
                    string flag = inline ?? (i + 1 < args.Count && IsBoolean(args[i + 1]) ? args[++i] : "true");
                    if (IsBoolean(flag))
                    {
                        given.Add(new GivenOption(option, flag.ToLowerInvariant()));
                    }
                    else
                    {
                        error = $"option {option.Name} takes true or false, not '{Clip(flag)}'";
                    }

                    break;
                default:
                    string? value = inline ?? (i + 1 < args.Count ? args[++i] : null);
                    if (value is null)
                    {
                        error = $"option {option.Name} needs a value ({option.ValueName})";
                    }
                    else
                    {
                        given.Add(new GivenOption(option, value));
                    }

                    break;
            }
        }

        if (error is null && !help && !version && !spec.PassThrough)
        {
            error = Missing(spec, given, positionals);
        }

        // A caller that runs the verb itself (not through CommandLineApp, which answers it) must not run it.
        error = help ? null : version ? $"the version is the executable's: {spec.Program} --version" : error;
        return new ParsedCommand(spec, given, positionals, help, version, error);
    }

    private static string? Missing(CommandSpec spec, List<GivenOption> given, List<string> positionals)
    {
        foreach (var option in spec.Options)
        {
            if (option.Required && !given.Exists(g => g.Option == option))
            {
                return $"option {option.Name} is required";
            }
        }

        for (int i = positionals.Count; i < spec.Arguments.Count; i++)
        {
            if (spec.Arguments[i].Required)
            {
                return $"{spec.Arguments[i].Name} is required";
            }
        }

        return null;
    }

    /// <summary>At most 64 characters of what the user typed, so an error stays one readable line.</summary>
    internal static string Clip(string s)
    {
        string line = s.ReplaceLineEndings(" ");
        return line.Length <= 64 ? line : line[..64] + "…";
    }

    private static bool IsBoolean(string value) =>
        value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("false", StringComparison.OrdinalIgnoreCase);
}
