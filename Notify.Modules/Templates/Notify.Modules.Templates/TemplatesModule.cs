using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Provisioning;
using Notify.Modules.Templates.Rendering;

namespace Notify.Modules.Templates;

/// <summary>Versioned, localized, multi-channel templates in Liquid, wrapped in trusted Razor layouts.</summary>
public sealed class TemplatesModule : IModule
{
    public string Name => TemplatesDbContext.Schema;

    public void Register(IHostApplicationBuilder builder, HostRole role)
    {
        builder.AddModuleDbContext<TemplatesDbContext>(TemplatesDbContext.Schema);
        if (role == HostRole.Migrations)
        {
            return;
        }

        builder.Services.AddSingleton<LiquidRenderer>();
        builder.Services.AddSingleton<EmailLayoutRenderer>();
        builder.Services.AddHostedService<LayoutWarmUp>();
        builder.Services.AddSingleton<TemplateRendering>();
        builder.Services.AddSingleton<PublishedTemplateCache>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PublishedTemplateCache>());
        builder.Services.AddSingleton<UsageRecorder>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UsageRecorder>());
        builder.Services.AddSingleton<ITemplates, TemplateService>();

        if (role == HostRole.Worker)
        {
            builder.Services.AddIntegrationEventHandler<TemplatesDbContext, TenantCreatedIntegrationEvent, SystemTemplates>(SystemTemplates.Queue);
        }
    }

    public async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<TemplatesDbContext>().Database.MigrateAsync(cancellationToken);
    }
}
