using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;

namespace Notify.Modules.Templates.Provisioning;

/// <summary>
/// Templates the product itself sends, seeded (published, version 1) into every new tenant, together
/// with a brand named after the tenant. Tenants edit them like any other template.
/// </summary>
internal sealed class SystemTemplates(TemplatesDbContext db, TimeProvider clock, ILogger<SystemTemplates> logger)
    : IIntegrationEventHandler<TenantCreatedIntegrationEvent>
{
    public const string Queue = "templates.tenant-setup";
    public const string DigestKey = "system-digest";
    public const string ExportReadyKey = "system-export-ready";

    public async Task HandleAsync(TenantCreatedIntegrationEvent integrationEvent, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        var tenantId = integrationEvent.TenantId;
        var now = clock.GetUtcNow();
        if (!await db.Brands.AnyAsync(b => b.TenantId == tenantId, cancellationToken))
        {
            db.Brands.Add(new Brand { TenantId = tenantId, Name = integrationEvent.Name, UpdatedAt = now });
        }

        var existing = await db.Templates.Where(t => t.TenantId == tenantId).Select(t => t.Key).ToListAsync(cancellationToken);
        foreach (var (key, name, channels, content) in Definitions().Where(d => !existing.Contains(d.Key)))
        {
            var template = new Template
            {
                Id = Ids.New(clock),
                TenantId = tenantId,
                Key = key,
                Name = name,
                Category = Categories.System,
                Channels = channels,
                DefaultLocale = "en",
                IsSystem = true,
                Draft = content,
                DraftUpdatedAt = now,
                PublishedVersion = 1,
                PublishedAt = now,
                CreatedAt = now,
                UpdatedAt = now,
            };
            db.Templates.Add(template);
            db.Versions.Add(new TemplateVersion
            {
                Id = Ids.New(clock), TemplateId = template.Id, TenantId = tenantId, Version = 1, Content = content, ContentHash = content.Hash(), CreatedAt = now,
            });
        }

        logger.LogInformation("Seeded system templates and brand for tenant {TenantId}", tenantId);
    }

    private static IEnumerable<(string Key, string Name, string[] Channels, TemplateContent Content)> Definitions()
    {
        yield return (DigestKey, "Digest", [Channels.Email], new TemplateContent(
            [new TemplateVariable("period", true), new TemplateVariable("items", true)],
            [new LocaleVariant("en", new ChannelContents(Email: new EmailContent(
                "Your {{ period }} digest: {{ items | size }} update{% if items.size != 1 %}s{% endif %}",
                """
                <h1>Your {{ period }} digest</h1>
                <ul>
                {% for item in items %}  <li><strong>{{ item.title }}</strong>{% if item.body %}: {{ item.body }}{% endif %}</li>
                {% endfor %}</ul>
                """,
                Preheader: "{{ items | size }} updates you may have missed")))]));

        yield return (ExportReadyKey, "Your export is ready", [Channels.Email, Channels.InApp], new TemplateContent(
            [new TemplateVariable("exportName", true), new TemplateVariable("downloadUrl", true), new TemplateVariable("expiresAt")],
            [new LocaleVariant("en", new ChannelContents(
                Email: new EmailContent(
                    "Your export {{ exportName }} is ready",
                    """
                    <p>Your export <strong>{{ exportName }}</strong> is ready.</p>
                    <p><a href="{{ downloadUrl }}">Download it</a>{% if expiresAt %} before it expires {{ expiresAt | relative_time }}{% endif %}.</p>
                    """),
                InApp: new InAppContent("Export ready", "{{ exportName }} is ready to download.", "{{ downloadUrl }}")))]));
    }
}
