using System.Globalization;
using DataPlane.Edge.Contract;

namespace DataPlane.Edge.Routing;

/// <summary>Settings of <see cref="ClassifierTrainer.Train(IReadOnlyList{LabelledPrompt}, TrainerOptions?)"/>.
/// Training is fully deterministic: weights start at zero, every iteration uses the whole data set, and
/// there is no randomness, so the same data and options always give the same model.</summary>
public sealed record TrainerOptions
{
    /// <summary>Gradient-descent iterations over the full batch. Default 3000.</summary>
    public int Iterations { get; init; } = 3000;

    /// <summary>Step size on the standardised features. Default 0.5.</summary>
    public double LearningRate { get; init; } = 0.5;

    /// <summary>L2 penalty λ: the loss adds λ/2·‖w‖² (the bias is not penalised). Default 0.01.</summary>
    public double L2 { get; init; } = 0.01;

    /// <summary>Stored as the model's <c>trainedAt</c>; the current UTC time when null.</summary>
    public DateTimeOffset? TrainedAt { get; init; }
}

/// <summary>What training produced.</summary>
/// <param name="Model">The trained model, ready for <see cref="PromptClassifier"/> or <see cref="Save"/>.</param>
/// <param name="TrainAccuracy">Share of training examples on the right side of 0.5.</param>
/// <param name="TrainLogLoss">Mean log-loss on the training examples, without the L2 term.</param>
/// <param name="LossHistory">The objective (mean log-loss + L2 term) before each iteration and after the
/// last one: <see cref="TrainerOptions.Iterations"/> + 1 values.</param>
public sealed record TrainingResult(ClassifierModel Model, double TrainAccuracy, double TrainLogLoss, IReadOnlyList<double> LossHistory)
{
    /// <summary>Writes the model as versioned JSON to <paramref name="path"/>.</summary>
    public void Save(string path) => Model.Save(path);
}

/// <summary>Accuracy and log-loss of a classifier on labelled prompts.</summary>
/// <param name="Accuracy">Share classified correctly at the cut.</param>
/// <param name="LogLoss">Mean log-loss (probabilities clamped to [1e-12, 1 − 1e-12]).</param>
/// <param name="Examples">Number of labelled prompts evaluated.</param>
public readonly record struct Evaluation(double Accuracy, double LogLoss, int Examples);

/// <summary>Trains the <see cref="PromptClassifier"/>'s logistic regression: features are standardised by
/// the training data's mean and (population) standard deviation, then full-batch gradient descent
/// minimises mean log-loss + λ/2·‖w‖² for a fixed number of iterations.</summary>
public static class ClassifierTrainer
{
    /// <summary>Standard deviations below this are treated as a constant feature (scale 1).</summary>
    private const double MinScale = 1e-9;

    /// <summary>Reads a labelled JSONL file and trains on it.</summary>
    /// <exception cref="InvalidDataException">A line is malformed or unlabelled (the message names the line).</exception>
    public static TrainingResult TrainFromFile(string jsonlPath, TrainerOptions? options = null) =>
        Train(PromptFile.Read(jsonlPath, requireLabels: true), options);

    /// <summary>Trains on labelled prompts.</summary>
    /// <exception cref="ArgumentException">There are no examples, or one has no label.</exception>
    public static TrainingResult Train(IReadOnlyList<LabelledPrompt> examples, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        options ??= new TrainerOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Iterations, nameof(options));
        if (!(options.LearningRate > 0) || !(options.L2 >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "LearningRate must be positive and L2 non-negative.");
        }

        if (examples.Count == 0)
        {
            throw new ArgumentException("Training needs at least one labelled prompt.", nameof(examples));
        }

        int n = examples.Count, d = PromptFeatures.Count;
        var x = new double[n * d];
        var y = new double[n];
        for (int r = 0; r < n; r++)
        {
            var example = examples[r];
            y[r] = example.Gpu switch
            {
                true => 1,
                false => 0,
                null => throw new ArgumentException($"Example {r} has no label.", nameof(examples)),
            };
            PromptFeatures.Extract(example.Prompt, x.AsSpan(r * d, d));
        }

        // Standardise in place with the data's mean and population standard deviation.
        var means = new double[d];
        var scales = new double[d];
        for (int j = 0; j < d; j++)
        {
            double sum = 0;
            for (int r = 0; r < n; r++)
            {
                sum += x[(r * d) + j];
            }

            double mean = sum / n, squares = 0;
            for (int r = 0; r < n; r++)
            {
                double dev = x[(r * d) + j] - mean;
                squares += dev * dev;
            }

            double sd = Math.Sqrt(squares / n);
            means[j] = mean;
            scales[j] = sd < MinScale ? 1 : sd;
            for (int r = 0; r < n; r++)
            {
                x[(r * d) + j] = (x[(r * d) + j] - mean) / scales[j];
            }
        }

        var w = new double[d];
        var gradient = new double[d];
        double b = 0;
        var history = new List<double>(options.Iterations + 1);
        for (int iteration = 0; ; iteration++)
        {
            Array.Clear(gradient);
            double gradientB = 0, loss = 0;
            for (int r = 0; r < n; r++)
            {
                var row = x.AsSpan(r * d, d);
                double z = b;
                for (int j = 0; j < d; j++)
                {
                    z += w[j] * row[j];
                }

                double p = PromptClassifier.Sigmoid(z);
                loss += LogLoss(p, y[r]);
                double error = p - y[r];
                gradientB += error;
                for (int j = 0; j < d; j++)
                {
                    gradient[j] += error * row[j];
                }
            }

            double penalty = 0;
            for (int j = 0; j < d; j++)
            {
                penalty += w[j] * w[j];
            }

            history.Add((loss / n) + (options.L2 / 2 * penalty));
            if (iteration == options.Iterations)
            {
                break;
            }

            for (int j = 0; j < d; j++)
            {
                w[j] -= options.LearningRate * ((gradient[j] / n) + (options.L2 * w[j]));
            }

            b -= options.LearningRate * gradientB / n;
        }

        int positives = 0;
        for (int r = 0; r < n; r++)
        {
            positives += y[r] > 0.5 ? 1 : 0;
        }

        var model = new ClassifierModel
        {
            Version = ClassifierModel.CurrentVersion,
            TrainedAt = (options.TrainedAt ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            Features = [.. PromptFeatures.Names],
            Means = means,
            Scales = scales,
            Weights = w,
            Bias = b,
        };
        var evaluation = Evaluate(new PromptClassifier(model), examples);
        model.Metrics = new ClassifierMetrics
        {
            TrainAccuracy = Math.Round(evaluation.Accuracy, 4),
            TrainLogLoss = Math.Round(evaluation.LogLoss, 4),
            Examples = n,
            PositiveShare = Math.Round(positives / (double)n, 4),
        };
        return new TrainingResult(model, evaluation.Accuracy, evaluation.LogLoss, history);
    }

    /// <summary>Accuracy (at <paramref name="cut"/>: score &gt; cut means "needs GPU") and mean log-loss
    /// of <paramref name="classifier"/> on the labelled prompts (unlabelled ones are skipped).</summary>
    public static Evaluation Evaluate(PromptClassifier classifier, IReadOnlyList<LabelledPrompt> examples, double cut = 0.5)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(examples);
        int count = 0, correct = 0;
        double loss = 0;
        foreach (var example in examples)
        {
            if (example.Gpu is not { } gpu)
            {
                continue;
            }

            double p = classifier.Score(example.Prompt);
            count++;
            correct += (p > cut) == gpu ? 1 : 0;
            loss += LogLoss(p, gpu ? 1 : 0);
        }

        return count == 0 ? new Evaluation(double.NaN, double.NaN, 0) : new Evaluation(correct / (double)count, loss / count, count);
    }

    private static double LogLoss(double p, double y)
    {
        p = Math.Clamp(p, 1e-12, 1 - 1e-12);
        return -((y * Math.Log(p)) + ((1 - y) * Math.Log(1 - p)));
    }
}
