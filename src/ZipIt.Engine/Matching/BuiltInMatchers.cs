using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>
/// The matchers compiled into the tool (zipit, permute, average), registered through the same
/// <see cref="IPluginRegistry"/> as any plugin's, so names clash and list the same way.
/// </summary>
internal sealed class BuiltInMatchers : IZipItPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddMatcher(new ZipItMatcher());
        registry.AddMatcher(new PermuteMatcher());
        registry.AddMatcher(new AverageMatcher());
    }
}
