using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Providers;

namespace Notify.Modules.Delivery.Data;

/// <summary>
/// The delivery schema. notifications, deliveries and notification_events are range-partitioned by month on
/// created_at: the migration writes their DDL by hand (EF cannot express partitioning), and their keys include
/// created_at as PostgreSQL requires. The mappings below are for reads and writes.
/// </summary>
internal sealed class DeliveryDbContext : DbContext
{
    public const string Schema = "delivery";

    public DeliveryDbContext(DbContextOptions<DeliveryDbContext> options)
        : base(options)
    {
        // SaveChanges inside our own transactions (accept, plan, send outcomes) would otherwise add a SAVEPOINT and a RELEASE
        // round trip each time; nothing here continues a transaction after a failed SaveChanges, so they buy nothing.
        Database.AutoSavepointsEnabled = false;
    }

    public DbSet<Notification> Notifications => Set<Notification>();
    public DbSet<ChannelDelivery> Deliveries => Set<ChannelDelivery>();
    public DbSet<NotificationEvent> Events => Set<NotificationEvent>();
    public DbSet<IdempotencyRecord> IdempotencyKeys => Set<IdempotencyRecord>();
    public DbSet<InboxItem> InboxItems => Set<InboxItem>();
    public DbSet<DeadLetter> DeadLetters => Set<DeadLetter>();
    public DbSet<Provider> Providers => Set<Provider>();
    public DbSet<SinkMessage> SinkMessages => Set<SinkMessage>();
    public DbSet<ProviderAttempt> ProviderAttempts => Set<ProviderAttempt>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    private readonly Dictionary<Guid, NotificationFacts> _knownNotifications = [];
    private readonly HashSet<Guid> _announcedEvents = [];

    /// <summary>Lets a status event of this notification skip the lookup of its facts (user, template, metadata).</summary>
    public void Remember(Notification notification) => _knownNotifications.TryAdd(notification.Id, NotificationFacts.Of(notification));

    /// <summary>New rows at or above this count in one save go by binary COPY (a planner's group); fewer go row by row.</summary>
    private const int CopyThreshold = 20;

    /// <summary>Every status change on the timeline reaches the outbox with it, whoever wrote it (<see cref="StatusEvents"/>).</summary>
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        // One scan of the tracked entities for changes, not one for every look at them below and one more in the save: with
        // a planner's group tracked (hundreds of rows) each scan costs more than writing the rows.
        ChangeTracker.DetectChanges();
        var autoDetect = ChangeTracker.AutoDetectChangesEnabled;
        ChangeTracker.AutoDetectChangesEnabled = false;
        try
        {
            await StatusEvents.AddOutboxMessagesAsync(this, _knownNotifications, _announcedEvents, cancellationToken);
            return await CopyAddedRowsAsync(cancellationToken) + await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }
        finally
        {
            ChangeTracker.AutoDetectChangesEnabled = autoDetect;
        }
    }

    /// <summary>
    /// Writes many new deliveries, timeline rows and outbox rows by binary COPY — a fraction of the cost of the change
    /// tracker's inserts — in the save's transaction, and stops tracking them: they are stored as they are, and keeping
    /// them would cost a snapshot each and a comparison of every column in every later scan. Only inside a transaction,
    /// so a failing save still leaves nothing behind.
    /// </summary>
    private async Task<int> CopyAddedRowsAsync(CancellationToken ct)
    {
        if (Database.CurrentTransaction is null)
        {
            return 0;
        }

        var added = ChangeTracker.Entries()
            .Where(e => e.State == EntityState.Added && e.Entity is ChannelDelivery or NotificationEvent or OutboxMessage).ToList();
        if (added.Count < CopyThreshold)
        {
            return 0;
        }

        var connection = (Npgsql.NpgsqlConnection)Database.GetDbConnection();
        await BulkCopy.Deliveries.CopyAsync(connection, [.. added.Select(e => e.Entity).OfType<ChannelDelivery>()], ct);
        await BulkCopy.Events.CopyAsync(connection, [.. added.Select(e => e.Entity).OfType<NotificationEvent>()], ct);
        await BulkCopy.Outbox.CopyAsync(connection, [.. added.Select(e => e.Entity).OfType<OutboxMessage>()], ct);
        added.ForEach(e => e.State = EntityState.Detached);
        return added.Count;
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess) =>
        throw new NotSupportedException("Save asynchronously: status events are added to the outbox on the way.");

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.AddOutboxAndInbox();

        modelBuilder.Entity<Notification>(e =>
        {
            e.ToTable("notifications");
            e.HasKey(x => new { x.Id, x.CreatedAt });
            e.Property(x => x.TemplateKey).HasMaxLength(100);
            e.Property(x => x.Category).HasMaxLength(100);
            e.Property(x => x.Priority).HasMaxLength(10);
            e.Property(x => x.UserId).HasMaxLength(200);
            e.Property(x => x.InlineRecipient).HasColumnType("jsonb");
            e.Property(x => x.Data).HasColumnType("jsonb");
            e.Property(x => x.Metadata).HasColumnType("jsonb");
            e.Property(x => x.Status).HasMaxLength(20);
            e.Property(x => x.IdempotencyKey).HasMaxLength(200);
            e.HasIndex(x => new { x.TenantId, x.UserId, x.CreatedAt });
            // The scheduled-release job's due scan; partial, so only waiting scheduled sends are in it and accepts stay cheap.
            e.HasIndex(x => x.ReleaseAt).HasFilter("release_at IS NOT NULL").HasDatabaseName("ix_notifications_release_due");
        });

        modelBuilder.Entity<ChannelDelivery>(e =>
        {
            e.ToTable("deliveries");
            e.HasKey(x => new { x.Id, x.CreatedAt });
            e.Property(x => x.Channel).HasMaxLength(20);
            e.Property(x => x.Status).HasMaxLength(20);
            e.Property(x => x.Address).HasMaxLength(2000);
            e.Property(x => x.ProviderMessageId).HasMaxLength(500);
            e.Property(x => x.Content).HasColumnType("jsonb");
            e.Property(x => x.LastError).HasMaxLength(2000);
            e.Property(x => x.TraceParent).HasMaxLength(100);
            e.Property(x => x.Cost).HasPrecision(12, 6);
            e.Property(x => x.Device).HasColumnType("jsonb");
            e.HasIndex(x => x.NotificationId);
            // Receipts name the provider's message id: this finds the delivery (in every month's partition).
            e.HasIndex(x => x.ProviderMessageId).HasFilter("provider_message_id IS NOT NULL");
        });

        modelBuilder.Entity<InboxItem>(e =>
        {
            e.ToTable("inbox_items");
            e.HasKey(x => new { x.Id, x.CreatedAt });
            e.Property(x => x.UserId).HasMaxLength(200);
            e.Property(x => x.Category).HasMaxLength(100);
            e.Property(x => x.Title).HasMaxLength(1000);
            e.Property(x => x.ActionUrl).HasMaxLength(2000);
            e.Property(x => x.Data).HasColumnType("jsonb");
            // A user's inbox, newest first (the cursor is created_at, id).
            e.HasIndex(x => new { x.TenantId, x.UserId, x.CreatedAt, x.Id }).IsDescending(false, false, true, true);
        });

        modelBuilder.Entity<DeadLetter>(e =>
        {
            e.ToTable("dead_letters");
            e.HasKey(x => x.Id);
            e.Property(x => x.Channel).HasMaxLength(20);
            e.Property(x => x.Address).HasMaxLength(2000);
            e.Property(x => x.Error).HasMaxLength(2000);
            e.Property(x => x.History).HasColumnType("jsonb");
            e.Property(x => x.Status).HasMaxLength(20);
            e.Property(x => x.Resolution).HasMaxLength(2000);
            e.HasIndex(x => new { x.TenantId, x.Status, x.CreatedAt });
            // A delivery is parked at most once at a time.
            e.HasIndex(x => x.DeliveryId).IsUnique().HasFilter("status = 'open'");
        });

        modelBuilder.Entity<Provider>(e =>
        {
            e.ToTable("providers");
            e.HasKey(x => x.Id);
            e.Property(x => x.Channel).HasMaxLength(20);
            e.Property(x => x.Kind).HasMaxLength(40);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.CostPerMessage).HasPrecision(12, 6);
            e.Property(x => x.Settings).HasColumnType("jsonb");
            e.HasIndex(x => new { x.TenantId, x.Channel, x.Priority });
        });

        modelBuilder.Entity<SinkMessage>(e =>
        {
            e.ToTable("sink_messages");
            e.HasKey(x => x.Id);
            e.Property(x => x.Channel).HasMaxLength(20);
            e.Property(x => x.Address).HasMaxLength(2000);
            e.Property(x => x.Content).HasColumnType("jsonb");
            e.HasIndex(x => new { x.TenantId, x.ProviderId, x.Id });
        });

        modelBuilder.Entity<ProviderAttempt>(e =>
        {
            e.ToTable("provider_attempts");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.ProviderId, x.CreatedAt });
        });

        modelBuilder.Entity<DataProtectionKey>(e =>
        {
            e.ToTable("data_protection_keys");
            e.HasKey(x => x.Id);
        });

        modelBuilder.Entity<NotificationEvent>(e =>
        {
            e.ToTable("notification_events");
            e.HasKey(x => new { x.Id, x.CreatedAt });
            e.Property(x => x.Channel).HasMaxLength(20);
            e.Property(x => x.Type).HasMaxLength(40);
            e.Property(x => x.Detail).HasMaxLength(2000);
            e.HasIndex(x => x.NotificationId);
        });

        modelBuilder.Entity<IdempotencyRecord>(e =>
        {
            e.ToTable("idempotency_keys");
            // The unique key decides between concurrent repeats of one request: one insert wins, the rest read its answer.
            e.HasKey(x => new { x.TenantId, x.Key });
            e.Property(x => x.Key).HasMaxLength(200);
            e.Property(x => x.RequestHash).HasMaxLength(64);
            e.Property(x => x.Response).HasColumnType("jsonb");
        });
    }
}

internal sealed class DeliveryDbContextDesignFactory() : ModuleDesignTimeFactory<DeliveryDbContext>(DeliveryDbContext.Schema, o => new DeliveryDbContext(o));
