using System.Text.Json.Nodes;
using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class PromptClassifierTests
{
    /// <summary>A model with unit scales and hand-picked weights.</summary>
    internal static ClassifierModel HandModel(double bias = -1, double wordsWeight = 0.5, double meanWords = 1)
    {
        var means = new double[PromptFeatures.Count];
        var scales = Enumerable.Repeat(1.0, PromptFeatures.Count).ToArray();
        var weights = new double[PromptFeatures.Count];
        means[1] = meanWords;
        weights[1] = wordsWeight; // log_words
        weights[11] = 1.5; // kw_reasoning
        scales[11] = 2;
        return new ClassifierModel
        {
            Version = 1,
            TrainedAt = "2025-01-01T00:00:00Z",
            Features = [.. PromptFeatures.Names],
            Means = means,
            Scales = scales,
            Weights = weights,
            Bias = bias,
            Metrics = new ClassifierMetrics { TrainAccuracy = 1, Examples = 3 },
        };
    }

    [Fact]
    public void Score_is_the_logistic_of_the_standardised_linear_form()
    {
        var classifier = new PromptClassifier(HandModel());
        const string prompt = "Why does this prove anything?";
        var f = new double[PromptFeatures.Count];
        PromptFeatures.Extract(prompt, f);
        double z = -1 + (0.5 * (f[1] - 1)) + (1.5 * f[11] / 2);
        Assert.Equal(1 / (1 + Math.Exp(-z)), classifier.Score(prompt), 12);
        Assert.Equal(z, classifier.Logit(f), 12);

        var contributions = new double[PromptFeatures.Count];
        classifier.Contributions(prompt, contributions);
        Assert.Equal(z, -1 + contributions.Sum(), 12);
    }

    [Fact]
    public void Sigmoid_is_stable_at_the_extremes()
    {
        Assert.Equal(0.5, PromptClassifier.Sigmoid(0));
        Assert.Equal(1, PromptClassifier.Sigmoid(1000));
        Assert.Equal(0, PromptClassifier.Sigmoid(-1000));
        Assert.False(double.IsNaN(PromptClassifier.Sigmoid(-800)));
    }

    [Fact]
    public void Json_round_trip_keeps_the_scores()
    {
        var model = HandModel();
        var loaded = ClassifierModel.FromJson(model.ToJson());
        Assert.Equal(1, loaded.Version);
        Assert.Equal("2025-01-01T00:00:00Z", loaded.TrainedAt);
        Assert.Equal(model.Weights, loaded.Weights);
        Assert.Equal(3, loaded.Metrics!.Examples);
        const string prompt = "Analyze and compare these two approaches step by step please.";
        Assert.Equal(new PromptClassifier(model).Score(prompt), new PromptClassifier(loaded).Score(prompt));
    }

    [Fact]
    public void The_file_uses_the_documented_field_names()
    {
        var json = JsonNode.Parse(HandModel().ToJson())!.AsObject();
        foreach (string field in new[] { "version", "trainedAt", "features", "means", "scales", "weights", "bias", "metrics" })
        {
            Assert.True(json.ContainsKey(field), field);
        }

        Assert.True(json["metrics"]!.AsObject().ContainsKey("trainAccuracy"));
        Assert.True(json["metrics"]!.AsObject().ContainsKey("examples"));
    }

    [Fact]
    public void Save_and_load_from_a_file()
    {
        using var folder = new TempFolder();
        string path = folder.File("sub/model.json");
        HandModel(bias: 0.25).Save(path);
        var classifier = PromptClassifier.Load(path);
        Assert.Equal(0.25, classifier.Model.Bias);
    }

    [Fact]
    public void Another_version_is_refused_with_a_clear_error()
    {
        var json = JsonNode.Parse(HandModel().ToJson())!;
        json["version"] = 2;
        var ex = Assert.Throws<InvalidDataException>(() => ClassifierModel.FromJson(json.ToJsonString(), "test.json"));
        Assert.Contains("test.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("version 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("version 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Different_feature_names_are_refused_naming_the_first_difference()
    {
        var json = JsonNode.Parse(HandModel().ToJson())!;
        json["features"]![3] = "sentence_count";
        var ex = Assert.Throws<InvalidDataException>(() => ClassifierModel.FromJson(json.ToJsonString()));
        Assert.Contains("position 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"sentence_count\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"log_sentences\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_feature_is_refused()
    {
        var json = JsonNode.Parse(HandModel().ToJson())!;
        json["features"]!.AsArray().RemoveAt(PromptFeatures.Count - 1);
        var ex = Assert.Throws<InvalidDataException>(() => ClassifierModel.FromJson(json.ToJsonString()));
        Assert.Contains($"position {PromptFeatures.Count - 1}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("file has nothing", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("weights")]
    [InlineData("means")]
    [InlineData("scales")]
    public void Arrays_of_the_wrong_length_are_refused(string field)
    {
        var json = JsonNode.Parse(HandModel().ToJson())!;
        json[field]!.AsArray().RemoveAt(0);
        var ex = Assert.Throws<InvalidDataException>(() => ClassifierModel.FromJson(json.ToJsonString()));
        Assert.Contains($"\"{field}\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_positive_scale_is_refused()
    {
        var json = JsonNode.Parse(HandModel().ToJson())!;
        json["scales"]![5] = 0;
        var ex = Assert.Throws<InvalidDataException>(() => ClassifierModel.FromJson(json.ToJsonString()));
        Assert.Contains("digit_share", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("null")]
    [InlineData("{\"version\": \"one\"}")]
    public void Malformed_files_are_refused(string text)
    {
        Assert.Throws<InvalidDataException>(() => ClassifierModel.FromJson(text));
    }

    [Fact]
    public void The_default_model_is_embedded_and_valid()
    {
        var classifier = PromptClassifier.Default;
        Assert.Same(classifier, PromptClassifier.Default);
        Assert.Equal(ClassifierModel.CurrentVersion, classifier.Model.Version);
        Assert.Equal(PromptFeatures.Names, classifier.Model.Features);
        Assert.True(classifier.Model.Metrics!.Examples >= 300);
    }

    [Fact]
    public void The_default_model_separates_obvious_cases()
    {
        var classifier = PromptClassifier.Default;
        Assert.True(classifier.Score("hi!") < 0.2);
        Assert.True(classifier.Score("What is the capital of Peru?") < 0.2);
        Assert.True(classifier.Score(
            "Write a detailed 1500-word essay comparing the economic policies of three countries, with citations, " +
            "counterarguments and a conclusion, then summarise it in five bullet points and translate the summary into French.") > 0.8);
        Assert.True(classifier.Score(
            "Here is my code:\n```python\ndef f(xs):\n    return sum(xs) / len(xs)\n```\nIt crashes on an empty list. " +
            "Find the bug, explain it, implement a fix with unit tests, and analyze the complexity.") > 0.8);
    }

    [Fact]
    public void Scoring_allocates_nothing()
    {
        var classifier = PromptClassifier.Default;
        string prompt = string.Concat(Enumerable.Repeat("Could you explain why the sky is blue and summarise it? ", 6));
        double sink = classifier.Score(prompt);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            sink += classifier.Score(prompt);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.True(sink > 0);
    }
}
