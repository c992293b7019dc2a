using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>All test classes of this assembly that need servers share one set.</summary>
[CollectionDefinition(Name)]
public sealed class InfrastructureCollection : ICollectionFixture<Infrastructure>
{
    public const string Name = "infrastructure";
}
