using System.Reflection;

namespace ZipIt.Tests.Infrastructure;

/// <summary>The integration tier runs serially: a class tagged for it outside the serial collection would run beside the parallel fast tier.</summary>
public sealed class SerialCollectionTests
{
    [Fact]
    public void Every_integration_class_is_in_the_serial_collection()
    {
        static bool Integration(MemberInfo member) => member.GetCustomAttributesData().Any(a =>
            a.AttributeType == typeof(TraitAttribute) && a.ConstructorArguments is [{ Value: "Category" }, { Value: Tier.Integration }]);
        var integration = typeof(SerialCollectionTests).Assembly.GetTypes().Where(t => Integration(t) || t.GetMethods().Any(Integration)).ToList();
        Assert.NotEmpty(integration);
        var outside = integration
            .Where(t => !t.GetCustomAttributesData().Any(a => a.AttributeType == typeof(CollectionAttribute) && a.ConstructorArguments is [{ Value: SerialCollection.Name }]))
            .Select(t => t.Name).ToList();
        Assert.Empty(outside);
    }
}
