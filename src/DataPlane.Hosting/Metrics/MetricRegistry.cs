using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace DataPlane.Hosting.Metrics;

/// <summary>A small Prometheus metrics registry with the text exposition format (version 0.0.4):
/// counters, gauges and histograms with labels, plus process metrics read from /proc. The edge agent
/// uses it instead of prometheus-net, whose metric-name validation brings the full regular-expression
/// engine into the Pi binary (about half a megabyte of a 15 MB budget); the daemon keeps prometheus-net.
/// Updates are lock-free; label children are created once and can be cached by the caller.</summary>
public sealed class MetricRegistry
{
    private readonly ConcurrentDictionary<string, Metric> _metrics = new(StringComparer.Ordinal);
    private readonly List<Metric> _order = [];
    private readonly List<Action> _beforeExport = [];
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    public Counter CreateCounter(string name, string help, params string[] labelNames) =>
        (Counter)Register(new Counter(name, help, labelNames));

    public Gauge CreateGauge(string name, string help, params string[] labelNames) =>
        (Gauge)Register(new Gauge(name, help, labelNames));

    public Histogram CreateHistogram(string name, string help, double[] buckets, params string[] labelNames) =>
        (Histogram)Register(new Histogram(name, help, buckets, labelNames));

    private Metric Register(Metric metric)
    {
        Metric.CheckName(metric.Name, "metric name");
        foreach (string label in metric.LabelNames)
        {
            Metric.CheckName(label, "label name");
        }

        var existing = _metrics.GetOrAdd(metric.Name, metric);
        if (!ReferenceEquals(existing, metric))
        {
            if (existing.GetType() != metric.GetType() || !existing.LabelNames.SequenceEqual(metric.LabelNames))
            {
                throw new InvalidOperationException($"metric '{metric.Name}' is already registered with another type or labels");
            }

            return existing;
        }

        metric.ExposeUnlabelled();
        lock (_order)
        {
            _order.Add(metric);
        }

        return metric;
    }

    /// <summary>Runs <paramref name="callback"/> at the start of every <see cref="Export"/>, to set gauges whose
    /// values are read rather than tracked (as prometheus-net's before-collect callbacks).</summary>
    public void AddBeforeExport(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        lock (_order)
        {
            _beforeExport.Add(callback);
        }
    }

    /// <summary>Writes every metric in the text format, then process metrics.</summary>
    public string Export()
    {
        var sb = new StringBuilder(4096);
        Metric[] metrics;
        Action[] callbacks;
        lock (_order)
        {
            metrics = [.. _order];
            callbacks = [.. _beforeExport];
        }

        foreach (var callback in callbacks)
        {
            callback();
        }

        foreach (var m in metrics)
        {
            m.Write(sb);
        }

        ProcessMetrics.Write(sb, _started);
        return sb.ToString();
    }

    /// <summary>The Content-Type of <see cref="Export"/>.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";
}

/// <summary>A metric family: name, help, label names, and its children by label values.</summary>
public abstract class Metric
{
    private protected Metric(string name, string help, string[] labelNames)
    {
        Name = name;
        Help = help;
        LabelNames = labelNames;
    }

    public string Name { get; }

    public string Help { get; }

    public IReadOnlyList<string> LabelNames { get; }

    private protected abstract string Type { get; }

    internal static void CheckName(string name, string what)
    {
        bool ok = name.Length > 0 && !char.IsAsciiDigit(name[0]);
        foreach (char c in name)
        {
            ok &= char.IsAsciiLetterOrDigit(c) || c == '_' || (what == "metric name" && c == ':');
        }

        if (!ok)
        {
            throw new ArgumentException($"'{name}' is not a valid Prometheus {what}", nameof(name));
        }
    }

    internal void Write(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(Name).Append(' ').Append(Help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        sb.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
        WriteSamples(sb);
    }

    private protected abstract void WriteSamples(StringBuilder sb);

    /// <summary>Creates the child of a metric without labels, so it is exported (as 0) before its first update.</summary>
    internal abstract void ExposeUnlabelled();

    /// <summary>Appends {a="x",b="y"} (with an optional extra label), or nothing when there are no labels.</summary>
    private protected void AppendLabels(StringBuilder sb, string[] values, string? extraName = null, string? extraValue = null)
    {
        if (values.Length == 0 && extraName == null)
        {
            return;
        }

        sb.Append('{');
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(LabelNames[i]).Append("=\"");
            Escape(sb, values[i]);
            sb.Append('"');
        }

        if (extraName != null)
        {
            if (values.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(extraName).Append("=\"").Append(extraValue).Append('"');
        }

        sb.Append('}');
    }

    private static void Escape(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            _ = c switch
            {
                '\\' => sb.Append("\\\\"),
                '"' => sb.Append("\\\""),
                '\n' => sb.Append("\\n"),
                _ => sb.Append(c),
            };
        }
    }

    internal static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
            : value.ToString("R", CultureInfo.InvariantCulture);

    private protected static void Add(ref double target, double amount)
    {
        double seen = Volatile.Read(ref target);
        while (true)
        {
            double found = Interlocked.CompareExchange(ref target, seen + amount, seen);
            if (found.Equals(seen))
            {
                return;
            }

            seen = found;
        }
    }
}

/// <summary>A family whose children are kept per label values.</summary>
public abstract class Metric<TChild> : Metric
    where TChild : class
{
    private readonly ConcurrentDictionary<string, (string[] Values, TChild Child)> _children = new(StringComparer.Ordinal);
    private TChild? _unlabelled;

    private protected Metric(string name, string help, string[] labelNames)
        : base(name, help, labelNames)
    {
    }

    /// <summary>The child for these label values (created on first use; cache it on hot paths).</summary>
    public TChild WithLabels(params string[] values)
    {
        if (values.Length != LabelNames.Count)
        {
            throw new ArgumentException($"metric '{Name}' has {LabelNames.Count} labels, got {values.Length} values", nameof(values));
        }

        string key = string.Join('\u0001', values);
        return _children.GetOrAdd(key, static (_, state) => (state.Values.ToArray(), state.Self.NewChild()), (Values: values, Self: this)).Child;
    }

    private protected TChild Unlabelled => _unlabelled ?? CreateUnlabelled();

    internal override void ExposeUnlabelled()
    {
        if (LabelNames.Count == 0)
        {
            _ = Unlabelled;
        }
    }

    private TChild CreateUnlabelled()
    {
        if (LabelNames.Count != 0)
        {
            throw new InvalidOperationException($"metric '{Name}' has labels; use WithLabels");
        }

        return _unlabelled = WithLabels();
    }

    private protected abstract TChild NewChild();

    /// <summary>One sample per child: name{labels} value.</summary>
    private protected void WriteValues(StringBuilder sb, Func<TChild, double> value)
    {
        foreach (var (values, child) in Children)
        {
            sb.Append(Name);
            AppendLabels(sb, values);
            sb.Append(' ').Append(Format(value(child))).Append('\n');
        }
    }

    private protected IEnumerable<(string[] Values, TChild Child)> Children => _children.Values.OrderBy(c => string.Join('\u0001', c.Values), StringComparer.Ordinal);
}

public sealed class Counter : Metric<Counter.Child>
{
    internal Counter(string name, string help, string[] labelNames)
        : base(name, help, labelNames)
    {
    }

    private protected override string Type => "counter";

    public void Inc(double amount = 1) => Unlabelled.Inc(amount);

    private protected override Child NewChild() => new();

    private protected override void WriteSamples(StringBuilder sb) => WriteValues(sb, static c => c.Value);

    public sealed class Child
    {
        private double _value;

        public double Value => Volatile.Read(ref _value);

        public void Inc(double amount = 1)
        {
            if (amount < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(amount), "counters only go up");
            }

            Add(ref _value, amount);
        }
    }
}

public sealed class Gauge : Metric<Gauge.Child>
{
    internal Gauge(string name, string help, string[] labelNames)
        : base(name, help, labelNames)
    {
    }

    private protected override string Type => "gauge";

    public void Set(double value) => Unlabelled.Set(value);

    public void Inc(double amount = 1) => Unlabelled.Inc(amount);

    public void Dec(double amount = 1) => Unlabelled.Inc(-amount);

    private protected override Child NewChild() => new();

    private protected override void WriteSamples(StringBuilder sb) => WriteValues(sb, static c => c.Value);

    public sealed class Child
    {
        private double _value;

        public double Value => Volatile.Read(ref _value);

        public void Set(double value) => Volatile.Write(ref _value, value);

        public void Inc(double amount = 1) => Add(ref _value, amount);

        public void Dec(double amount = 1) => Add(ref _value, -amount);
    }
}

public sealed class Histogram : Metric<Histogram.Child>
{
    private readonly double[] _buckets;

    internal Histogram(string name, string help, double[] buckets, string[] labelNames)
        : base(name, help, labelNames)
    {
        _buckets = [.. buckets.Order()];
    }

    private protected override string Type => "histogram";

    public void Observe(double value) => Unlabelled.Observe(value);

    private protected override Child NewChild() => new(_buckets);

    private protected override void WriteSamples(StringBuilder sb)
    {
        foreach (var (values, child) in Children)
        {
            long cumulative = 0;
            for (int i = 0; i <= _buckets.Length; i++)
            {
                cumulative += Volatile.Read(ref child.Counts[i]);
                sb.Append(Name).Append("_bucket");
                AppendLabels(sb, values, "le", i < _buckets.Length ? Format(_buckets[i]) : "+Inf");
                sb.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            sb.Append(Name).Append("_sum");
            AppendLabels(sb, values);
            sb.Append(' ').Append(Format(child.Sum)).Append('\n');
            sb.Append(Name).Append("_count");
            AppendLabels(sb, values);
            sb.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    public sealed class Child
    {
        private readonly double[] _upper;
        private double _sum;

        internal Child(double[] upper)
        {
            _upper = upper;
            Counts = new long[upper.Length + 1];
        }

        /// <summary>Per-bucket (not cumulative) counts; the last is +Inf.</summary>
        internal long[] Counts { get; }

        public double Sum => Volatile.Read(ref _sum);

        public long Count
        {
            get
            {
                long n = 0;
                for (int i = 0; i < Counts.Length; i++)
                {
                    n += Volatile.Read(ref Counts[i]);
                }

                return n;
            }
        }

        public void Observe(double value)
        {
            int i = Array.BinarySearch(_upper, value);
            if (i < 0)
            {
                i = ~i;
            }

            Interlocked.Increment(ref Counts[i]);
            Add(ref _sum, value);
        }
    }
}
