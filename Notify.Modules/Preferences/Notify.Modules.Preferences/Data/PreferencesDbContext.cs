using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features;

namespace Notify.Modules.Preferences.Data;

internal sealed class PreferencesDbContext(DbContextOptions<PreferencesDbContext> options) : DbContext(options)
{
    public const string Schema = "preferences";
    private const string RevisionSequence = "revision_seq";

    public DbSet<Recipient> Recipients => Set<Recipient>();
    public DbSet<Device> Devices => Set<Device>();
    public DbSet<Unsubscribe> Unsubscribes => Set<Unsubscribe>();
    public DbSet<Suppression> Suppressions => Set<Suppression>();
    public DbSet<TenantDefaultsRow> TenantDefaults => Set<TenantDefaultsRow>();

    /// <summary>The next revision; take it after locking the row it is for, so a row's revisions only grow.</summary>
    public async Task<long> NextRevisionAsync(CancellationToken cancellationToken) =>
        await Database.SqlQueryRaw<long>($"SELECT nextval('{Schema}.{RevisionSequence}') AS \"Value\"").SingleAsync(cancellationToken);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.AddOutboxAndInbox();
        modelBuilder.HasSequence<long>(RevisionSequence);

        modelBuilder.Entity<Recipient>(e =>
        {
            e.ToTable("recipients");
            e.Property(x => x.UserId).HasMaxLength(200);
            e.Property(x => x.Email).HasMaxLength(320);
            e.Property(x => x.Phone).HasMaxLength(16);
            e.Property(x => x.Locale).HasMaxLength(35);
            e.Property(x => x.TimeZone).HasMaxLength(64);
            e.Property(x => x.WebhookUrl).HasMaxLength(2000);
            e.Property(x => x.Properties).HasColumnType("jsonb");
            e.Property(x => x.Preferences).HasColumnType("jsonb").HasConversion(Json<UserPreferences>.Converter, Json<UserPreferences>.Comparer);
            e.Property(x => x.Revision).IsConcurrencyToken();
            e.HasIndex(x => new { x.TenantId, x.UserId }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.Email });
            e.HasIndex(x => new { x.TenantId, x.Phone });
            e.HasMany(x => x.Devices).WithOne().HasForeignKey(x => x.RecipientId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.Unsubscribes).WithOne().HasForeignKey(x => x.RecipientId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<Device>(e =>
        {
            e.ToTable("devices");
            e.Property(x => x.Kind).HasMaxLength(20);
            e.Property(x => x.Token).HasMaxLength(2000);
            e.Property(x => x.P256dh).HasMaxLength(200);
            e.Property(x => x.Auth).HasMaxLength(100);
            e.HasIndex(x => new { x.RecipientId, x.Token }).IsUnique();
        });

        modelBuilder.Entity<Unsubscribe>(e =>
        {
            e.ToTable("unsubscribes");
            e.Property(x => x.Category).HasMaxLength(100);
            e.Property(x => x.Reason).HasMaxLength(20);
            e.Property(x => x.Feedback).HasMaxLength(2000);
            e.HasIndex(x => new { x.RecipientId, x.Category }).IsUnique();
        });

        modelBuilder.Entity<Suppression>(e =>
        {
            e.ToTable("suppressions");
            e.Property(x => x.Address).HasMaxLength(320);
            e.Property(x => x.Reason).HasMaxLength(20);
            e.HasIndex(x => new { x.TenantId, x.Address }).IsUnique();
        });

        modelBuilder.Entity<TenantDefaultsRow>(e =>
        {
            e.ToTable("tenant_defaults");
            e.HasKey(x => x.TenantId);
            e.Property(x => x.Document).HasColumnType("jsonb").HasConversion(Json<TenantDefaults>.Converter, Json<TenantDefaults>.Comparer);
            e.Property(x => x.Revision).IsConcurrencyToken();
        });
    }

    /// <summary>Preference documents are stored as JSON: they are always read and written whole.</summary>
    private static class Json<T> where T : class
    {
        public static readonly ValueConverter<T, string> Converter = new(
            v => JsonSerializer.Serialize(v, JsonSerializerOptions.Web),
            s => JsonSerializer.Deserialize<T>(s, JsonSerializerOptions.Web)!);

        public static readonly ValueComparer<T> Comparer = new(
            (a, b) => JsonSerializer.Serialize(a, JsonSerializerOptions.Web) == JsonSerializer.Serialize(b, JsonSerializerOptions.Web),
            v => JsonSerializer.Serialize(v, JsonSerializerOptions.Web).GetHashCode(StringComparison.Ordinal),
            v => JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(v, JsonSerializerOptions.Web), JsonSerializerOptions.Web)!);
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
internal sealed class PreferencesDbContextDesignFactory() : ModuleDesignTimeFactory<PreferencesDbContext>(PreferencesDbContext.Schema, o => new PreferencesDbContext(o));
