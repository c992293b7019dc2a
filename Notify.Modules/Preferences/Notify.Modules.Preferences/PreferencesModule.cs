using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Preferences.Caching;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features.Unsubscribes;
using Notify.Modules.Preferences.Pages;

namespace Notify.Modules.Preferences;

/// <summary>Recipients, their layered preferences, quiet hours, digests, frequency caps, unsubscribes and suppressions, and the recipient pages.</summary>
public sealed class PreferencesModule : IModule
{
    public string Name => PreferencesDbContext.Schema;

    public void Register(IHostApplicationBuilder builder, HostRole role)
    {
        builder.AddModuleDbContext<PreferencesDbContext>(PreferencesDbContext.Schema);
        if (role == HostRole.Migrations)
        {
            return;
        }

        builder.Services.AddSingleton<SignedTokens>();
        builder.Services.AddSingleton<RecipientTokens>();
        builder.Services.AddSingleton<PreferenceCache>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PreferenceCache>());
        builder.Services.AddSingleton<FrequencyCapCounter>();
        builder.Services.AddSingleton<IRecipientPreferences, RecipientPreferences>();
        builder.Services.AddScoped<RecipientStore>();
        builder.Services.AddScoped<UnsubscribeFlow>();

        if (role == HostRole.Api)
        {
            builder.Services.AddSingleton<PageRenderer>();
            builder.Services.AddHostedService<PageWarmUp>();
        }
        else
        {
            builder.Services.AddOutboxRelay<PreferencesDbContext>();
        }
    }

    public async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<PreferencesDbContext>().Database.MigrateAsync(cancellationToken);
    }
}

/// <summary>Compiles the recipient pages while the API starts, so the first visitor does not wait for Roslyn.</summary>
internal sealed class PageWarmUp(PageRenderer pages, ILogger<PageWarmUp> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await pages.WarmUpAsync().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Compiling the recipient pages failed"); // the first request retries and reports it
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
