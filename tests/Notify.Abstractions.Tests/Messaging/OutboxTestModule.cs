using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;

namespace Notify.Abstractions.Tests.Messaging;

public sealed record OutboxTestEvent(Guid Marker) : IIntegrationEvent
{
    public static string EventType => "test.outbox.v1";
}

public sealed class HandledEvent
{
    public Guid Id { get; init; }
    public Guid Marker { get; init; }

    /// <summary>The trace the handler ran in.</summary>
    public string? TraceId { get; init; }
}

internal sealed class OutboxTestDbContext(DbContextOptions<OutboxTestDbContext> options) : DbContext(options)
{
    public const string Schema = "outbox_test";

    public DbSet<HandledEvent> Handled => Set<HandledEvent>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.AddOutboxAndInbox();
        modelBuilder.Entity<HandledEvent>().ToTable("handled_events");
    }
}

/// <summary>Records every event it handles; a second row for one marker would mean a duplicate got through.</summary>
internal sealed class RecordingHandler(OutboxTestDbContext db) : IIntegrationEventHandler<OutboxTestEvent>
{
    /// <summary>Markers whose first handling throws, as a transient failure would.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, bool> FailOnce = new();

    public Task HandleAsync(OutboxTestEvent integrationEvent, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (FailOnce.TryRemove(integrationEvent.Marker, out _))
        {
            throw new InvalidOperationException($"Handling {integrationEvent.Marker} failed once, on purpose.");
        }

        db.Handled.Add(new HandledEvent
        {
            Id = Guid.CreateVersion7(),
            Marker = integrationEvent.Marker,
            TraceId = System.Diagnostics.Activity.Current?.TraceId.ToHexString(),
        });
        return Task.CompletedTask;
    }
}

/// <summary>A module as real modules are built: its DbContext, an outbox relay, and a consumer with an inbox.</summary>
internal sealed class OutboxTestModule(string queue, bool runRelay) : IModule
{
    public string Name => OutboxTestDbContext.Schema;

    public void Register(IHostApplicationBuilder builder, HostRole role)
    {
        builder.AddModuleDbContext<OutboxTestDbContext>(OutboxTestDbContext.Schema);
        if (runRelay)
        {
            builder.Services.AddOutboxRelay<OutboxTestDbContext>();
        }
        else
        {
            // Resolvable for driving by hand, but not running as a hosted service.
            builder.Services.AddSingleton<OutboxRelay<OutboxTestDbContext>>();
        }

        builder.Services.AddIntegrationEventHandler<OutboxTestDbContext, OutboxTestEvent, RecordingHandler>(queue);
    }

    public async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OutboxTestDbContext>();
        await db.Database.EnsureCreatedAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync(OutboxExtensions.NotifyTriggerSql(OutboxTestDbContext.Schema), cancellationToken);
    }
}
