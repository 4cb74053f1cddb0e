using System.Globalization;
using DataPlane.Edge.Contract;
using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class ClassifierTrainerTests
{
    /// <summary>The shipped model's accuracy on data/routing/heldout.jsonl must stay at or above this.</summary>
    private const double HeldOutAccuracyFloor = 0.85;

    private static readonly LabelledPrompt[] Toy =
    [
        new("hi", false), new("hello there", false), new("thanks!", false), new("good morning", false),
        new("what time is it?", false), new("capital of Peru?", false),
        new("Write a detailed essay on the causes of the First World War, comparing the alliances and evaluating each argument step by step.", true),
        new("Implement a function in Python that parses a CSV file, handles quoting and escaping, and write unit tests for every edge case you can think of.", true),
        new("Prove that the square root of two is irrational, then derive the general result for any non-square integer and explain each step in detail.", true),
        new("Translate the following three paragraphs into German and summarise them in five bullet points for a management report.", true),
    ];

    [Fact]
    public void Separable_toy_data_reaches_full_accuracy()
    {
        var result = ClassifierTrainer.Train(Toy, new TrainerOptions { TrainedAt = DateTimeOffset.UnixEpoch });
        Assert.Equal(1.0, result.TrainAccuracy);
        Assert.Equal(1.0, ClassifierTrainer.Evaluate(new PromptClassifier(result.Model), Toy).Accuracy);
        Assert.Equal(Toy.Length, result.Model.Metrics!.Examples);
        Assert.Equal(0.4, result.Model.Metrics.PositiveShare);
        Assert.Equal("1970-01-01T00:00:00Z", result.Model.TrainedAt);
    }

    [Fact]
    public void The_objective_decreases()
    {
        var result = ClassifierTrainer.Train(Toy, new TrainerOptions { Iterations = 500 });
        Assert.Equal(501, result.LossHistory.Count);
        Assert.Equal(Math.Log(2), result.LossHistory[0], 12); // zero weights: p = 0.5 everywhere
        for (int i = 1; i < result.LossHistory.Count; i++)
        {
            Assert.True(result.LossHistory[i] <= result.LossHistory[i - 1] + 1e-12, $"objective rose at iteration {i}");
        }

        Assert.True(result.LossHistory[^1] < 0.5 * result.LossHistory[0]);
        Assert.True(result.TrainLogLoss < Math.Log(2));
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var a = ClassifierTrainer.Train(Toy, new TrainerOptions { TrainedAt = DateTimeOffset.UnixEpoch });
        var b = ClassifierTrainer.Train(Toy, new TrainerOptions { TrainedAt = DateTimeOffset.UnixEpoch });
        Assert.Equal(a.Model.ToJson(), b.Model.ToJson());
    }

    [Fact]
    public void A_constant_feature_gets_scale_one_and_means_come_from_the_data()
    {
        var result = ClassifierTrainer.Train(Toy);
        int fence = PromptFeatures.Names.ToList().IndexOf("code_fence");
        Assert.Equal(0, result.Model.Means![fence]);
        Assert.Equal(1, result.Model.Scales![fence]);
        var chars = Toy.Select(t => Math.Log(1 + t.Prompt.Length)).ToArray();
        Assert.Equal(chars.Average(), result.Model.Means[0], 12);
    }

    [Fact]
    public void Bad_inputs_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ClassifierTrainer.Train([]));
        Assert.Throws<ArgumentException>(() => ClassifierTrainer.Train([new LabelledPrompt("x", null)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassifierTrainer.Train(Toy, new TrainerOptions { LearningRate = 0 }));
    }

    [Fact]
    public void Train_from_a_file_and_save_the_versioned_json()
    {
        using var folder = new TempFolder();
        string data = folder.File("train.jsonl");
        File.WriteAllLines(data, Toy.Select(t => $"{{\"prompt\": \"{t.Prompt}\", \"gpu\": {(t.Gpu == true ? "true" : "false")}}}"));
        var result = ClassifierTrainer.TrainFromFile(data);
        string model = folder.File("model.json");
        result.Save(model);
        var loaded = PromptClassifier.Load(model);
        Assert.Equal(1, loaded.Model.Version);
        Assert.Equal(1.0, ClassifierTrainer.Evaluate(loaded, Toy).Accuracy);
    }

    [Fact]
    public void The_prompt_sets_have_the_documented_shape()
    {
        var train = PromptFile.Read(RepoFiles.Path("data/routing/train.jsonl"), requireLabels: true);
        var heldOut = PromptFile.Read(RepoFiles.Path("data/routing/heldout.jsonl"), requireLabels: true);
        var calibration = PromptFile.Read(RepoFiles.Path("data/routing/calibration.jsonl"), requireLabels: false);
        Assert.True(train.Count >= 500, $"train has {train.Count} prompts");
        Assert.True(heldOut.Count >= 150, $"held-out has {heldOut.Count} prompts");
        Assert.True(calibration.Count >= 150, $"calibration has {calibration.Count} prompts");
        double gpuShare = train.Count(p => p.Gpu == true) / (double)train.Count;
        Assert.InRange(gpuShare, 0.25, 0.35);
        // No prompt is in two sets.
        var seen = new HashSet<string>(train.Select(p => p.Prompt));
        Assert.DoesNotContain(heldOut, p => seen.Contains(p.Prompt));
        Assert.DoesNotContain(calibration, p => seen.Contains(p.Prompt));
    }

    [Fact]
    public void The_shipped_model_is_accurate_on_the_held_out_set()
    {
        var heldOut = PromptFile.Read(RepoFiles.Path("data/routing/heldout.jsonl"), requireLabels: true);
        var evaluation = ClassifierTrainer.Evaluate(PromptClassifier.Default, heldOut);
        Assert.Equal(heldOut.Count, evaluation.Examples);
        Assert.True(evaluation.Accuracy >= HeldOutAccuracyFloor,
            string.Create(CultureInfo.InvariantCulture, $"held-out accuracy {evaluation.Accuracy:P1} is below {HeldOutAccuracyFloor:P0}"));
    }

    [Fact]
    public void The_shipped_model_is_what_training_on_train_jsonl_gives()
    {
        var shipped = PromptClassifier.Default.Model;
        var result = ClassifierTrainer.TrainFromFile(RepoFiles.Path("data/routing/train.jsonl"));
        Assert.Equal(shipped.Metrics!.Examples, result.Model.Metrics!.Examples);
        for (int i = 0; i < PromptFeatures.Count; i++)
        {
            Assert.Equal(shipped.Means![i], result.Model.Means![i], 9);
            Assert.Equal(shipped.Scales![i], result.Model.Scales![i], 9);
            Assert.Equal(shipped.Weights![i], result.Model.Weights![i], 6);
        }

        Assert.Equal(shipped.Bias, result.Model.Bias, 6);
    }
}
