using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Templates;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;
using Notify.Testing;

namespace Notify.Templates.Tests.Publishing;

/// <summary>
/// What senders get through <see cref="ITemplates"/>: always the published version, served from a cache
/// that publishing invalidates in every process (two hosts here, sharing PostgreSQL and Redis).
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class PublishedTemplateTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private readonly Guid _tenant = Guid.CreateVersion7();
    private IHost _sender = null!;
    private IHost _editor = null!;

    public async Task InitializeAsync()
    {
        var database = await infrastructure.CreateDatabaseAsync("templates");
        _sender = await StartHostAsync(database);
        _editor = await StartHostAsync(database);
    }

    public async Task DisposeAsync()
    {
        foreach (var host in new[] { _sender, _editor })
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task Sending_uses_the_published_version_until_another_is_published_or_rolled_back()
    {
        var templateId = await CreateAsync("Hello {{ name }}");
        var sender = _sender.Services.GetRequiredService<ITemplates>();

        Assert.Equal("Hello Ann", await SmsAsync(sender));

        // A new draft changes nothing for senders.
        await EditAsync(async (db, cache) =>
        {
            var template = await db.Templates.SingleAsync(t => t.Id == templateId);
            template.Draft = Content("Goodbye {{ name }}");
            await db.SaveChangesAsync();
        });
        Assert.Equal("Hello Ann", await SmsAsync(sender));

        // Publishing it (in the other process) reaches the sender through the cache invalidation.
        await EditAsync(async (db, cache) =>
        {
            var template = await db.Templates.SingleAsync(t => t.Id == templateId);
            db.Versions.Add(Version(template, 2, template.Draft));
            template.PublishedVersion = 2;
            await db.SaveChangesAsync();
            await cache.InvalidateAsync(_tenant, template.Key);
        });
        await WaitUntilAsync(async () => await SmsAsync(sender) == "Goodbye Ann");
        Assert.Equal(2, (await sender.FindPublishedAsync(_tenant, "greeting", CancellationToken.None))!.Version);

        // Rolling back re-publishes version 1.
        await EditAsync(async (db, cache) =>
        {
            var template = await db.Templates.SingleAsync(t => t.Id == templateId);
            template.PublishedVersion = 1;
            await db.SaveChangesAsync();
            await cache.InvalidateAsync(_tenant, template.Key);
        });
        await WaitUntilAsync(async () => await SmsAsync(sender) == "Hello Ann");
    }

    [Fact]
    public async Task Render_without_required_variables_names_them()
    {
        await CreateAsync("Hello {{ name }}");
        var sender = _sender.Services.GetRequiredService<ITemplates>();
        var error = await Assert.ThrowsAsync<TemplateRenderException>(() => sender.RenderAsync(
            new RenderRequest(_tenant, "greeting", Channels.Sms, "en", JsonDocument.Parse("{}").RootElement), CancellationToken.None));
        Assert.Equal(["name"], error.MissingVariables);
    }

    [Fact]
    public async Task Archived_and_other_tenants_templates_cannot_be_rendered()
    {
        var templateId = await CreateAsync("Hello {{ name }}");
        var sender = _sender.Services.GetRequiredService<ITemplates>();
        Assert.Null(await sender.FindPublishedAsync(Guid.CreateVersion7(), "greeting", CancellationToken.None));

        await EditAsync(async (db, cache) =>
        {
            var template = await db.Templates.SingleAsync(t => t.Id == templateId);
            template.ArchivedAt = DateTimeOffset.UtcNow;
            await db.SaveChangesAsync();
            await cache.InvalidateAsync(_tenant, template.Key);
        });
        await WaitUntilAsync(async () => await sender.FindPublishedAsync(_tenant, "greeting", CancellationToken.None) is null);
        await Assert.ThrowsAsync<TemplateRenderException>(() => SmsAsync(sender));
    }

    [Fact]
    public async Task Renders_are_counted_as_template_usage()
    {
        var templateId = await CreateAsync("Hello {{ name }}");
        var sender = _sender.Services.GetRequiredService<ITemplates>();
        for (var i = 0; i < 3; i++)
        {
            await SmsAsync(sender);
        }

        long StoredCount()
        {
            using var scope = _sender.Services.CreateScope();
            return scope.ServiceProvider.GetRequiredService<TemplatesDbContext>().Templates.Single(t => t.Id == templateId).UsageCount;
        }

        await _sender.Services.GetRequiredService<UsageRecorder>().FlushAsync(CancellationToken.None);
        Assert.Equal(3, StoredCount());
    }

    private async Task<string?> SmsAsync(ITemplates templates) =>
        (await templates.RenderAsync(new RenderRequest(_tenant, "greeting", Channels.Sms, "en", JsonDocument.Parse("""{"name":"Ann"}""").RootElement), CancellationToken.None)).Text;

    private async Task<Guid> CreateAsync(string sms)
    {
        var id = Guid.CreateVersion7();
        await EditAsync(async (db, _) =>
        {
            var template = new Template
            {
                Id = id, TenantId = _tenant, Key = "greeting", Name = "Greeting", Category = "transactional", Channels = [Channels.Sms],
                DefaultLocale = "en", Draft = Content(sms), PublishedVersion = 1, CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
            };
            db.Templates.Add(template);
            db.Versions.Add(Version(template, 1, template.Draft));
            await db.SaveChangesAsync();
        });
        return id;
    }

    private static TemplateContent Content(string sms) =>
        new([new TemplateVariable("name", Required: true)], [new LocaleVariant("en", new ChannelContents(Sms: new SmsContent(sms)))]);

    private static TemplateVersion Version(Template template, int number, TemplateContent content) => new()
    {
        Id = Guid.CreateVersion7(), TemplateId = template.Id, TenantId = template.TenantId, Version = number, Content = content,
        ContentHash = content.Hash(), CreatedAt = DateTimeOffset.UtcNow,
    };

    private async Task EditAsync(Func<TemplatesDbContext, PublishedTemplateCache, Task> edit)
    {
        await using var scope = _editor.Services.CreateAsyncScope();
        await edit(scope.ServiceProvider.GetRequiredService<TemplatesDbContext>(), _editor.Services.GetRequiredService<PublishedTemplateCache>());
    }

    private Task<IHost> StartHostAsync(string database) =>
        infrastructure.StartModuleHostAsync(database, HostRole.Api, new TemplatesModule());

    private static Task WaitUntilAsync(Func<Task<bool>> condition) => Eventually.WaitUntilAsync(condition, TimeSpan.FromSeconds(15));
}
