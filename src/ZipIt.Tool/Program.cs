using ZipIt.Cli;

return ZipItApp.Run(args, Console.Out, Console.Error);
