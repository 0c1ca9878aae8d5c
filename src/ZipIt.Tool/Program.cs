using ZipIt.Cli;
using ZipIt.Output;

ParentDeath.Install();
// Exits that skip the command's own cleanup (Environment.Exit, a signal's default action) still leave no temps.
AppDomain.CurrentDomain.ProcessExit += (_, _) => TempFiles.DeleteAll();
return ZipItApp.Run(args, Console.Out, Console.Error);
