using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Notify.Architecture.Tests;

public sealed class MigrationTests
{
    public static TheoryData<string> ModuleContexts() =>
        new(DesignFactories().Select(f => f.Name));

    [Theory]
    [MemberData(nameof(ModuleContexts))]
    public void Every_model_change_has_a_migration(string factoryName)
    {
        var factory = DesignFactories().Single(f => f.Name == factoryName);
        var create = factory.GetInterfaces()
            .Single(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDesignTimeDbContextFactory<>))
            .GetMethod(nameof(IDesignTimeDbContextFactory<DbContext>.CreateDbContext))!;
        using var db = (DbContext)create.Invoke(Activator.CreateInstance(factory, nonPublic: true), [Array.Empty<string>()])!;

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), $"{db.GetType().Name} changed without a migration: run dotnet ef migrations add");
    }

    private static IEnumerable<Type> DesignFactories() =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "Notify.Modules.*.dll")
            .Select(Assembly.LoadFrom)
            .SelectMany(a => a.GetTypes())
            .Where(t => !t.IsAbstract && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDesignTimeDbContextFactory<>)));
}
