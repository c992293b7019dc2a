using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Webhooks.Domain;

namespace Notify.Modules.Webhooks.Data;

internal sealed class WebhooksDbContext(DbContextOptions<WebhooksDbContext> options) : DbContext(options)
{
    public const string Schema = "webhooks";

    public DbSet<WebhookEndpoint> Endpoints => Set<WebhookEndpoint>();
    public DbSet<WebhookEvent> Events => Set<WebhookEvent>();
    public DbSet<WebhookDelivery> Deliveries => Set<WebhookDelivery>();
    public DbSet<WebhookAttempt> Attempts => Set<WebhookAttempt>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.AddOutboxAndInbox();

        modelBuilder.Entity<WebhookEndpoint>(e =>
        {
            e.ToTable("endpoints");
            e.Property(x => x.Url).HasMaxLength(2000);
            e.Property(x => x.Description).HasMaxLength(500);
            e.Property(x => x.Secret).HasMaxLength(100);
            e.Property(x => x.PreviousSecret).HasMaxLength(100);
            e.Property(x => x.DisabledReason).HasMaxLength(500);
            e.Property(x => x.Headers).HasColumnType("jsonb").HasConversion(
                v => JsonSerializer.Serialize(v, JsonSerializerOptions.Web),
                s => JsonSerializer.Deserialize<Dictionary<string, string>>(s, JsonSerializerOptions.Web) ?? new Dictionary<string, string>(),
                new ValueComparer<Dictionary<string, string>>(
                    (a, b) => a!.Count == b!.Count && !a.Except(b).Any(),
                    v => v.Count,
                    v => new Dictionary<string, string>(v)));
            e.HasIndex(x => new { x.TenantId, x.Id });
        });

        modelBuilder.Entity<WebhookEvent>(e =>
        {
            e.ToTable("events");
            e.Property(x => x.Type).HasMaxLength(100);
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
        });

        modelBuilder.Entity<WebhookDelivery>(e =>
        {
            e.ToTable("deliveries");
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(20);
            e.HasOne<WebhookEndpoint>().WithMany().HasForeignKey(x => x.EndpointId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<WebhookEvent>().WithMany().HasForeignKey(x => x.EventId);
            // What Workers poll: the due deliveries of one endpoint, oldest first.
            e.HasIndex(x => new { x.EndpointId, x.NextAttemptAt }).HasFilter("status = 'Pending'").HasDatabaseName("ix_deliveries_due");
            e.HasIndex(x => new { x.EndpointId, x.EventId });
        });

        modelBuilder.Entity<WebhookAttempt>(e =>
        {
            e.ToTable("attempts");
            e.Property(x => x.EventType).HasMaxLength(100);
            e.HasOne<WebhookEndpoint>().WithMany().HasForeignKey(x => x.EndpointId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.EndpointId, x.Id });
            e.HasIndex(x => x.DeliveryId);
        });
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
internal sealed class WebhooksDbContextDesignFactory() : ModuleDesignTimeFactory<WebhooksDbContext>(WebhooksDbContext.Schema, o => new WebhooksDbContext(o));
