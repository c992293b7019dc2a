namespace Notify.Architecture.Tests;

/// <summary>
/// The dependency rules between Notify's projects (DESIGN §1): a module may use the shared kernel and
/// other modules' Contracts, never another module's implementation; the kernel and Contracts use no implementation.
/// </summary>
public static class ModuleBoundaries
{
    private const string ModulesPrefix = "Notify.Modules.";
    private const string Abstractions = "Notify.Modules.Abstractions";
    private const string ContractsSuffix = ".Contracts";

    /// <summary>The module a project belongs to (<c>Notify.Modules.Access.Contracts</c> → <c>Access</c>), or null for the kernel and hosts.</summary>
    public static string? ModuleOf(string project)
    {
        if (!project.StartsWith(ModulesPrefix, StringComparison.Ordinal) || project == Abstractions)
        {
            return null;
        }

        var rest = project[ModulesPrefix.Length..];
        return rest.EndsWith(ContractsSuffix, StringComparison.Ordinal) ? rest[..^ContractsSuffix.Length] : rest;
    }

    private static bool IsImplementation(string project) =>
        ModuleOf(project) is not null && !project.EndsWith(ContractsSuffix, StringComparison.Ordinal);

    /// <summary>Why <paramref name="project"/> may not depend on <paramref name="dependency"/>, or null if it may.</summary>
    public static string? Violation(string project, string dependency)
    {
        if (!dependency.StartsWith(ModulesPrefix, StringComparison.Ordinal) || dependency == Abstractions)
        {
            return null;
        }

        if (project == Abstractions)
        {
            return $"{project} (the shared kernel) must not depend on module {dependency}";
        }

        var module = ModuleOf(project);
        if (module is null)
        {
            return null; // hosts and tests compose modules
        }

        if (project.EndsWith(ContractsSuffix, StringComparison.Ordinal) && IsImplementation(dependency))
        {
            return $"{project} must not depend on the implementation {dependency}";
        }

        if (ModuleOf(dependency) != module && IsImplementation(dependency))
        {
            return $"{project} must not depend on another module's implementation {dependency}; use {dependency}{ContractsSuffix}";
        }

        return null;
    }
}
