namespace DataPlane.Tuning.Plans;

/// <summary>Reads and writes the one-value files of /proc/sys and /proc/irq the way sysctl(8) does: the whole value in
/// a single write(2), because the kernel parses the buffer of each write on its own.</summary>
internal static class KernelFile
{
    /// <summary>Reads the file's text; failures become a <see cref="TuningException"/> naming <paramref name="what"/>.</summary>
    public static string Read(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TuningException($"{what}: cannot read {path}: {e.Message}", e) { Unsupported = e is FileNotFoundException or DirectoryNotFoundException };
        }
    }

    /// <summary>Writes <paramref name="value"/> and a newline in one write. <paramref name="needs"/> says which privilege
    /// a permission failure means; <paramref name="refused"/> explains an I/O error (EINVAL, EIO) from the kernel, which
    /// <paramref name="refusalIsPermanent"/> reports as "unsupported" rather than as an error.</summary>
    public static void Write(string path, string value, string what, string needs, string refused, bool refusalIsPermanent = false)
    {
        try
        {
            // O_TRUNC as the shell's redirection uses: procfs ignores it, a fixture file needs it.
            using var stream = new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            stream.Write(System.Text.Encoding.ASCII.GetBytes(value + "\n"));
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TuningException($"{what}: permission denied writing {path} ({needs})", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TuningException($"{what}: {path} does not exist", e) { Unsupported = true };
        }
        catch (IOException e)
        {
            throw new TuningException($"{what}: the kernel refused '{value}' ({refused}): {e.Message}", e) { Unsupported = refusalIsPermanent };
        }
    }
}
