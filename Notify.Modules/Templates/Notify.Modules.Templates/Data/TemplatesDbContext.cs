using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Templates.Domain;

namespace Notify.Modules.Templates.Data;

internal sealed class TemplatesDbContext(DbContextOptions<TemplatesDbContext> options) : DbContext(options)
{
    public const string Schema = "templates";

    public DbSet<Template> Templates => Set<Template>();
    public DbSet<TemplateVersion> Versions => Set<TemplateVersion>();
    public DbSet<Brand> Brands => Set<Brand>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.AddOutboxAndInbox();

        modelBuilder.Entity<Template>(e =>
        {
            e.ToTable("templates");
            e.Property(x => x.Key).HasMaxLength(100);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.Category).HasMaxLength(100);
            e.Property(x => x.DefaultLocale).HasMaxLength(35);
            e.Property(x => x.Draft).HasColumnType("jsonb").HasConversion(ContentConverter.Instance, ContentConverter.Comparer);
            e.HasIndex(x => new { x.TenantId, x.Key }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.Id });
        });

        modelBuilder.Entity<TemplateVersion>(e =>
        {
            e.ToTable("template_versions");
            e.Property(x => x.Content).HasColumnType("jsonb").HasConversion(ContentConverter.Instance, ContentConverter.Comparer);
            e.Property(x => x.ContentHash).HasMaxLength(64);
            e.HasIndex(x => new { x.TemplateId, x.Version }).IsUnique();
            e.HasOne<Template>().WithMany().HasForeignKey(x => x.TemplateId);
        });

        modelBuilder.Entity<Brand>(e =>
        {
            e.ToTable("brands");
            e.HasKey(x => x.TenantId);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.LogoUrl).HasMaxLength(2000);
            e.Property(x => x.PrimaryColor).HasMaxLength(7);
            e.Property(x => x.PostalAddress).HasMaxLength(500);
        });
    }

    /// <summary>Content is stored as one JSON document: it is always read and written whole.</summary>
    private static class ContentConverter
    {
        public static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<TemplateContent, string> Instance = new(
            v => JsonSerializer.Serialize(v, JsonSerializerOptions.Web),
            s => JsonSerializer.Deserialize<TemplateContent>(s, JsonSerializerOptions.Web) ?? TemplateContent.Empty);

        public static readonly ValueComparer<TemplateContent> Comparer = new(
            (a, b) => a!.Hash() == b!.Hash(),
            v => v.Hash().GetHashCode(StringComparison.Ordinal),
            v => v);
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
internal sealed class TemplatesDbContextDesignFactory() : ModuleDesignTimeFactory<TemplatesDbContext>(TemplatesDbContext.Schema, o => new TemplatesDbContext(o));
