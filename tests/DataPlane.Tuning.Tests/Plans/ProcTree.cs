namespace DataPlane.Tuning.Tests.Plans;

/// <summary>A throw-away procfs tree with a few /proc/sys files, for tests that need nothing else.</summary>
internal sealed class ProcTree : IDisposable
{
    public ProcTree(params (string Key, string Value)[] sysctls)
    {
        Root = Directory.CreateTempSubdirectory("dataplane-proc-").FullName;
        foreach (var (key, value) in sysctls)
        {
            Set(key, value);
        }
    }

    public string Root { get; }

    public string RunDir => Path.Combine(Root, "run");

    public string Get(string key) => File.ReadAllText(PathOf(key)).TrimEnd('\n');

    public void Set(string key, string value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf(key))!);
        File.WriteAllText(PathOf(key), value + "\n");
    }

    public string PathOf(string key) => Path.Combine(Root, "sys", key.Replace('.', '/'));

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
