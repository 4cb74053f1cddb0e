using System.Globalization;

namespace DataPlane.Topology.SelfTest;

/// <summary>One link line of <c>nvidia-smi nvlink -s</c>: <c>Link 0: 26.562 GB/s</c> or <c>Link 11: &lt;inactive&gt;</c>.</summary>
/// <param name="Link">Link index.</param>
/// <param name="Active">Not <c>&lt;inactive&gt;</c>.</param>
/// <param name="SpeedMBps">The speed in MB/s (GB/s × 1000, as NVML's field 164 counts it), null on an inactive link.</param>
/// <param name="Text">The value as printed.</param>
public sealed record NvidiaSmiLink(int Link, bool Active, long? SpeedMBps, string Text);

/// <summary>One GPU block of <c>nvidia-smi nvlink -s</c>: <c>GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)</c> and its links.</summary>
/// <param name="Index">nvidia-smi's (NVML's) index.</param>
/// <param name="Name">Product name.</param>
/// <param name="Uuid">UUID, null when the line has none.</param>
/// <param name="Links">Its links in printed order.</param>
public sealed record NvidiaSmiNvLinkGpu(int Index, string Name, string? Uuid, IReadOnlyList<NvidiaSmiLink> Links);

/// <summary>What <c>nvidia-smi nvlink -s</c> (<c>--status</c>) printed: every GPU's links with their state and speed.</summary>
/// <param name="Gpus">GPU blocks in printed order.</param>
public sealed record NvidiaSmiNvLink(IReadOnlyList<NvidiaSmiNvLinkGpu> Gpus)
{
    /// <summary>What nvidia-smi prints for a link that is down.</summary>
    public const string Inactive = "<inactive>";

    /// <summary>Reads <paramref name="file"/>.</summary>
    public static NvidiaSmiNvLink Read(string file) => Parse(file, ToolText.ReadAll(file));

    /// <summary>Parses the text of <c>nvidia-smi nvlink -s</c>; <paramref name="file"/> names it in errors.</summary>
    public static NvidiaSmiNvLink Parse(string file, string text)
    {
        var lines = ToolText.Lines(text);
        var gpus = new List<NvidiaSmiNvLinkGpu>();
        List<NvidiaSmiLink>? links = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("GPU ", StringComparison.Ordinal))
            {
                links = [];
                gpus.Add(ReadGpu(file, i + 1, line, links));
                continue;
            }

            if (!line.StartsWith("Link ", StringComparison.Ordinal))
            {
                throw new ToolOutputException(file, i + 1, $"'{line}' is neither a GPU line (GPU n: name (UUID: …)) nor a link line (Link n: speed)");
            }

            if (links is null)
            {
                throw new ToolOutputException(file, i + 1, "a link line before any GPU line");
            }

            links.Add(ReadLink(file, i + 1, line));
        }

        return new NvidiaSmiNvLink(gpus);
    }

    /// <summary>A speed as nvidia-smi prints it: 25000 MB/s → "25 GB/s", 26562 → "26.562 GB/s".</summary>
    public static string FormatSpeed(long megabytesPerSecond) =>
        (megabytesPerSecond / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + " GB/s";

    private static NvidiaSmiNvLinkGpu ReadGpu(string file, int lineNumber, string line, List<NvidiaSmiLink> links)
    {
        int colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !int.TryParse(line.AsSpan(4, colon - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw new ToolOutputException(file, lineNumber, $"'{line}' is not 'GPU n: name (UUID: …)'");
        }

        string rest = line[(colon + 1)..].Trim();
        string? uuid = null;
        int open = rest.LastIndexOf("(UUID:", StringComparison.Ordinal);
        if (open >= 0 && rest.EndsWith(')'))
        {
            uuid = rest[(open + "(UUID:".Length)..^1].Trim();
            rest = rest[..open].Trim();
        }

        return new NvidiaSmiNvLinkGpu(index, rest, uuid, links);
    }

    private static NvidiaSmiLink ReadLink(string file, int lineNumber, string line)
    {
        int colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !int.TryParse(line.AsSpan(5, colon - 5), NumberStyles.None, CultureInfo.InvariantCulture, out int link))
        {
            throw new ToolOutputException(file, lineNumber, $"'{line}' is not 'Link n: speed'");
        }

        string value = line[(colon + 1)..].Trim();
        if (value == Inactive)
        {
            return new NvidiaSmiLink(link, false, null, value);
        }

        if (value.EndsWith(" GB/s", StringComparison.Ordinal)
            && double.TryParse(value.AsSpan(0, value.Length - 5), NumberStyles.Float, CultureInfo.InvariantCulture, out double gbps)
            && gbps >= 0)
        {
            return new NvidiaSmiLink(link, true, (long)Math.Round(gbps * 1000), value);
        }

        throw new ToolOutputException(file, lineNumber, $"link {link}: '{value}' is neither a speed (N GB/s) nor {Inactive}");
    }
}
