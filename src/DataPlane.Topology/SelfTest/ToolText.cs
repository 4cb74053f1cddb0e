using System.Text;

namespace DataPlane.Topology.SelfTest;

/// <summary>Reading a recorded tool output: the file's lines without line ends and terminal colour codes.</summary>
internal static class ToolText
{
    /// <summary>The lines of <paramref name="file"/>; a file that cannot be read is a <see cref="ToolOutputException"/>.</summary>
    public static string[] ReadLines(string file) => Lines(ReadAll(file));

    /// <summary>The whole text of <paramref name="file"/>.</summary>
    public static string ReadAll(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ToolOutputException(file, null, $"cannot be read ({e.Message})");
        }
    }

    /// <summary>Splits text into lines, dropping carriage returns and ANSI escape sequences (nvidia-smi underlines the
    /// matrix header when it writes to a terminal).</summary>
    public static string[] Lines(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            lines[i] = StripEscapes(lines[i].TrimEnd('\r'));
        }

        return lines;
    }

    /// <summary>The fields of a line separated by tabs or blanks.</summary>
    public static string[] Fields(string line) => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    private static string StripEscapes(string line)
    {
        int esc = line.IndexOf('\u001b', StringComparison.Ordinal);
        if (esc < 0)
        {
            return line;
        }

        var sb = new StringBuilder(line.Length);
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == '\u001b' && i + 1 < line.Length && line[i + 1] == '[')
            {
                // CSI: parameters and intermediates, then one final byte in @..~.
                i += 2;
                while (i < line.Length && (line[i] < '@' || line[i] > '~'))
                {
                    i++;
                }

                continue;
            }

            sb.Append(line[i]);
        }

        return sb.ToString();
    }
}
