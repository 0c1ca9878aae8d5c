using System.Globalization;
using ZipIt.Fuzz;

// dotnet run -c Release --project tools/ZipIt.Fuzz -- --inputs 1000000 --seed 1 [--timeout-ms 2000] [--failures DIR]
long inputs = 100_000;
var seed = 1;
var timeout = 2000;
var failures = Path.Combine(Environment.CurrentDirectory, "fuzz-failures");
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--inputs": inputs = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--timeout-ms": timeout = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--failures": failures = Path.GetFullPath(Next()); break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}; usage: --inputs N --seed S [--timeout-ms MS] [--failures DIR]");
            return 2;
    }
}

var engine = new FuzzEngine(seed, TimeSpan.FromMilliseconds(timeout), failures);
var report = engine.Run(inputs, done => Console.Error.Write($"\r{done:N0} inputs"), maxKinds: 100);
Console.Error.WriteLine();
Console.WriteLine($"inputs {report.Inputs:N0} (safetensors and recipes alternating), parsed {report.Parsed:N0}, rejected with a zipit error {report.Rejected:N0}, " +
                  $"failures {report.Failed:N0} of {report.Failures.Count} kinds, time {report.Elapsed.TotalSeconds:0.0} s ({report.Inputs / Math.Max(report.Elapsed.TotalSeconds, 1e-9):0} inputs/s), seed {seed}");
foreach (var f in report.Failures) Console.WriteLine("failure: " + f);
return report.Failures.Count == 0 ? 0 : 1;
