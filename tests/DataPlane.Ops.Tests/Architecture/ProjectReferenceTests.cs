using System.Text.RegularExpressions;
using System.Xml.Linq;
using DataPlane.Testing;

namespace DataPlane.Ops.Tests.Architecture;

/// <summary>Dependencies point one way, as the layer table of docs/ARCHITECTURE.md says: every <c>ProjectReference</c>
/// of a project under src/ and interop/ must be listed in that project's "Depends on" cell (projects are written there in
/// backticks by their folder name without <c>DataPlane.</c>, e.g. <c>`Protocol`, `Interop`</c>; packages in plain
/// text), a listed project must be referenced, every project must have a row, and every project must be in
/// DataPlane.sln. A reference the table does not list points up or sideways: move what it needs down a layer, or, when
/// the dependency is right, add it to the table with the reason.</summary>
public partial class ProjectReferenceTests
{
    private static readonly string Root = RepoFiles.Root;

    [Fact]
    public void Every_project_reference_is_one_the_layer_table_lists_and_every_project_has_a_row()
    {
        var table = LayerTable.Read(File.ReadAllLines(Path.Combine(Root, "docs", "ARCHITECTURE.md")));
        var references = ProjectReferences.Read(Root);

        Assert.True(table.Count >= 10, $"the layer table of docs/ARCHITECTURE.md has {table.Count} project rows; was it reformatted?");
        Assert.True(references.Count >= 10, $"found {references.Count} projects under src/ and interop/");
        var violations = Violations(references, table);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Every_project_is_in_the_solution()
    {
        string solution = File.ReadAllText(Path.Combine(Root, "DataPlane.sln"));

        var missing = ProjectReferences.Read(Root).Keys
            .Where(path => !solution.Contains($"{path.Replace('/', '\\')}\\{Path.GetFileName(path)}.csproj", StringComparison.Ordinal))
            .ToList();

        Assert.True(missing.Count == 0, $"not in DataPlane.sln, so CI does not build them: {string.Join(", ", missing)}");
    }

    [Fact]
    public void A_reference_back_from_the_load_generator_to_the_agent_is_caught()
    {
        var table = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal)
        {
            ["src/DataPlane.Edge.Contract"] = Set(),
            ["src/DataPlane.Edge"] = Set("Edge.Contract"),
            ["src/DataPlane.Bench"] = Set("Edge.Contract"),
        };
        var references = new Dictionary<string, IReadOnlySet<string>>(table, StringComparer.Ordinal)
        {
            ["src/DataPlane.Bench"] = Set("Edge.Contract", "Edge"),
        };

        var violation = Assert.Single(Violations(references, table));

        Assert.StartsWith("src/DataPlane.Bench references `Edge`, which its row does not list", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_project_without_a_row_a_stale_entry_and_a_misspelt_name_are_caught()
    {
        var table = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal)
        {
            ["src/DataPlane.Protocol"] = Set(),
            ["src/DataPlane.Edge"] = Set("Hosting", "Protocol"),
            ["src/DataPlane.Hosting"] = Set("Interopp"),
        };
        var references = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal)
        {
            ["src/DataPlane.Protocol"] = Set(),
            ["src/DataPlane.Edge"] = Set("Hosting"),
            ["src/DataPlane.Hosting"] = Set(),
            ["src/DataPlane.Spillover"] = Set(),
        };

        var violations = Violations(references, table);

        Assert.Equal(3, violations.Count);
        Assert.Contains(violations, v => v.StartsWith("src/DataPlane.Spillover has no row", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("src/DataPlane.Edge: its row lists `Protocol`, which it does not reference", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("src/DataPlane.Hosting: its row lists `Interopp`, which is not a project", StringComparison.Ordinal));
    }

    private static IReadOnlySet<string> Set(params string[] names) => names.ToHashSet(StringComparer.Ordinal);

    /// <summary>Each difference between the projects' references and the table, as one sentence.</summary>
    private static List<string> Violations(IReadOnlyDictionary<string, IReadOnlySet<string>> references, IReadOnlyDictionary<string, IReadOnlySet<string>> table)
    {
        var projects = references.Keys.Select(ShortName).ToHashSet(StringComparer.Ordinal);
        var violations = new List<string>();
        foreach (var (path, referenced) in references.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (!table.TryGetValue(path, out var listed))
            {
                violations.Add($"{path} has no row in the layer table of docs/ARCHITECTURE.md: add one with its job and what it depends on");
                continue;
            }

            foreach (string name in referenced.Where(r => !listed.Contains(r)).Order(StringComparer.Ordinal))
            {
                violations.Add($"{path} references `{name}`, which its row does not list under \"Depends on\" in docs/ARCHITECTURE.md: "
                    + "a reference that points up or sideways. Move what it needs down a layer, or add the dependency to the table with the reason");
            }

            foreach (string name in listed.Where(l => !referenced.Contains(l)).Order(StringComparer.Ordinal))
            {
                violations.Add(projects.Contains(name)
                    ? $"{path}: its row lists `{name}`, which it does not reference; take it out of the table"
                    : $"{path}: its row lists `{name}`, which is not a project (write projects as their folder name without \"DataPlane.\")");
            }
        }

        foreach (string path in table.Keys.Where(p => !references.ContainsKey(p)).Order(StringComparer.Ordinal))
        {
            violations.Add($"the layer table has a row for {path}, which has no project file");
        }

        return violations;
    }

    /// <summary>"src/DataPlane.Edge.Contract" → "Edge.Contract".</summary>
    private static string ShortName(string path)
    {
        string folder = Path.GetFileName(path);
        return folder.StartsWith("DataPlane.", StringComparison.Ordinal) ? folder["DataPlane.".Length..] : folder;
    }

    /// <summary>The <c>| Project | Job | Depends on |</c> table: for each row whose project is under src/ or interop/,
    /// the projects named in backticks in its last cell.</summary>
    private static partial class LayerTable
    {
        public static Dictionary<string, IReadOnlySet<string>> Read(string[] lines)
        {
            int header = Array.FindIndex(lines, l => l.StartsWith("| Project | Job | Depends on |", StringComparison.Ordinal));
            Assert.True(header >= 0, "docs/ARCHITECTURE.md has no table headed | Project | Job | Depends on |");
            var rows = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
            foreach (string line in lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|')))
            {
                // The job cell may hold '|' in code; the project is the first cell and the dependencies the last.
                string row = line.Trim();
                int first = row.IndexOf('|', 1), last = row.LastIndexOf('|', row.Length - 2);
                string path = row[1..first].Trim().Trim('`').TrimEnd('/');
                if (!path.StartsWith("src/", StringComparison.Ordinal) && !path.StartsWith("interop/", StringComparison.Ordinal))
                {
                    continue;
                }

                string dependsOn = row[(last + 1)..^1];
                rows[path] = ProjectName().Matches(dependsOn).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            }

            return rows;
        }

        [GeneratedRegex(@"`([A-Za-z][A-Za-z.]*)`")]
        private static partial Regex ProjectName();
    }

    /// <summary>Every project under src/ and interop/ (by folder, relative to the root) and the projects it references
    /// (by short name).</summary>
    private static class ProjectReferences
    {
        public static Dictionary<string, IReadOnlySet<string>> Read(string root)
        {
            var projects = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
            foreach (string top in new[] { "src", "interop" })
            {
                foreach (string file in Directory.EnumerateFiles(Path.Combine(root, top), "*.csproj", SearchOption.AllDirectories))
                {
                    string folder = Path.GetRelativePath(root, Path.GetDirectoryName(file)!).Replace('\\', '/');
                    if (folder.Split('/').Any(part => part is "bin" or "obj"))
                    {
                        continue;
                    }

                    var referenced = XDocument.Load(file).Descendants("ProjectReference")
                        .Select(r => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, ((string?)r.Attribute("Include") ?? "").Replace('\\', '/'))))
                        .Select(target => Path.GetRelativePath(root, Path.GetDirectoryName(target)!).Replace('\\', '/'))
                        .Select(target => target.StartsWith("src/", StringComparison.Ordinal) || target.StartsWith("interop/", StringComparison.Ordinal)
                            ? ShortName(target)
                            : target)
                        .ToHashSet(StringComparer.Ordinal);
                    projects[folder] = referenced;
                }
            }

            return projects;
        }
    }
}
