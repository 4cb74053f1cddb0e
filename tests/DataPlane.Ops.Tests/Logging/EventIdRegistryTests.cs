using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace DataPlane.Ops.Tests.Logging;

/// <summary>The event id registry of docs/LOGGING.md holds for every <c>[LoggerMessage]</c> method of every assembly
/// under src/ and interop/: ids unique, each inside its component's range, no log class without a component.</summary>
public partial class EventIdRegistryTests
{
    [Fact]
    public void Every_log_message_has_a_unique_id_inside_its_components_range()
    {
        var registry = EventIdRegistry.Read(RepoFiles.Path("docs/LOGGING.md"));
        var messages = ShippedAssemblies().SelectMany(LogMessage.In).ToList();

        // The scan finds the messages at all (the attribute is kept in metadata), in every assembly that logs.
        Assert.True(messages.Count >= 90, $"found only {messages.Count} [LoggerMessage] methods");
        Assert.Contains(messages, m => m.LogClass == "ModelBatcher");
        Assert.Contains(messages, m => m.LogClass == "AgentApp");
        Assert.Contains(messages, m => m.LogClass == "TransferLog");

        var problems = registry.Problems(messages);
        Assert.True(problems.Count == 0, "docs/LOGGING.md's registry does not hold:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void The_registry_has_disjoint_ranges_and_names_each_log_class_once()
    {
        var registry = EventIdRegistry.Read(RepoFiles.Path("docs/LOGGING.md"));
        Assert.True(registry.Components.Count >= 20, $"read only {registry.Components.Count} rows from docs/LOGGING.md");
        Assert.Empty(registry.Inconsistencies());
    }

    [Fact]
    public void The_check_reports_a_shared_id_an_id_out_of_range_and_an_unregistered_class()
    {
        var registry = new EventIdRegistry(
        [
            new("Batcher", 1100, 1199, ["ModelBatcher"]),
            new("systemd", 2000, 2099, ["SystemdWatchdog"]),
        ]);
        LogMessage[] messages =
        [
            new("DataPlane.Batching", "ModelBatcher", "TimerFailed", 1101),
            new("DataPlane.Hosting", "SystemdWatchdog", "Ping", 2001),
            new("DataPlane.Hosting", "SystemdWatchdog", "Missed", 2001),
            new("DataPlane.Batching", "ModelBatcher", "SpillReturned", 2003),
            new("DataPlane.Edge", "EdgeService", "Decided", 4250),
            new("DataPlane.Edge", "CircuitBreaker", "Opened", -1),
        ];

        var problems = registry.Problems(messages);

        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.Contains("2001", StringComparison.Ordinal) && p.Contains("SystemdWatchdog.Ping", StringComparison.Ordinal)
            && p.Contains("SystemdWatchdog.Missed", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("ModelBatcher.SpillReturned", StringComparison.Ordinal) && p.Contains("1100–1199", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("EdgeService", StringComparison.Ordinal) && p.Contains("no component", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("CircuitBreaker.Opened", StringComparison.Ordinal) && p.Contains("no event id", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("CircuitBreaker", StringComparison.Ordinal) && p.Contains("no component", StringComparison.Ordinal));
    }

    [Fact]
    public void The_registry_reports_overlapping_ranges_and_a_class_in_two_components()
    {
        var registry = new EventIdRegistry(
        [
            new("Batcher", 1100, 1199, ["ModelBatcher"]),
            new("Streaming", 1150, 1250, ["StreamRelay", "ModelBatcher"]),
            new("Empty", 10, 5, []),
        ]);

        var problems = registry.Inconsistencies();

        Assert.Contains(problems, p => p.Contains("Batcher", StringComparison.Ordinal) && p.Contains("Streaming", StringComparison.Ordinal) && p.Contains("overlap", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("ModelBatcher", StringComparison.Ordinal) && p.Contains("two components", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Empty", StringComparison.Ordinal) && p.Contains("empty range", StringComparison.Ordinal));
    }

    /// <summary>Every project under src/ and interop/, loaded by its assembly name (this project references them all).</summary>
    private static IEnumerable<Assembly> ShippedAssemblies()
    {
        var projects = Directory.GetFiles(RepoFiles.Path("src"), "*.csproj", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(RepoFiles.Path("interop"), "*.csproj", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (string project in projects)
        {
            string name = XDocument.Load(project).Descendants("AssemblyName").FirstOrDefault()?.Value
                ?? Path.GetFileNameWithoutExtension(project);
            Assembly assembly;
            try
            {
                assembly = Assembly.Load(name);
            }
            catch (FileNotFoundException)
            {
                Assert.Fail($"{name} ({Path.GetRelativePath(RepoFiles.Root, project)}) is not loadable here: add a ProjectReference to it in DataPlane.Ops.Tests.csproj");
                throw;
            }

            yield return assembly;
        }
    }

    /// <summary>One <c>[LoggerMessage]</c> method: the log class is the outermost type around it (the nested <c>Log</c>
    /// class's owner, or a top-level log class).</summary>
    internal sealed record LogMessage(string Assembly, string LogClass, string Method, int EventId)
    {
        public string Name => $"{LogClass}.{Method}";

        public static IEnumerable<LogMessage> In(Assembly assembly)
        {
            Type[] types;
            try
            {
                types = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = [.. e.Types.OfType<Type>()];
            }

            const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
            foreach (var type in types)
            {
                foreach (var method in type.GetMethods(All))
                {
                    if (method.GetCustomAttribute<LoggerMessageAttribute>() is { } attribute)
                    {
                        var outer = type;
                        while (outer.DeclaringType is { } d)
                        {
                            outer = d;
                        }

                        string logClass = outer.Name.Split('`')[0];
                        yield return new LogMessage(assembly.GetName().Name!, logClass, method.Name, attribute.EventId);
                    }
                }
            }
        }
    }

    /// <summary>A registry row: a component, its inclusive id range, the log classes it owns.</summary>
    internal sealed record Component(string Name, int First, int Last, IReadOnlyList<string> LogClasses)
    {
        public string Range => $"{First}–{Last}";

        public bool Holds(int id) => id >= First && id <= Last;
    }

    /// <summary>The registry table of docs/LOGGING.md and the checks against it.</summary>
    internal sealed partial class EventIdRegistry(IReadOnlyList<Component> components)
    {
        public IReadOnlyList<Component> Components { get; } = components;

        /// <summary>Reads the rows "| first–last | component | `Class`, `Class` | assembly |".</summary>
        public static EventIdRegistry Read(string markdown)
        {
            var rows = new List<Component>();
            foreach (string line in File.ReadLines(markdown))
            {
                var row = Row().Match(line);
                if (row.Success)
                {
                    string[] classes = [.. Backticked().Matches(row.Groups["classes"].Value).Select(m => m.Groups[1].Value)];
                    rows.Add(new Component(row.Groups["name"].Value.Trim(), int.Parse(row.Groups["first"].Value, CultureInfo.InvariantCulture),
                        int.Parse(row.Groups["last"].Value, CultureInfo.InvariantCulture), classes));
                }
            }

            return new EventIdRegistry(rows);
        }

        /// <summary>What is wrong with the table itself: overlapping or empty ranges, a class in two rows.</summary>
        public List<string> Inconsistencies()
        {
            var problems = new List<string>();
            foreach (var c in Components.Where(c => c.First > c.Last))
            {
                problems.Add($"{c.Name} has an empty range {c.Range}");
            }

            for (int i = 0; i < Components.Count; i++)
            {
                for (int j = i + 1; j < Components.Count; j++)
                {
                    var (a, b) = (Components[i], Components[j]);
                    if (a.First <= b.Last && b.First <= a.Last)
                    {
                        problems.Add($"{a.Name} ({a.Range}) and {b.Name} ({b.Range}) overlap");
                    }
                }
            }

            foreach (var twice in Components.SelectMany(c => c.LogClasses.Select(l => (Class: l, c.Name))).GroupBy(x => x.Class).Where(g => g.Count() > 1))
            {
                problems.Add($"{twice.Key} is in two components: {string.Join(", ", twice.Select(x => x.Name))}");
            }

            return problems;
        }

        /// <summary>Every way <paramref name="messages"/> break the registry, one line each.</summary>
        public List<string> Problems(IEnumerable<LogMessage> messages)
        {
            var list = messages.ToList();
            var problems = new List<string>();
            foreach (var m in list.Where(m => m.EventId < 0))
            {
                problems.Add($"{m.Name} ({m.Assembly}) has no event id");
            }

            foreach (var shared in list.Where(m => m.EventId >= 0).GroupBy(m => m.EventId).Where(g => g.Count() > 1))
            {
                problems.Add($"event id {shared.Key} is used by {string.Join(", ", shared.Select(m => $"{m.Name} ({m.Assembly})"))}");
            }

            var owner = Components.SelectMany(c => c.LogClasses.Select(l => (Class: l, Component: c)))
                .GroupBy(x => x.Class).ToDictionary(g => g.Key, g => g.First().Component, StringComparer.Ordinal);
            foreach (var byClass in list.GroupBy(m => m.LogClass))
            {
                if (!owner.TryGetValue(byClass.Key, out var component))
                {
                    problems.Add($"log class {byClass.Key} ({byClass.First().Assembly}) belongs to no component: add it to a row of docs/LOGGING.md");
                    continue;
                }

                foreach (var m in byClass.Where(m => m.EventId >= 0 && !component.Holds(m.EventId)))
                {
                    problems.Add($"{m.Name} has id {m.EventId}, outside {component.Name}'s range {component.Range}");
                }
            }

            return problems;
        }

        [GeneratedRegex(@"^\|\s*(?<first>\d+)\s*[–-]\s*(?<last>\d+)\s*\|(?<name>[^|]+)\|(?<classes>[^|]*)\|")]
        private static partial Regex Row();

        [GeneratedRegex(@"`([A-Za-z_][A-Za-z0-9_]*)`")]
        private static partial Regex Backticked();
    }
}
