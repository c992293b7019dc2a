using Notify.Testing;

namespace Notify.Abstractions.Tests;

/// <summary>All test classes of this assembly share one set of real servers.</summary>
[CollectionDefinition(Name)]
public sealed class InfrastructureCollection : ICollectionFixture<Infrastructure>
{
    public const string Name = "infrastructure";
}
