namespace DataPlane.Transfer.Security;

/// <summary>Decides which refusals are written to the log: the first of each key (peer address and reason) per
/// interval, with the number left out since; every refusal is still counted in the metrics. A bounded table, so a
/// flood from many addresses cannot grow it without limit.</summary>
internal sealed class RefusalLog(TimeProvider time, TimeSpan interval)
{
    private const int MaxKeys = 4096;

    private readonly Dictionary<string, Entry> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly long _intervalTicks = Math.Max(1, (long)(interval.TotalSeconds * time.TimestampFrequency));

    /// <summary>True when a refusal under <paramref name="key"/> is to be logged now; <paramref name="suppressed"/> is the
    /// number of refusals under it that were not logged since the last one that was.</summary>
    public bool ShouldLog(string key, out int suppressed)
    {
        long now = time.GetTimestamp();
        lock (_gate)
        {
            if (_seen.TryGetValue(key, out var entry) && now < entry.Next)
            {
                _seen[key] = entry with { Suppressed = entry.Suppressed + 1 };
                suppressed = 0;
                return false;
            }

            suppressed = entry.Suppressed;
            if (_seen.Count >= MaxKeys)
            {
                foreach (var stale in _seen.Where(e => e.Value.Next <= now).Select(e => e.Key).ToArray())
                {
                    _seen.Remove(stale);
                }

                if (_seen.Count >= MaxKeys)
                {
                    _seen.Clear();
                }
            }

            _seen[key] = new Entry(now + _intervalTicks, 0);
            return true;
        }
    }

    private readonly record struct Entry(long Next, int Suppressed);
}
