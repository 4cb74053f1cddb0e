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

    /// <summary>Writes <paramref name="value"/> and a newline in one write (<paramref name="write"/>, default
    /// <see cref="WriteOnce"/>; tests stand in for a kernel that answers EIO). <paramref name="needs"/> says which
    /// privilege a permission failure means; <paramref name="refused"/> explains an I/O error (EINVAL, EIO) from the
    /// kernel, which <paramref name="refusalIsPermanent"/> reports as "unsupported" rather than as an error;
    /// <paramref name="what"/> names the setting in errors about <paramref name="path"/>.</summary>
    public static void Write(string path, string value, string what, string needs, string refused, bool refusalIsPermanent = false,
        KernelWrite? write = null)
    {
        try
        {
            (write ?? WriteOnce)(path, value + "\n");
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

    /// <summary>Opens <paramref name="path"/> with O_TRUNC (as the shell's redirection does: procfs ignores it, a fixture
    /// file needs it) and writes <paramref name="text"/> in one write(2).</summary>
    public static void WriteOnce(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        stream.Write(System.Text.Encoding.ASCII.GetBytes(text));
    }
}

/// <summary>One write(2) of <paramref name="text"/> to a kernel file; throws as <see cref="FileStream"/> does
/// (<see cref="IOException"/> for EIO and EINVAL, <see cref="UnauthorizedAccessException"/> for EACCES).</summary>
internal delegate void KernelWrite(string path, string text);
