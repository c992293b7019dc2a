using System.Reflection;
using System.Xml.Linq;
using Notify.Testing;

namespace Notify.Architecture.Tests;

public sealed class ModuleBoundaryTests
{
    [Theory]
    [InlineData("Notify.Modules.Delivery", "Notify.Modules.Templates")]
    [InlineData("Notify.Modules.Delivery.Contracts", "Notify.Modules.Delivery")]
    [InlineData("Notify.Modules.Abstractions", "Notify.Modules.Access.Contracts")]
    [InlineData("Notify.Modules.Abstractions", "Notify.Modules.Access")]
    public void Rule_rejects_forbidden_dependencies(string project, string dependency) =>
        Assert.NotNull(ModuleBoundaries.Violation(project, dependency));

    [Theory]
    [InlineData("Notify.Modules.Delivery", "Notify.Modules.Templates.Contracts")]
    [InlineData("Notify.Modules.Delivery", "Notify.Modules.Delivery.Contracts")]
    [InlineData("Notify.Modules.Delivery", "Notify.Modules.Abstractions")]
    [InlineData("Notify.Api", "Notify.Modules.Access")]
    public void Rule_allows_contracts_kernel_and_hosts(string project, string dependency) =>
        Assert.Null(ModuleBoundaries.Violation(project, dependency));

    [Fact]
    public void Project_references_respect_module_boundaries()
    {
        var projects = Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "Notify.Modules"), "*.csproj", SearchOption.AllDirectories).ToList();
        Assert.Contains(projects, p => Path.GetFileNameWithoutExtension(p) == "Notify.Modules.Access");

        var violations =
            from project in projects
            from reference in XDocument.Load(project).Descendants("ProjectReference")
            let dependency = Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value.Replace('\\', '/'))
            let violation = ModuleBoundaries.Violation(Path.GetFileNameWithoutExtension(project), dependency)
            where violation is not null
            select violation;

        Assert.Empty(violations);
    }

    [Fact]
    public void Compiled_module_assemblies_respect_module_boundaries()
    {
        // Catches what a project file hides, e.g. a reference that arrives transitively and gets used.
        var assemblies = Directory.EnumerateFiles(AppContext.BaseDirectory, "Notify.Modules.*.dll")
            .Select(path => Assembly.LoadFrom(path))
            .ToList();
        Assert.Contains(assemblies, a => a.GetName().Name == "Notify.Modules.Access");

        var violations =
            from assembly in assemblies
            from reference in assembly.GetReferencedAssemblies()
            let violation = ModuleBoundaries.Violation(assembly.GetName().Name!, reference.Name!)
            where violation is not null
            select violation;

        Assert.Empty(violations);
    }

    [Theory]
    [InlineData("Access")]
    [InlineData("Templates")]
    [InlineData("Preferences")]
    [InlineData("Webhooks")]
    [InlineData("Delivery")]
    public void Module_implementations_expose_only_their_entry_points_and_endpoint_dtos(string module)
    {
        var root = $"Notify.Modules.{module}";
        var publicTypes = Assembly.Load(root).GetExportedTypes().Select(t => t.Namespace!).Distinct().ToList();
        // Entry points live in the module's root namespace; request/response records in its feature folders.
        Assert.All(publicTypes, ns => Assert.True(
            ns == root || ns.StartsWith(root + ".Features", StringComparison.Ordinal),
            $"public type in {ns}: keep domain, data and infrastructure types internal"));
    }
}
