using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class CalibrationTests
{
    private static readonly double[] Tenths = [0.4, 0.1, 1.0, 0.7, 0.3, 0.9, 0.2, 0.6, 0.8, 0.5];

    [Theory]
    [InlineData(0.3, 0.7, 0.3)] // q = 0.7: rank ⌈7⌉ = 7 → 0.7; 0.8, 0.9, 1.0 lie above
    [InlineData(0.25, 0.8, 0.2)] // q = 0.75: rank ⌈7.5⌉ = 8 → 0.8; achieved 2/10 ≤ target
    [InlineData(0.5, 0.5, 0.5)]
    [InlineData(0.1, 0.9, 0.1)]
    [InlineData(0.05, 1.0, 0.0)] // q = 0.95: rank ⌈9.5⌉ = 10 → the maximum; nothing lies above
    [InlineData(0.95, 0.1, 0.9)] // q = 0.05: rank ⌈0.5⌉ = 1 → the minimum
    public void Threshold_is_the_nearest_rank_quantile(double rate, double threshold, double achieved)
    {
        Assert.Equal(threshold, Calibration.ThresholdForEscalationRate(Tenths, rate));
        Assert.Equal(achieved, Calibration.EscalationRate(Tenths, threshold), 12);
    }

    [Fact]
    public void The_input_is_not_reordered()
    {
        var scores = Tenths.ToArray();
        Calibration.ThresholdForEscalationRate(scores, 0.3);
        Assert.Equal(Tenths, scores);
    }

    [Fact]
    public void Rate_zero_escalates_nothing_and_rate_one_everything()
    {
        double none = Calibration.ThresholdForEscalationRate(Tenths, 0);
        double all = Calibration.ThresholdForEscalationRate(Tenths, 1);
        Assert.Equal(double.PositiveInfinity, none);
        Assert.Equal(double.NegativeInfinity, all);
        Assert.Equal(0, Calibration.EscalationRate(Tenths, none));
        Assert.Equal(1, Calibration.EscalationRate(Tenths, all));
    }

    [Fact]
    public void Ties_at_the_threshold_stay_local()
    {
        double[] scores = [0.5, 0.5, 0.5, 0.5];
        double threshold = Calibration.ThresholdForEscalationRate(scores, 0.5);
        Assert.Equal(0.5, threshold);
        Assert.Equal(0, Calibration.EscalationRate(scores, threshold));
    }

    [Fact]
    public void A_single_score_is_its_own_threshold()
    {
        Assert.Equal(0.42, Calibration.ThresholdForEscalationRate([0.42], 0.3));
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void Rates_outside_zero_to_one_are_refused(double rate)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Calibration.ThresholdForEscalationRate(Tenths, rate));
        Assert.Equal("targetRate", ex.ParamName);
    }

    [Fact]
    public void Empty_or_NaN_scores_are_refused()
    {
        Assert.Equal("scores", Assert.Throws<ArgumentException>(() => Calibration.ThresholdForEscalationRate([], 0.3)).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentException>(() => Calibration.ThresholdForEscalationRate([0.1, double.NaN], 0.3)).ParamName);
    }

    [Fact]
    public void Nearest_rank_at_the_ends()
    {
        double[] sorted = [1, 2, 3, 4];
        Assert.Equal(1, Calibration.NearestRank(sorted, 0));
        Assert.Equal(1, Calibration.NearestRank(sorted, 0.25));
        Assert.Equal(2, Calibration.NearestRank(sorted, 0.26));
        Assert.Equal(4, Calibration.NearestRank(sorted, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Calibration.NearestRank(sorted, 1.5));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.2)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    public void Calibrating_on_the_calibration_set_achieves_the_target_rate(double target)
    {
        var result = Calibration.CalibrateFromFile(RepoFiles.Path("data/routing/calibration.jsonl"), PromptClassifier.Default, target);
        Assert.True(result.Prompts >= 150);
        Assert.Equal(target, result.TargetRate);
        Assert.InRange(result.AchievedRate, target - 0.02, target + 0.02);
        Assert.True(result.AchievedRate <= target);
    }

    [Fact]
    public void Calibrating_a_file_with_a_bad_line_names_the_line()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.jsonl");
        File.WriteAllText(path, "{\"prompt\": \"a\"}\n{\"prompt\": 3}\n");
        var ex = Assert.Throws<InvalidDataException>(() => Calibration.CalibrateFromFile(path, PromptClassifier.Default, 0.3));
        Assert.StartsWith($"{path}:2:", ex.Message, StringComparison.Ordinal);
    }
}
