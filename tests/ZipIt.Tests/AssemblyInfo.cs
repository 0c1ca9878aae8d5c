// libtorch state (manual_seed, thread count) is process-wide, and several tests build projects with
// the dotnet CLI: run test classes one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
