using DataPlane.Interop.Threading;

namespace DataPlane.Interop.Tests.Threading;

/// <summary>Per-thread affinity through sched_setaffinity on the running kernel: pinning one thread leaves the others
/// (the test runner's) where they were.</summary>
public class ThreadAffinityTests
{
    [Fact]
    public void Pinning_a_thread_moves_only_that_thread()
    {
        var allowed = ThreadAffinity.GetCurrentThread();
        int target = allowed[^1];
        IReadOnlyList<int>? seen = null;
        int errno = -1;

        var thread = new Thread(() =>
        {
            errno = ThreadAffinity.TrySetCurrentThread([target]);
            seen = ThreadAffinity.GetCurrentThread();
        });
        thread.Start();
        thread.Join();

        Assert.Equal(0, errno);
        Assert.Equal([target], seen);
        Assert.Equal(allowed, ThreadAffinity.GetCurrentThread());
    }

    [Fact]
    public void A_cpu_outside_the_set_is_refused_with_einval_and_a_number_beyond_the_set_size_is_an_argument_error()
    {
        int errno = -1;
        var thread = new Thread(() => errno = ThreadAffinity.TrySetCurrentThread([ThreadAffinity.MaxCpu]));
        thread.Start();
        thread.Join();

        Assert.Equal(22, errno); // EINVAL: no CPU of the mask is online
        Assert.Throws<ArgumentOutOfRangeException>(() => ThreadAffinity.TrySetCurrentThread([ThreadAffinity.MaxCpu + 1]));
    }

    [Fact]
    public void Hot_threads_take_the_reserved_cpus_in_turn_and_nothing_when_unconfigured()
    {
        int cpu = ThreadAffinity.GetCurrentThread()[0];
        Assert.Equal(-1, RunEnter(out _));

        HotThreads.Configure([cpu]);
        try
        {
            int pinned = HotThreads.Pinned;
            Assert.Equal(cpu, RunEnter(out var seen));
            Assert.Equal([cpu], seen);
            Assert.Equal(pinned + 1, HotThreads.Pinned);
        }
        finally
        {
            HotThreads.Configure([]);
        }
    }

    private static int RunEnter(out IReadOnlyList<int> affinity)
    {
        int result = 0;
        IReadOnlyList<int> seen = [];
        var thread = new Thread(() =>
        {
            result = HotThreads.Enter();
            seen = ThreadAffinity.GetCurrentThread();
        });
        thread.Start();
        thread.Join();
        affinity = seen;
        return result;
    }
}
