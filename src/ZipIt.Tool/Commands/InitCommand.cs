using System.CommandLine;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Models;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary><c>init VARIANT -o FILE [--arch-set name=value] [--seed N]</c>: a freshly initialised model of any registered variant.</summary>
internal static class InitCommand
{
    public static Command Create(CommandRunner runner)
    {
        var variant = new Argument<string>("variant") { Description = "A registered variant (see 'plugins list'), e.g. resnet20 or resnet50." };
        var seed = new Option<long>("--seed") { Description = "Seed of the initialisation.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--output", "-o") { Description = "Checkpoint to write (.safetensors).", Required = true, HelpName = "FILE" };
        var command = new Command("init", "Write a freshly initialised model of a registered architecture variant.") { variant, seed, output };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var name = ctx.Value(variant)!;
            var (architecture, config) = ctx.Plugins.Configure(name, CommonOptions.ArchSettings(ctx.Value(GlobalOptions.ArchSettings) ?? []));
            TorchRuntime.Initialize();
            // Counted on the meta device first: an absurd width is one line (exit 5), not a failed 92 TB allocation.
            if (MemoryEstimate.StateBytes(architecture, config) is { } bytes) MemoryEstimate.RequireAvailable(bytes, config.ToString());
            torch.manual_seed(ctx.Value(seed));
            using var model = architecture.Create(config);
            var metadata = ArchitectureMetadata.For(config);
            metadata["format"] = "pt";
            CheckpointWriter.WriteFile(ctx.Value(output)!, model.state_dict(), metadata);
            ctx.Logger.LogInformation("{Config} → {Output}", config, ctx.Value(output));
            return 0;
        })));
        return command.WithExamples(
            "dotnet zipit init resnet20 --arch-set width=4 -o resnet20x4.safetensors",
            "dotnet zipit init vit_pico_patch4_32 --seed 1 -o vit.safetensors");
    }
}
