using System.Diagnostics;

namespace DataPlane.Testing;

/// <summary>Waits for a condition that something else makes true (a gauge, a counter, a connection count, an HTTP
/// answer), checking it every few milliseconds and yielding the thread in between, and fails the test with a
/// description when the timeout passes first. Tests use it to observe an outcome, never to let time pass: where the
/// code under test reads a <see cref="TimeProvider"/>, a test clock drives time instead.</summary>
public static class Eventually
{
    /// <summary>How long a wait lasts unless the caller says otherwise.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The pause between two checks unless the caller says otherwise.</summary>
    public static TimeSpan DefaultInterval { get; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits up to <see cref="DefaultTimeout"/> until <paramref name="condition"/> holds.</summary>
    public static Task TrueAsync(Func<bool> condition, string what) => TrueAsync(condition, DefaultTimeout, what);

    /// <summary>Waits up to <paramref name="timeout"/> until <paramref name="condition"/> holds; fails with
    /// "timed out after … waiting for <paramref name="what"/>".</summary>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return SatisfiedAsync(() => Task.FromResult(condition() ? null : "not yet"), timeout, what);
    }

    /// <summary>Waits up to <see cref="DefaultTimeout"/> until the asynchronous <paramref name="condition"/> holds.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, string what) => TrueAsync(condition, DefaultTimeout, what);

    /// <summary>Waits up to <paramref name="timeout"/> until the asynchronous <paramref name="condition"/> holds; fails
    /// with "timed out after … waiting for <paramref name="what"/>".</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return SatisfiedAsync(async () => await condition().ConfigureAwait(false) ? null : "not yet", timeout, what);
    }

    /// <summary>Waits up to <paramref name="timeout"/> until <paramref name="check"/> answers null (satisfied); any other
    /// answer says why not yet. On timeout the failure names <paramref name="what"/>, the last answer and, when given,
    /// <paramref name="context"/> (a child process's output, say). <paramref name="interval"/> spaces the checks
    /// (<see cref="DefaultInterval"/> unless given; longer for a check that costs the other side work).</summary>
    public static async Task SatisfiedAsync(Func<Task<string?>> check, TimeSpan timeout, string what,
        Func<string>? context = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(check);
        TimeSpan pause = interval ?? DefaultInterval;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? why = await check().ConfigureAwait(false);
            if (why is null)
            {
                return;
            }

            if (clock.Elapsed >= timeout)
            {
                string detail = context is null ? "" : "\n" + context();
                Assert.Fail($"timed out after {timeout} waiting for {what} ({why}){detail}");
            }

            await Task.Delay(pause).ConfigureAwait(false);
        }
    }
}
