using System.Reflection;
using System.Text;
using Snapshooter.Xunit;

namespace ZipIt.Tests.Api;

/// <summary>
/// The public surface of ZipIt.Abstractions is what third-party plugins compile against: any change
/// shows up here and must be approved (System.CommandLine's ApiCompatibility approach).
/// </summary>
public sealed class AbstractionsApiTests
{
    [Fact]
    public void Public_api_has_not_changed()
    {
        Snapshot.Match(Describe(typeof(IZipItPlugin).Assembly));
    }

    /// <summary>The matching building blocks are a package of their own (ZipIt.Matching), pinned the same way.</summary>
    [Fact]
    public void Matching_api_has_not_changed()
    {
        Snapshot.Match(Describe(typeof(ZipIt.Matching.ZipItGreedy).Assembly));
    }

    internal static string Describe(Assembly assembly)
    {
        var sb = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            sb.Append(Kind(type)).Append(' ').Append(Name(type));
            var bases = new List<string>();
            if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum)) bases.Add(Name(b));
            bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic).Select(Name).Order(StringComparer.Ordinal));
            if (bases.Count > 0) sb.Append(" : ").Append(string.Join(", ", bases));
            sb.Append('\n');
            if (type.IsEnum)
            {
                foreach (var name in Enum.GetNames(type)) sb.Append("  ").Append(name).Append(" = ").Append(Convert.ToInt64(Enum.Parse(type, name))).Append('\n');
                continue;
            }
            const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var members = type.GetMembers(flags)
                .Where(m => m is not MethodInfo { IsSpecialName: true } && m is not Type)
                .Select(Member)
                .Where(s => s is not null)
                .Order(StringComparer.Ordinal);
            foreach (var m in members) sb.Append("  ").Append(m).Append('\n');
        }
        return sb.ToString();
    }

    private static string Kind(Type t) =>
        t.IsInterface ? "interface" : t.IsEnum ? "enum" : t.IsValueType ? "struct" :
        t.IsAbstract && t.IsSealed ? "static class" : t.IsAbstract ? "abstract class" : t.IsSealed ? "sealed class" : "class";

    private static string? Member(MemberInfo m) => m switch
    {
        ConstructorInfo c => $"ctor({Parameters(c.GetParameters())})",
        PropertyInfo p => $"{Name(p.PropertyType)} {p.Name} {{ {(p.GetMethod?.IsPublic == true ? "get; " : "")}{(p.SetMethod?.IsPublic == true ? (p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Any(x => x.Name == "IsExternalInit") ? "init; " : "set; ") : "")}}}",
        MethodInfo mi when mi.Name is "<Clone>$" => null,
        MethodInfo mi => $"{(mi.IsStatic ? "static " : "")}{(mi.IsAbstract && !mi.DeclaringType!.IsInterface ? "abstract " : "")}{Name(mi.ReturnType)} {mi.Name}({Parameters(mi.GetParameters())})",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        _ => m.ToString(),
    };

    private static string Parameters(ParameterInfo[] ps) =>
        string.Join(", ", ps.Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type t)
    {
        if (t.IsGenericType)
        {
            var name = (t.Namespace is null ? "" : t.Namespace + ".") + t.Name[..t.Name.IndexOf('`')];
            return $"{name}<{string.Join(", ", t.GetGenericArguments().Select(Name))}>";
        }
        if (t.IsByRef) return "ref " + Name(t.GetElementType()!);
        if (t.IsArray) return Name(t.GetElementType()!) + "[]";
        return (t.FullName ?? t.Name).Replace('+', '.');
    }
}
