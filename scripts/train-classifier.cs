#!/usr/bin/env dotnet
// Trains the routing classifier from data/routing/train.jsonl, writes
// src/DataPlane.Edge/Routing/default-classifier.json, and prints train and held-out accuracy and the
// threshold that escalates 30% of data/routing/calibration.jsonl. Run from the repository root:
//   dotnet run scripts/train-classifier.cs [--trained-at 2025-01-01T00:00:00Z] [--l2 0.01] [--errors] [--check]
// --errors lists the held-out prompts the model gets wrong.
// --check trains and compares with the committed model instead of writing it (exit 1 when they differ).
#:project ../src/DataPlane.Edge/DataPlane.Edge.csproj
#:property PublishAot=false

using System.Globalization;
using DataPlane.Edge.Contract;
using DataPlane.Edge.Routing;

string root = Directory.GetCurrentDirectory();
string train = Path.Combine(root, "data/routing/train.jsonl");
string heldOut = Path.Combine(root, "data/routing/heldout.jsonl");
string calibration = Path.Combine(root, "data/routing/calibration.jsonl");
string output = Path.Combine(root, "src/DataPlane.Edge/Routing/default-classifier.json");

bool check = args.Contains("--check");
DateTimeOffset trainedAt = DateTimeOffset.UtcNow;
int at = Array.IndexOf(args, "--trained-at");
if (at >= 0 && at + 1 < args.Length)
{
    trainedAt = DateTimeOffset.Parse(args[at + 1], CultureInfo.InvariantCulture);
}
else if (check && File.Exists(output))
{
    trainedAt = DateTimeOffset.Parse(ClassifierModel.LoadFile(output).TrainedAt!, CultureInfo.InvariantCulture);
}

var options = new TrainerOptions { TrainedAt = trainedAt };
int l2 = Array.IndexOf(args, "--l2");
if (l2 >= 0 && l2 + 1 < args.Length)
{
    options = options with { L2 = double.Parse(args[l2 + 1], CultureInfo.InvariantCulture) };
}

var result = ClassifierTrainer.TrainFromFile(train, options);
var classifier = new PromptClassifier(result.Model);
var held = ClassifierTrainer.Evaluate(classifier, PromptFile.Read(heldOut, requireLabels: true));
var calibrated = Calibration.CalibrateFromFile(calibration, classifier, 0.3);

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"train: {result.Model.Metrics!.Examples} examples, accuracy {result.TrainAccuracy:P1}, log-loss {result.TrainLogLoss:F4} (objective {result.LossHistory[0]:F4} -> {result.LossHistory[^1]:F4})"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"held-out: {held.Examples} examples, accuracy {held.Accuracy:P1}, log-loss {held.LogLoss:F4}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"calibration: {calibrated.Prompts} prompts, threshold for 30% escalation {calibrated.Threshold:F4}, achieved {calibrated.AchievedRate:P1}"));
for (int i = 0; i < PromptFeatures.Count; i++)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {PromptFeatures.Names[i],-20} w={result.Model.Weights![i],8:F3}"));
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"bias",-20} b={result.Model.Bias,8:F3}"));

if (args.Contains("--errors"))
{
    foreach (var example in PromptFile.Read(heldOut, requireLabels: true))
    {
        double score = classifier.Score(example.Prompt);
        if ((score > 0.5) != example.Gpu)
        {
            string text = example.Prompt.ReplaceLineEndings(" ");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  held-out miss: gpu={example.Gpu} score={score:F3} {text[..Math.Min(text.Length, 110)]}"));
        }
    }
}

if (check)
{
    bool same = File.Exists(output) && File.ReadAllText(output) == result.Model.ToJson() + "\n";
    Console.WriteLine(same ? "the committed model matches" : "the committed model differs from a fresh training run");
    return same ? 0 : 1;
}

result.Save(output);
Console.WriteLine($"wrote {output}");
return 0;
