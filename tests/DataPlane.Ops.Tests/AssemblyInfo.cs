// The tests start real processes and servers on shared ports and files: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
