using ZipIt.Tests.Infrastructure;

namespace ZipIt.Tests.Train;

/// <summary>The <c>train</c> command line of the training tests: fixed arguments, then defaults that an option given in the extras replaces.</summary>
internal static class TrainCli
{
    public static CliResult Run(IEnumerable<string> fixedArgs, IEnumerable<(string Option, string Value)> defaults, string[] extra)
    {
        var args = new List<string>(fixedArgs);
        foreach (var (option, value) in defaults)
            if (!extra.Contains(option)) args.AddRange([option, value]);
        return Tool.Run([.. args, .. extra]);
    }
}
