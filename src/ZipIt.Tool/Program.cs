using ZipIt.Cli;
using ZipIt.Hosting;
using ZipIt.Engine.Output;

ParentDeath.Install();
// This process runs one command: once it has ended, a signal must not turn its exit into a cancellation.
SignalCancellation.HoldAfterCommand = true;
// Exits that skip the command's own cleanup (Environment.Exit, a signal's default action) still leave no temps.
AppDomain.CurrentDomain.ProcessExit += (_, _) => TempFiles.DeleteAll();
return ZipItApp.Run(args, Console.Out, Console.Error);
