using Microsoft.Extensions.Hosting;

namespace Notify.Modules.Abstractions.Modules;

/// <summary>Which host a module is being loaded into; each host runs only its side of a module.</summary>
public enum HostRole
{
    /// <summary>The HTTP API: endpoints, authentication.</summary>
    Api,

    /// <summary>The Worker: message consumers, outbox relays, scheduled jobs.</summary>
    Worker,

    /// <summary>The one-shot migration step that runs before the other hosts serve.</summary>
    Migrations,
}

/// <summary>A module's single entry point, used by every host.</summary>
public interface IModule
{
    /// <summary>Short lower-case name, also the module's database schema.</summary>
    string Name { get; }

    /// <summary>Registers the module's services for the given host.</summary>
    void Register(IHostApplicationBuilder builder, HostRole role);

    /// <summary>Applies the module's migrations and seeds what it needs; called only by the migration step.</summary>
    Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken);
}
