namespace ZipIt.Tests.Infrastructure;

/// <summary>
/// The two test tiers. Unmarked tests are the fast tier (unit, format, algorithm, API approval):
/// <c>./test.sh --fast</c>. Classes marked <c>[Trait("Category", Tier.Integration)]</c> run the CLI
/// end to end, train, pack or build: <c>./test.sh --integration</c>. <c>./test.sh</c> runs both.
/// </summary>
public static class Tier
{
    public const string Integration = "Integration";
}
