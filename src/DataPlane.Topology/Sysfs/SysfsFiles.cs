using System.Globalization;

namespace DataPlane.Topology.Sysfs;

/// <summary>Small readers of kernel attribute files. A missing or unreadable file is an answer (null), not an
/// exception: sysfs attributes come and go with drivers, and some refuse reads (a down link's <c>speed</c> reads EINVAL).</summary>
internal static class SysfsFiles
{
    /// <summary>Guards against symlink loops while resolving paths.</summary>
    private const int MaxLinks = 40;

    /// <summary>The file's text without the trailing line end, or null when it cannot be read.</summary>
    public static string? ReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).TrimEnd('\n', '\r', ' ', '\t') : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A decimal integer attribute, or null when missing or not a number.</summary>
    public static long? ReadLong(string path) =>
        long.TryParse(ReadText(path), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value : null;

    /// <summary>Names in a directory (files, directories and links alike), or null when the directory cannot be listed.</summary>
    public static IReadOnlyList<string>? List(string directory)
    {
        try
        {
            return Directory.Exists(directory)
                ? Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray()
                : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The canonical path of <paramref name="path"/> with every symlink resolved, as realpath(3) gives it,
    /// or null when some component does not exist. Resolution is done component by component because a link's
    /// relative target counts from the link's real directory: <c>/sys/class/net/eth0/device</c> points
    /// <c>../../../0000:19:00.0</c> from inside <c>/sys/devices/…/net/eth0</c>, not from <c>/sys/class/net/eth0</c>.</summary>
    public static string? RealPath(string path)
    {
        var pending = new Stack<string>(Components(Path.GetFullPath(path)).Reverse());
        string current = "/";
        int links = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part is "." or "")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? "/";
                continue;
            }

            string next = Path.Join(current, part);
            string? target;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }

            if (target is null)
            {
                if (!Path.Exists(next))
                {
                    return null;
                }

                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                return null;
            }

            foreach (string t in Components(target).Reverse())
            {
                pending.Push(t);
            }

            if (Path.IsPathRooted(target))
            {
                current = "/";
            }
        }

        return current;
    }

    /// <summary>The last component of a link's resolved target (a driver's name from <c>…/driver</c>), or null.</summary>
    public static string? LinkName(string link)
    {
        string? real = RealPath(link);
        return real is null ? null : Path.GetFileName(real);
    }

    private static string[] Components(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
