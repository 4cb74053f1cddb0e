using System.Text.Json;
using DataPlane.Bench.Agent;
using DataPlane.Edge.Contract;
using DataPlane.Edge.Routing;

namespace DataPlane.Bench.Tests.Agent;

public sealed class PromptMixAndPercentileTests
{
    [Theory]
    [InlineData(0.7)]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(0.33)]
    [InlineData(0.9)]
    public void Every_prefix_of_the_built_in_mix_has_the_short_share_to_within_one_request(double share)
    {
        var set = PromptSet.BuiltInMix(share, seed: 3);
        long shortSeen = 0;
        for (long n = 1; n <= 1000; n++)
        {
            if (set.For(n - 1).Kind == "short")
            {
                shortSeen++;
            }

            Assert.InRange(shortSeen, (long)Math.Floor(n * share) - 1, (long)Math.Ceiling(n * share) + 1);
            Assert.Equal(set.ShortCount(n), shortSeen);
        }
    }

    [Fact]
    public void The_default_mix_is_70_percent_short_exactly_over_ten_requests()
    {
        var set = PromptSet.BuiltInMix(BuiltInPrompts.DefaultShortShare, seed: 1);

        Assert.Equal(7, Enumerable.Range(0, 10).Count(i => set.For(i).Kind == "short"));
        Assert.Equal(700, Enumerable.Range(0, 1000).Count(i => set.For(i).Kind == "short"));
        Assert.Equal(0.7, set.ShortShare);
        Assert.True(set.BuiltIn);
    }

    [Fact]
    public void The_mix_is_deterministic_per_seed_and_uses_every_prompt()
    {
        var a = PromptSet.BuiltInMix(0.7, seed: 5);
        var b = PromptSet.BuiltInMix(0.7, seed: 5);
        var c = PromptSet.BuiltInMix(0.7, seed: 6);

        var first = Enumerable.Range(0, 300).Select(i => a.For(i).Text).ToList();
        Assert.Equal(first, Enumerable.Range(0, 300).Select(i => b.For(i).Text));
        Assert.NotEqual(first, Enumerable.Range(0, 300).Select(i => c.For(i).Text));
        Assert.Equal(BuiltInPrompts.Short.Count + BuiltInPrompts.Long.Count, first.Distinct().Count());
    }

    [Fact]
    public void The_built_in_prompts_are_a_few_dozen_of_each_kind_distinct_and_not_taken_from_the_routing_data()
    {
        Assert.InRange(BuiltInPrompts.Short.Count, 24, 200);
        Assert.InRange(BuiltInPrompts.Long.Count, 20, 200);
        var all = BuiltInPrompts.Short.Concat(BuiltInPrompts.Long).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(BuiltInPrompts.Long, p => Assert.True(p.Length > 100, p));
        Assert.All(BuiltInPrompts.Short, p => Assert.True(p.Length < 80, p));

        var routing = new[] { "train.jsonl", "heldout.jsonl", "calibration.jsonl" }
            .SelectMany(f => PromptFile.Read(RepoFiles.Path(Path.Combine("data", "routing", f)), requireLabels: true))
            .Select(p => p.Prompt).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(all, routing.Contains);
    }

    [Fact]
    public void The_shipped_classifier_scores_long_prompts_above_short_ones_on_average()
    {
        // Not a routing test: a sanity check that the mix exercises both paths of the default model.
        var classifier = PromptClassifier.Default;
        double shortMean = BuiltInPrompts.Short.Average(classifier.Score);
        double longMean = BuiltInPrompts.Long.Average(classifier.Score);

        Assert.True(longMean > shortMean, $"long {longMean:F3} vs short {shortMean:F3}");
    }

    [Fact]
    public void A_prompt_file_is_sent_in_order_and_cycled_with_its_labels_as_kinds()
    {
        using var folder = new TempFolder();
        string path = folder.File("p.jsonl");
        File.WriteAllLines(path,
        [
            JsonSerializer.Serialize(new Dictionary<string, object> { ["prompt"] = "one", ["gpu"] = false }),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["prompt"] = "two", ["gpu"] = true }),
            "{\"prompt\": \"three\"}",
        ]);

        var set = AgentBenchCommand.LoadPrompts(new AgentBenchSettings { PromptsPath = path });

        Assert.False(set.BuiltIn);
        Assert.Null(set.ShortShare);
        Assert.Equal(["one", "two", "three", "one"], Enumerable.Range(0, 4).Select(i => set.For(i).Text));
        Assert.Equal(["local", "gpu", "unlabelled"], Enumerable.Range(0, 3).Select(i => set.For(i).Kind));
    }

    [Fact]
    public void Nearest_rank_percentiles_are_exact_samples()
    {
        long[] sorted = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

        Assert.Equal(10, Percentiles.NearestRank(sorted, 0));
        Assert.Equal(10, Percentiles.NearestRank(sorted, 10));
        Assert.Equal(20, Percentiles.NearestRank(sorted, 10.1));
        Assert.Equal(50, Percentiles.NearestRank(sorted, 50));
        Assert.Equal(90, Percentiles.NearestRank(sorted, 90));
        Assert.Equal(100, Percentiles.NearestRank(sorted, 99));
        Assert.Equal(100, Percentiles.NearestRank(sorted, 100));
        Assert.Equal(7, Percentiles.NearestRank([7], 50));
        Assert.Throws<ArgumentException>(() => Percentiles.NearestRank([], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank(sorted, 101));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank(sorted, double.NaN));
    }

    [Fact]
    public void Percentiles_of_a_hundred_samples_pick_ranks_50_90_and_99()
    {
        long[] sorted = Enumerable.Range(1, 100).Select(i => (long)i * 1_000_000).ToArray();

        Assert.Equal(50.0, Percentiles.Milliseconds(sorted, 50));
        Assert.Equal(90.0, Percentiles.Milliseconds(sorted, 90));
        Assert.Equal(99.0, Percentiles.Milliseconds(sorted, 99));
        Assert.Null(Percentiles.Milliseconds([], 50));
    }

    [Fact]
    public void The_poisson_schedule_is_seeded_ascending_inside_the_window_and_near_the_rate()
    {
        long[] a = ArrivalSchedule.Create(LoadMode.Poisson, 100, 20, 1);
        long[] b = ArrivalSchedule.Create(LoadMode.Poisson, 100, 20, 1);

        Assert.Equal(a, b);
        Assert.NotEqual(a, ArrivalSchedule.Create(LoadMode.Poisson, 100, 20, 2));
        Assert.True(a.Zip(a.Skip(1)).All(p => p.First <= p.Second));
        Assert.All(a, t => Assert.InRange(t, 0, 20_000_000_000L - 1));
        Assert.InRange(a.Length, 1800, 2200);
    }
}
