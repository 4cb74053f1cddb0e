namespace DataPlane.Testing;

/// <summary>Files of the repository the tests read (scripts, shipped configuration, prompt sets, native sources):
/// the one place that finds the repository root.</summary>
public static class RepoFiles
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root: the first directory above the test binaries that holds DataPlane.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The full path of <paramref name="relative"/> (a path under the repository root, '/' separated).</summary>
    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "DataPlane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No repository root (DataPlane.sln) above {AppContext.BaseDirectory}.");
    }
}
