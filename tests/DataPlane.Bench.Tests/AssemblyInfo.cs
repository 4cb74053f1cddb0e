// The load tests measure rates and latencies: run them one at a time so they do not compete for
// the two cores of a build machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
